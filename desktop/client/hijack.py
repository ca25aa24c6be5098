"""Upgraded ("hijacked") connections for attach and exec-start.

The request goes out with ``Connection: Upgrade`` / ``Upgrade: tcp``; the daemon
answers ``101 UPGRADED`` (old daemons: ``200 OK``) and from then on the socket is
a raw byte pipe. Bytes that arrived in the same read as the headers belong to the
stream, so ``HijackedSocket`` hands them out before reading the socket again.
"""

from __future__ import annotations

import _socket

from .errors import error_for_status, error_message
from .transport import USER_AGENT, Response, request_head


class HijackedSocket:
    """A raw, bidirectional stream to the container; ``recv`` drains buffered bytes first."""

    def __init__(self, sock: _socket.socket, buffered: bytes = b"") -> None:
        self.sock = sock
        self._buffered = buffered

    def recv(self, size: int = 65536) -> bytes:
        if self._buffered:
            data, self._buffered = self._buffered[:size], self._buffered[size:]
            return data
        return self.sock.recv(size)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Tell the daemon stdin ended, keep reading output."""
        try:
            self.sock.shutdown(_socket.SHUT_WR)
        except OSError:
            pass

    def shutdown(self) -> None:
        """End the stream both ways (a detach): a ``recv`` blocked in another thread returns."""
        try:
            self.sock.shutdown(_socket.SHUT_RDWR)
        except OSError:
            pass

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> HijackedSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_request(method: str, target: str, body: bytes | None) -> bytes:
    """The upgrade request, byte for byte."""
    headers = {"User-Agent": USER_AGENT, "Connection": "Upgrade", "Upgrade": "tcp"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body))
    else:
        headers["Content-Type"] = "text/plain"
    return request_head(method, target, "docker", headers) + (body or b"")


def hijack(sock: _socket.socket, method: str, target: str, body: bytes | None) -> HijackedSocket:
    """Send an upgrade request on ``sock`` and return the raw stream, or raise the daemon's error."""
    sock.sendall(build_request(method, target, body))
    response = Response(sock, method)
    if response.status in (101, 200):
        return HijackedSocket(sock, response.buffered)
    raw = response.read()
    sock.close()
    raise error_for_status(response.status, error_message(raw))
