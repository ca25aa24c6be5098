"""The real dockerd on /tmp/dockerd.sock, used as an oracle by tests and benchmarks.

A dockerd that already answers there is used as it is. One started here is kept for the
rest of the run (it takes seconds to come up) and stopped by `stop_dockerd`, which the
test session and the benchmarks call at their end, so nothing is left running.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import time

SOCKET = "/tmp/dockerd.sock"
DATA_ROOT = "/tmp/dockerd-data"
DOCKER_HOST = f"unix://{SOCKET}"

_started: subprocess.Popen[bytes] | None = None
_seeded = False


def docker_env() -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": DOCKER_HOST}


def _answers() -> bool:
    if not os.path.exists(SOCKET) or shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                           env=docker_env(), capture_output=True, timeout=20)
    return probe.returncode == 0


def _seed_busybox() -> None:
    """Load the busybox test image the tests compare against: a fresh dockerd has none and
    cannot pull one offline."""
    global _seeded
    if _seeded:
        return
    if docker("image", "inspect", "busybox:latest").returncode != 0:
        from tests.support.images import busybox_archive

        loaded = docker("load", input=busybox_archive())
        if loaded.returncode != 0:
            raise RuntimeError(f"loading busybox into dockerd failed: {loaded.stderr!r}")
    _seeded = True


def ensure_dockerd(timeout: float = 30.0) -> dict[str, str] | None:
    """The environment for `docker` against the reference daemon (with the busybox test image
    loaded), or None if it can't run."""
    global _started
    if _answers():
        _seed_busybox()
        return docker_env()
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        return None
    if _started is None or _started.poll() is not None:
        with open("/tmp/dockerd.log", "ab") as log:
            _started = subprocess.Popen(
                ["dockerd", "--data-root", DATA_ROOT, "-H", DOCKER_HOST,
                 "--pidfile", "/tmp/dockerd.pid"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        atexit.register(stop_dockerd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _started.poll() is None:
        if _answers():
            _seed_busybox()
            return docker_env()
        time.sleep(0.5)
    return None


def stop_dockerd(timeout: float = 30.0) -> None:
    """Stop the dockerd this process started, if any; one found running is left alone."""
    global _started
    proc, _started = _started, None
    if proc is None:
        return
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # dockerd makes its data root a private bind mount of itself and leaves it behind
    if os.path.ismount(DATA_ROOT):
        subprocess.run(["umount", "-l", DATA_ROOT], capture_output=True, timeout=30)


def docker(*args: str, input: bytes | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run the docker CLI against the reference daemon, capturing output."""
    return subprocess.run(["docker", *args], env=docker_env(), input=input,
                          capture_output=True, timeout=timeout)
