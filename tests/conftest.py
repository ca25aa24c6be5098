"""Session-wide fixtures shared by unit and integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dockerd import ensure_dockerd, stop_dockerd


@pytest.fixture(scope="session")
def reference_dockerd() -> Iterator[dict[str, str]]:
    """The real dockerd as an oracle; stopped at the end of the session if started for it."""
    env = ensure_dockerd()
    if env is None:
        stop_dockerd()
        pytest.skip("dockerd cannot start here")
    try:
        yield env
    finally:
        stop_dockerd()
