"""Attach and logs: the two ways a client reads a container's output.

Attach relays between the client's hijacked connection and the shim's attach
socket. An attach made before start (``docker run`` attaches first) waits in the
container's ``pending_attaches`` until ``start`` connects it, before the process
is released, so no output is missed. Logs read the json-file the shim writes.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cove.common.detach_keys import DEFAULT_DETACH_KEYS, EscapeScanner, parse_detach_keys
from cove.runtime import errors
from cove.runtime.containers import shim_client
from cove.runtime.containers.record import Container, Status, parse_rfc3339

if TYPE_CHECKING:
    from cove.runtime.engine.containers import ContainerService

_SHIM_HEADER = struct.Struct(">BI")


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    buf = b""
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class AttachSession:
    def __init__(self, service: ContainerService, container: Container, reader: Any,
                 send: Callable[[int, bytes], None], client_gone: Callable[[], bool],
                 stdin: bool, stdout: bool, stderr: bool, escape: bytes) -> None:
        self.service = service
        self.escape = escape  # the detach keys, watched for on a TTY's stdin
        self.container = container
        self.reader = reader
        self.send = send
        self.client_gone = client_gone
        self.want = {"stdin": stdin, "stdout": stdout, "stderr": stderr}
        self.shim: socket.socket | None = None
        self.connected = threading.Event()
        self.failed = False

    def connect_to_shim(self) -> None:
        try:
            self.shim = shim_client.connect(self.service.layout, self.container.id,
                                            {"op": "attach", **self.want})
        except OSError:
            self.failed = True
        self.connected.set()

    def close(self) -> None:
        self.failed = True
        self.connected.set()

    def run(self) -> None:
        """Relay until the container's output ends; the caller owns the client socket."""
        container = self.container
        with container.lock:
            if container.running:
                pending = False
            elif container.status == Status.CREATED or container.status == Status.RESTARTING \
                    or container.status == Status.EXITED:
                container.pending_attaches.append(self)
                pending = True
            else:
                raise errors.Conflict("You cannot attach to a stopped container, start it first")
        if not pending:
            self.connect_to_shim()
        while not self.connected.wait(0.5):
            if container.removed or self.client_gone():
                with container.lock:
                    if self in container.pending_attaches:
                        container.pending_attaches.remove(self)
                return
        if self.failed or self.shim is None:
            return
        shim = self.shim
        if self.want["stdin"]:
            threading.Thread(target=self._pump_stdin, args=(shim,), daemon=True).start()
        # the client is watched for a hang-up only: without stdin to send, the docker CLI
        # shuts its side for writing at once, and reads on
        poller = select.poll()
        poller.register(shim, select.POLLIN)
        client_fd = connection_fd(self.reader)
        if client_fd is not None:
            poller.register(client_fd, 0)  # POLLHUP and POLLERR are always reported
        try:
            while True:
                if any(fd == client_fd for fd, _events in poller.poll()):
                    break  # the client left: nothing more to relay, the container runs on
                header = _recv_exact(shim, _SHIM_HEADER.size)
                if header is None:
                    break
                stream, length = _SHIM_HEADER.unpack(header)
                data = _recv_exact(shim, length)
                if data is None:
                    break
                self.send(stream, data)
        except OSError:
            pass
        finally:
            shim.close()

    def _pump_stdin(self, shim: socket.socket) -> None:
        """Client -> container. On a TTY the detach keys end the session (both ways, so the
        output relay stops too) and leave the container running, as dockerd does."""
        scanner = EscapeScanner(self.escape) if self.container.tty else None
        how = socket.SHUT_WR
        try:
            while True:
                data = self.reader.read1(65536)
                if not data:
                    if scanner is not None:
                        shim.sendall(scanner.flush())
                    break
                if scanner is not None:
                    data, detached = scanner.feed(data)
                    if detached:
                        shim.sendall(data)
                        how = socket.SHUT_RDWR
                        self.service.publish(self.container, "detach")
                        break
                shim.sendall(data)
        except (OSError, ValueError):
            pass
        try:
            shim.shutdown(how)
        except OSError:
            pass



def connection_fd(reader: Any) -> int | None:
    """The client's connection under its hijacked reader, watched for a hang-up."""
    try:
        return int(reader.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def escape_sequence(keys: str | None, what: str) -> bytes:
    """The detach keys a session watches for: ``keys``, else ctrl-p,ctrl-q; dockerd's error
    for keys it cannot read (``what`` is "detach" for attach, "escape" for exec)."""
    try:
        return parse_detach_keys(keys or DEFAULT_DETACH_KEYS)
    except ValueError as exc:
        raise errors.InvalidParameter(f"Invalid {what} keys ({keys}) provided") from exc


def attach(service: ContainerService, ref: str) -> Container:
    container = service.get(ref)
    if container.status in (Status.REMOVING, Status.DEAD):
        raise errors.Conflict("You cannot attach to a stopped container, start it first")
    return container


def _parse_time(value: str | None) -> float | None:
    if value in (None, "", "0"):
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise errors.InvalidParameter(f"invalid time value: {value}") from exc


def _rotated_logs(path: Path) -> list[Path]:
    """``<log>.N`` ... ``<log>.1``: the files json-file rotation left, oldest first."""
    found = []
    number = 1
    while (candidate := path.with_name(f"{path.name}.{number}")).exists():
        found.append(candidate)
        number += 1
    return list(reversed(found))


def _lines_of(path: Path) -> Iterator[bytes]:
    try:
        with open(path, "rb") as f:
            yield from f
    except FileNotFoundError:  # rotated away while being read
        return


def _next_log(path: Path, f: Any) -> Any:
    """The file written after the one ``f`` has read to its end: the next newer rotated
    file, or the oldest one left if ours was dropped (all left are newer), else the
    live log. None if there is none yet."""
    ours = os.fstat(f.fileno()).st_ino
    chain = [*_rotated_logs(path), path]
    inodes: list[int | None] = []
    for candidate in chain:
        try:
            inodes.append(os.stat(candidate).st_ino)
        except FileNotFoundError:
            inodes.append(None)
    position = inodes.index(ours) + 1 if ours in inodes else 0
    for candidate in chain[position:]:
        try:
            return open(candidate, "rb")
        except FileNotFoundError:
            continue
    return None


def _replaced(path: Path, f: Any) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
    except FileNotFoundError:
        return False


def _fixed_width(stamp: str) -> str:
    """A log line's time as ``logs -t`` shows it: always nine fractional digits (dockerd's
    RFC3339NanoFixed), where the log file keeps Go's trimmed RFC 3339."""
    body = stamp[:-1] if stamp.endswith("Z") else stamp
    whole, _, fraction = body.partition(".")
    return f"{whole}.{fraction[:9]:0<9}Z"


def logs(service: ContainerService, ref: str, *, follow: bool, stdout: bool, stderr: bool,
         since: str | None, until: str | None, timestamps: bool, tail: str | None,
         client_gone: Callable[[], bool]) -> tuple[bool, Iterator[tuple[int, bytes]]]:
    """(tty, chunks): chunks are (stream, bytes), stream 1 for stdout and 2 for stderr."""
    container = service.get(ref)
    if not (stdout or stderr):
        raise errors.InvalidParameter("Bad parameters: you must choose at least one stream")
    since_t, until_t = _parse_time(since), _parse_time(until)
    count: int | None = None
    if tail not in (None, "", "all"):
        try:
            count = int(tail)
        except ValueError as exc:
            raise errors.InvalidParameter(f"invalid tail value: {tail}") from exc
        if count < 0:
            count = None
    if ((container.host_config.get("LogConfig") or {}).get("Type")) == "none":
        raise errors.InvalidParameter("configured logging driver does not support reading")
    path = service.layout.container_log(container.id)
    rotated = _rotated_logs(path)
    tty = container.tty
    wanted = {"stdout": stdout, "stderr": stderr}

    def render(line: bytes) -> tuple[int, bytes] | None:
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        stream = entry.get("stream", "stdout")
        if not wanted.get(stream):
            return None
        stamp = entry.get("time", "")
        if since_t is not None or until_t is not None:
            t = parse_rfc3339(stamp)
            if since_t is not None and t < since_t:
                return None
            if until_t is not None and t > until_t:
                return None
        text = entry.get("log", "").encode("utf-8", "surrogateescape")
        if timestamps:
            text = _fixed_width(stamp).encode() + b" " + text
        return (1 if stream == "stdout" else 2, text)

    def chunks() -> Iterator[tuple[int, bytes]]:
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            f = None
        try:
            history = itertools.chain(*(_lines_of(old) for old in rotated),
                                      f if f is not None else ())
            lines = (collections.deque(history, maxlen=count) if count else []) \
                if count is not None else history
            for line in lines:
                out = render(line)
                if out:
                    yield out
            if not follow:
                return
            pending = b""
            while True:
                if f is None:
                    try:
                        f = open(path, "rb")
                    except FileNotFoundError:
                        pass
                data = f.readline() if f is not None else b""
                if data:
                    pending += data
                    if pending.endswith(b"\n"):
                        out = render(pending)
                        pending = b""
                        if out:
                            yield out
                    continue
                if f is not None and _replaced(path, f):  # rotated: go on in the next file
                    following = _next_log(path, f)
                    f.close()
                    f = following
                    continue
                if until_t is not None and time.time() > until_t:
                    return
                with container.lock:
                    done = (not container.running and container.status != Status.RESTARTING) \
                        or container.removed
                if done:
                    rest = f.read() if f is not None else b""
                    for line in (pending + rest).splitlines(keepends=True):
                        out = render(line)
                        if out:
                            yield out
                    return
                if client_gone():
                    return
                time.sleep(0.05)
        finally:
            if f is not None:
                f.close()

    return tty, chunks()

