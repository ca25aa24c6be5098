"""The real dockerd, used as an oracle by tests and benchmarks.

Each process that asks for it gets a dockerd of its own, in a directory of its own (socket,
data root, exec root, log), so two test runs never share one or step on each other's
state. It is started on first use, kept for the rest of the run (it takes seconds to come
up) and stopped by `stop_dockerd`, which the test session and the benchmarks call at their
end: nothing is left running, mounted or on disk.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time

_root: str | None = None
_started: subprocess.Popen[bytes] | None = None
_seeded = False


def _paths() -> dict[str, str]:
    """This process's dockerd paths, in a directory made on first use."""
    global _root
    if _root is None:
        _root = tempfile.mkdtemp(prefix="cove-dockerd-")
    return {"root": _root, "socket": os.path.join(_root, "d.sock"),
            "data": os.path.join(_root, "data"), "exec": os.path.join(_root, "exec"),
            "pid": os.path.join(_root, "d.pid"), "log": os.path.join(_root, "dockerd.log")}


def docker_env() -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": "unix://" + _paths()["socket"]}


def _answers() -> bool:
    if not os.path.exists(_paths()["socket"]) or shutil.which("docker") is None:
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


def ensure_dockerd(timeout: float = 60.0) -> dict[str, str] | None:
    """The environment for `docker` against this process's reference daemon (with the
    busybox test image loaded), or None if it can't run."""
    global _started
    if _started is not None and _started.poll() is None and _answers():
        _seed_busybox()
        return docker_env()
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        return None
    paths = _paths()
    if _started is None or _started.poll() is not None:
        with open(paths["log"], "ab") as log:
            _started = subprocess.Popen(
                ["dockerd", "--data-root", paths["data"], "--exec-root", paths["exec"],
                 "-H", "unix://" + paths["socket"], "--pidfile", paths["pid"]],
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
    """Stop the dockerd this process started, and remove its directory."""
    global _started, _root, _seeded
    proc, _started = _started, None
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if _root is None:
        return
    paths, _root, _seeded = _paths(), None, False
    # dockerd makes its data root a private bind mount of itself and leaves it behind, and
    # its default network namespace's file (exec/netns/default) mounted: deepest first
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    for where in sorted((m for m in mounts if m.startswith(paths["root"] + "/")), key=len,
                        reverse=True):
        subprocess.run(["umount", "-l", where], capture_output=True, timeout=30)
    shutil.rmtree(paths["root"], ignore_errors=True)


def docker(*args: str, input: bytes | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run the docker CLI against the reference daemon, capturing output."""
    return subprocess.run(["docker", *args], env=docker_env(), input=input,
                          capture_output=True, timeout=timeout)
