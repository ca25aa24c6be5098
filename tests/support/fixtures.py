"""The daemon fixtures the integration and reliability suites share: a real coved with
busybox test images, and the two CLIs pointed at it. Each suite's conftest imports them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.clis import CLI, COVE, DOCKER
from tests.support.coved import Coved
from tests.support.images import busybox_archive


def running_coved(*archives: bytes, netns: str | None = None) -> Iterator[Coved]:
    """A started coved with these images loaded (run in the network namespace ``netns``,
    a lab's host, if given); stopped and cleaned up afterwards, even if it failed to start."""
    daemon = Coved(netns=netns)
    try:
        daemon.start()
        for archive in archives:
            daemon.load(archive)
        yield daemon
    finally:
        daemon.stop()
        daemon.cleanup()


def _docker_on(daemon: Coved) -> CLI:
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    return CLI([DOCKER], daemon.env)


@pytest.fixture(scope="session")
def coved() -> Iterator[Coved]:
    yield from running_coved(
        busybox_archive(),
        busybox_archive(tag="stopper:latest", cmd=["sh", "-c", "trap 'exit 42' USR1; "
                                                   "while true; do sleep 0.1; done"],
                        stop_signal="SIGUSR1"))


@pytest.fixture
def docker(coved: Coved) -> CLI:
    return _docker_on(coved)


@pytest.fixture
def cove(coved: Coved) -> CLI:
    return CLI([COVE], coved.env)


@pytest.fixture
def private_coved() -> Iterator[Coved]:
    """A coved of the test's own, for what looks at or prunes the whole daemon."""
    yield from running_coved(busybox_archive())


@pytest.fixture
def private_clis(private_coved: Coved) -> tuple[CLI, CLI]:
    """(docker, cove) pointed at ``private_coved``."""
    return _docker_on(private_coved), CLI([COVE], private_coved.env)
