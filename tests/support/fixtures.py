"""The daemon fixtures the integration and reliability suites share: a real coved with
busybox test images, and the two CLIs pointed at it. Each suite's conftest imports them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.clis import CLI, COVE, DOCKER
from tests.support.coved import Coved
from tests.support.images import busybox_archive


@pytest.fixture(scope="session")
def coved() -> Iterator[Coved]:
    daemon = Coved().start()
    daemon.load(busybox_archive())
    daemon.load(busybox_archive(tag="stopper:latest", cmd=["sh", "-c", "trap 'exit 42' USR1; "
                                                       "while true; do sleep 0.1; done"],
                                stop_signal="SIGUSR1"))
    try:
        yield daemon
    finally:
        daemon.stop()
        daemon.cleanup()


@pytest.fixture
def docker(coved: Coved) -> CLI:
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    return CLI([DOCKER], coved.env)


@pytest.fixture
def cove(coved: Coved) -> CLI:
    return CLI([COVE], coved.env)


@pytest.fixture
def private_coved() -> Iterator[Coved]:
    """A coved of the test's own, for what looks at or prunes the whole daemon."""
    daemon = Coved().start()
    daemon.load(busybox_archive())
    try:
        yield daemon
    finally:
        daemon.stop()
        daemon.cleanup()


@pytest.fixture
def private_clis(private_coved: Coved) -> tuple[CLI, CLI]:
    """(docker, cove) pointed at ``private_coved``."""
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    return CLI([DOCKER], private_coved.env), CLI([COVE], private_coved.env)
