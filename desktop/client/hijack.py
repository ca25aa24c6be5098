"""Upgraded ("hijacked") connections for attach and exec-start.

The request goes out with ``Connection: Upgrade`` / ``Upgrade: tcp``; the daemon
answers ``101 UPGRADED`` (old daemons: ``200 OK``) and from then on the socket is
a raw byte pipe. Bytes that arrived in the same read as the headers belong to the
stream, so ``HijackedSocket`` hands them out before reading the socket again.
"""

from __future__ import annotations

import json
import socket

from .errors import APIError, error_for_status

_MAX_HEADER_BYTES = 64 * 1024


class HijackedSocket:
    """A raw, bidirectional stream to the container; ``recv`` drains buffered bytes first."""

    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
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
            self.sock.shutdown(socket.SHUT_WR)
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
    lines = [
        f"{method} {target} HTTP/1.1",
        "Host: docker",
        "User-Agent: Cove-Client/0.1.0",
        "Connection: Upgrade",
        "Upgrade: tcp",
    ]
    if body is not None:
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    else:
        lines.append("Content-Type: text/plain")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


def read_response_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read the status line and headers; return (status, headers, bytes after them)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise APIError(0, "the daemon closed the connection before answering")
        data += chunk
        if len(data) > _MAX_HEADER_BYTES:
            raise APIError(0, "response headers too long")
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError) as exc:
        raise APIError(0, f"malformed status line: {lines[0]!r}") from exc
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def _read_error_body(sock: socket.socket, headers: dict[str, str], rest: bytes) -> bytes:
    """The error body of a refused upgrade (Content-Length, chunked, or until close)."""
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        want = int(length)
        while len(rest) < want:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return rest[:want]
    while True:
        if "chunked" in headers.get("transfer-encoding", "") and rest.endswith(b"0\r\n\r\n"):
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    if "chunked" in headers.get("transfer-encoding", ""):
        return _dechunk(rest)
    return rest


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    return out


def hijack(sock: socket.socket, method: str, target: str, body: bytes | None) -> HijackedSocket:
    """Send an upgrade request on ``sock`` and return the raw stream, or raise the daemon's error."""
    sock.sendall(build_request(method, target, body))
    status, headers, rest = read_response_head(sock)
    if status in (101, 200):
        return HijackedSocket(sock, rest)
    raw = _read_error_body(sock, headers, rest)
    sock.close()
    message = raw.decode("utf-8", "replace").strip()
    try:
        decoded = json.loads(message)
        if isinstance(decoded, dict) and "message" in decoded:
            message = str(decoded["message"])
    except ValueError:
        pass
    raise error_for_status(status, message)
