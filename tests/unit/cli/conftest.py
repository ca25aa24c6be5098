"""Fixtures shared by the CLI's unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.socket_daemon import Serve, SocketDaemon


@pytest.fixture
def socket_daemon() -> Iterator[Callable[[Serve], SocketDaemon]]:
    """Makes ``SocketDaemon``s, each closed when the test ends."""
    made: list[SocketDaemon] = []

    def make(serve: Serve) -> SocketDaemon:
        made.append(SocketDaemon(serve))
        return made[-1]

    yield make
    for server in made:
        server.close()
