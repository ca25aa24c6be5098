"""Fixtures: a real coved with busybox test images, and the two CLIs pointed at it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.coved import Coved
from tests.support.images import busybox_archive

if os.geteuid() != 0:
    pytest.skip("integration tests need root (namespaces, cgroups)", allow_module_level=True)

DOCKER = shutil.which("docker")
# the cove installed beside this interpreter (the venv's), not whatever PATH has
COVE = shutil.which("cove", path=os.path.dirname(sys.executable)) or shutil.which("cove") or "cove"


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


class CLI:
    """Runs a command line against the test daemon and returns (exit code, stdout, stderr)."""

    def __init__(self, argv0: list[str], env: dict[str, str]) -> None:
        self.argv0 = argv0
        self.env = env

    def __call__(self, *args: str, input: str | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.argv0, *args], input=input, env=self.env,
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def docker(coved: Coved) -> CLI:
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    return CLI([DOCKER], coved.env)


@pytest.fixture
def cove(coved: Coved) -> CLI:
    return CLI([COVE], coved.env)
