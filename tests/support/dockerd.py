"""The real dockerd on /tmp/dockerd.sock, used as an oracle; started if it isn't answering.

It is shared by every test run on the machine and is never stopped here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

SOCKET = "/tmp/dockerd.sock"
DOCKER_HOST = f"unix://{SOCKET}"


def docker_env() -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": DOCKER_HOST}


def _answers() -> bool:
    if not os.path.exists(SOCKET) or shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                           env=docker_env(), capture_output=True, timeout=20)
    return probe.returncode == 0


def ensure_dockerd(timeout: float = 30.0) -> dict[str, str] | None:
    """The environment for `docker` against the reference daemon, or None if it can't run."""
    if _answers():
        return docker_env()
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        return None
    with open("/tmp/dockerd.log", "ab") as log:
        subprocess.Popen(
            ["dockerd", "--data-root", "/tmp/dockerd-data", "-H", DOCKER_HOST,
             "--pidfile", "/tmp/dockerd.pid"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers():
            return docker_env()
        time.sleep(0.5)
    return None


def docker(*args: str, input: bytes | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run the docker CLI against the reference daemon, capturing output."""
    return subprocess.run(["docker", *args], env=docker_env(), input=input,
                          capture_output=True, timeout=timeout)
