"""Wire formats of the Engine API's streams, kept in one place.

- stdcopy framing: without a TTY, attach/logs/exec multiplex stdout and stderr
  as frames of an 8-byte header (stream id, three zero bytes, big-endian
  length) followed by the payload — what docker's ``stdcopy`` reads.
- chunked transfer encoding for responses whose length is unknown (logs -f,
  events, load progress, wait).
"""

from __future__ import annotations

import fcntl
import json
import select
import socket
import struct
import termios
import time
from collections.abc import Callable
from typing import Any, Protocol

from cove.common.stdcopy import encode_frame


def frame(stream: int, data: bytes) -> bytes:
    """One stdcopy frame; the CLI demultiplexes these when the container has no TTY."""
    return encode_frame(stream, data)


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...
    def flush(self) -> object: ...


class ChunkedWriter:
    """Writes an HTTP/1.1 chunked body; each ``write`` is flushed at once so
    followers (``logs -f``, ``events``) see data as it happens."""

    def __init__(self, wfile: Writable) -> None:
        self._wfile = wfile
        self.closed = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self._wfile.flush()

    def write_json(self, obj: Any) -> None:
        """One JSON value and a newline (events, stats: Go's json.Encoder)."""
        self.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def write_message(self, obj: Any) -> None:
        """One JSON progress message (pull, push, load, import, build) ended with CRLF,
        as dockerd's streamformatter ends them."""
        self.write(json.dumps(obj, separators=(",", ":")).encode() + b"\r\n")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._wfile.write(b"0\r\n\r\n")
            self._wfile.flush()


def stream_sender(sock: socket.socket, tty: bool) -> Callable[[int, bytes], None]:
    """Sends (stream, data) to a hijacked client: raw with a TTY, framed without."""
    if tty:
        return lambda _stream, data: sock.sendall(data)
    return lambda stream, data: sock.sendall(frame(stream, data))


def wait_until_read(sock: socket.socket, timeout: float = 1.0) -> None:
    """Wait, briefly, until the client has read everything sent so far (SIOCOUTQ: the bytes
    of a Unix socket its peer has not read yet).

    Called after the upgrade answer: a client that parses it with a buffered reader and
    then reads the raw socket (docker-py's attach and exec) loses the stream bytes that
    came in the same read as the headers. dockerd leaves that to chance."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not peer_closed(sock):
        try:
            unread = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ,
                                                    b"\0" * 4))[0]
        except OSError:
            return
        if unread <= 0:
            return
        time.sleep(0.0005)


def peer_closed(sock: socket.socket) -> bool:
    """True once the client has gone: its end of the connection is closed. A client that
    only shut its side for writing (the docker CLI does so on a hijacked connection it has
    no stdin for, and reads on) is still there."""
    poller = select.poll()
    try:
        poller.register(sock, 0)  # POLLHUP and POLLERR are always reported
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed here already
        return True


def write_stream_error(out: ChunkedWriter, error: BaseException) -> None:
    """End an open JSON progress stream with the error, as dockerd does once its answer has begun:
    an ``errorDetail`` line (with the step's exit ``code`` when a build step failed)."""
    message = getattr(error, "message", None) or str(error) or error.__class__.__name__
    detail: dict[str, Any] = {"message": message}
    code = getattr(error, "code", None)
    if isinstance(code, int):
        detail["code"] = code
    out.write_message({"errorDetail": detail, "error": message})
