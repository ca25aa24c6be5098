"""A bare HTTP server on a Unix socket for the client's transport and hijack tests.

Each connection carries one request; the server records it and lets the test answer on
the connection itself, so an answer can be any bytes at all (a bad frame, a 101 and then
a conversation), which a real HTTP server would not send.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Callable

Serve = Callable[[socket.socket, bytes, bytes], None]
"""Answers one request: (connection, head, body)."""


class SocketDaemon:
    """Records each request as (head, body), a chunked body de-chunked, then calls ``serve``."""

    def __init__(self, serve: Serve) -> None:
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "d.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(4)
        self.serve = serve
        self.requests: list[tuple[bytes, bytes]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                head, body = _read_request(conn)
                self.requests.append((head, body))
                self.serve(conn, head, body)

    def close(self) -> None:
        self.server.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def replying(reply: Callable[[bytes, bytes], bytes]) -> Serve:
    """A ``serve`` that sends ``reply(head, body)``; the connection then closes."""
    return lambda conn, head, body: conn.sendall(reply(head, body))


def _read_request(conn: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    headers = {line.partition(b":")[0].strip().lower(): line.partition(b":")[2].strip()
               for line in head.split(b"\r\n")[1:]}
    if headers.get(b"transfer-encoding") == b"chunked":
        while not rest.endswith(b"0\r\n\r\n"):
            rest += conn.recv(65536)
        body = b""
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                return head, body
            body, rest = body + rest[:size], rest[size + 2:]
    length = int(headers.get(b"content-length", b"0"))
    while len(rest) < length:
        rest += conn.recv(65536)
    return head, rest
