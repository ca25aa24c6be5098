"""Unix sockets for the shim on ``_socket`` alone.

``socket`` imports ``enum`` and ``selectors`` (~20 ms of a fresh interpreter's
start); the shim needs only a socketpair, a listener, accept and SCM_RIGHTS.
"""

from __future__ import annotations

import _socket
import os
import struct

AF_UNIX = _socket.AF_UNIX
SOCK_STREAM = _socket.SOCK_STREAM
Socket = _socket.socket


def socketpair() -> tuple[_socket.socket, _socket.socket]:
    """A connected close-on-exec AF_UNIX stream pair."""
    left, right = _socket.socketpair(AF_UNIX, SOCK_STREAM)
    return left, right


def listen_unix(directory: str, name: str, backlog: int = 64) -> _socket.socket:
    """Listen on ``directory/name``, bound by a relative name from inside ``directory``
    because bundle paths can exceed AF_UNIX's 108 bytes."""
    listener = _socket.socket(AF_UNIX, SOCK_STREAM)
    previous = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(directory)
        listener.bind(name)
    except BaseException:
        listener.close()
        raise
    finally:
        os.fchdir(previous)
        os.close(previous)
    listener.listen(backlog)
    return listener


def accept(listener: _socket.socket) -> _socket.socket:
    """Accept one connection (close-on-exec); raises BlockingIOError when none waits."""
    fd, _addr = listener._accept()  # type: ignore[attr-defined]  # C method socket.accept wraps
    return _socket.socket(AF_UNIX, SOCK_STREAM, 0, fd)


def connect_unix(path: str, timeout: float | None = None) -> _socket.socket:
    sock = _socket.socket(AF_UNIX, SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def send_with_fds(sock: _socket.socket, data: bytes, fds: list[int]) -> None:
    payload = struct.pack(f"{len(fds)}i", *fds)
    sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, payload)])


def recv_with_fds(sock: _socket.socket, size: int, max_fds: int) -> tuple[bytes, list[int]]:
    data, ancillary, _flags, _addr = sock.recvmsg(size, _socket.CMSG_LEN(max_fds * 4))
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
    return data, fds
