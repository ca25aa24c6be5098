"""The daemon's side of the shim protocol (see ``shim.py`` for the shim's side).

Starting is two-phase so attach clients connect before the process runs: the shim
prepares the container and says ``{"pid": N}``; the daemon connects any waiting
attach streams, then writes ``go``; the shim answers ``{"started": true}`` once
the exec succeeded, or the exec error with Docker's exit code (126/127).
Afterwards everything goes over ``shim.sock``, which a restarted daemon can use
too: the shim does not depend on the daemon that started it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.spec import ContainerSpec
from cove.runtime.store.layout import Layout, atomic_write_json

START_TIMEOUT = 30.0


class ShimProcess:
    def __init__(self, popen: subprocess.Popen[bytes], pid: int) -> None:
        self.popen = popen
        self.pid = pid

    def go(self) -> None:
        """Release the container's process; raises StartFailed if its exec failed."""
        assert self.popen.stdin and self.popen.stdout
        try:
            self.popen.stdin.write(b"go\n")
            self.popen.stdin.close()
        except BrokenPipeError:
            pass
        reply = _read_reply(self.popen)
        self.popen.stdout.close()
        if "error" in reply:
            raise errors.start_failed(reply["error"], int(reply.get("exit_code", 128)))

    def abort(self) -> None:
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def _read_reply(popen: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert popen.stdout
    line = popen.stdout.readline()
    if not line:
        popen.wait()
        raise errors.SystemError_(f"container shim exited unexpectedly (status {popen.returncode})")
    try:
        reply: dict[str, Any] = json.loads(line)
        return reply
    except ValueError as exc:
        raise errors.SystemError_(f"container shim said {line[:200]!r}") from exc


class WarmShims:
    """One shim kept started ahead of need: interpreter and imports are most of a
    shim's start-up, so ``start`` hands a prepared process its bundle instead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: subprocess.Popen[bytes] | None = None
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True
        self._refill()

    def _refill(self) -> None:
        from cove.runtime.containers.shim_launch import warm_shim_command

        try:
            popen = subprocess.Popen(warm_shim_command(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     close_fds=True, start_new_session=True, cwd="/")
        except OSError:
            return
        with self._lock:
            old, self._ready = self._ready, popen
        if old is not None:
            _dismiss(old)

    def take(self) -> subprocess.Popen[bytes] | None:
        if not self.enabled:
            return None
        with self._lock:
            popen, self._ready = self._ready, None
        threading.Thread(target=self._refill, daemon=True).start()
        if popen is None or popen.poll() is not None:
            return None
        return popen

    def close(self) -> None:
        self.enabled = False
        with self._lock:
            popen, self._ready = self._ready, None
        if popen is not None:
            _dismiss(popen)


def _dismiss(popen: subprocess.Popen[bytes]) -> None:
    """A warm shim that never got a bundle exits at EOF on its stdin."""
    for stream in (popen.stdin, popen.stdout):
        if stream:
            stream.close()
    try:
        popen.wait(5)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()


warm_shims = WarmShims()


def start(layout: Layout, cid: str, spec: ContainerSpec) -> ShimProcess:
    """Write the bundle, start the shim and wait until the container is prepared."""
    bundle = layout.bundle_dir(cid)
    bundle.mkdir(parents=True, exist_ok=True)
    atomic_write_json(layout.bundle_spec(cid), spec.to_json(), 0o600)
    popen = warm_shims.take()
    if popen is not None:
        assert popen.stdin
        try:
            popen.stdin.write(str(bundle).encode() + b"\n")
            popen.stdin.flush()
        except BrokenPipeError:
            _dismiss(popen)
            popen = None
    if popen is None:
        from cove.runtime.containers.shim_launch import shim_command

        log = open(bundle / "shim.log", "ab")
        try:
            popen = subprocess.Popen(shim_command(str(bundle)), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, close_fds=True,
                                     start_new_session=True, cwd="/")
        finally:
            log.close()
    reply = _read_reply(popen)
    if "error" in reply:
        shim = ShimProcess(popen, 0)
        shim.abort()
        raise errors.start_failed(reply["error"], int(reply.get("exit_code", 128)))
    return ShimProcess(popen, int(reply["pid"]))


def connect(layout: Layout, cid: str, request: dict[str, Any],
            timeout: float | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    # through an fd of the bundle dir: its full path can exceed AF_UNIX's 108 bytes
    dir_fd = os.open(layout.bundle_dir(cid), os.O_PATH | os.O_DIRECTORY)
    try:
        sock.connect(f"/proc/self/fd/{dir_fd}/{layout.shim_socket(cid).name}")
        sock.sendall(json.dumps(request).encode() + b"\n")
    except OSError:
        sock.close()
        raise
    finally:
        os.close(dir_fd)
    return sock


def _request(layout: Layout, cid: str, request: dict[str, Any],
             timeout: float | None) -> dict[str, Any]:
    with connect(layout, cid, request, timeout) as sock:
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("shim closed the connection")
            buf += chunk
    reply: dict[str, Any] = json.loads(buf)
    return reply


def wait(layout: Layout, cid: str) -> dict[str, Any]:
    """Block until the container exits: {"exit_code", "oom_killed", "finished_at"}."""
    return _request(layout, cid, {"op": "wait"}, None)


def state(layout: Layout, cid: str) -> dict[str, Any]:
    return _request(layout, cid, {"op": "state"}, 2.0)


def resize(layout: Layout, cid: str, height: int, width: int) -> None:
    _request(layout, cid, {"op": "resize", "height": height, "width": width}, 2.0)


def alive(layout: Layout, cid: str) -> bool:
    if not os.path.exists(layout.shim_socket(cid)):
        return False
    try:
        state(layout, cid)
        return True
    except (OSError, ValueError):
        return False
