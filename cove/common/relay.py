"""Copying a connection both ways, with half-closes passed on.

The host's forwarder (client socket ↔ SSH channel) and the guest agent's engine bridge
(SSH-forwarded TCP ↔ the engine's Unix socket) are the same relay: hijacked streams
(``run -i``, ``exec``, ``attach``) need the end of one direction to reach the other side
while the other direction keeps flowing.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from contextlib import suppress
from typing import Protocol

log = logging.getLogger("cove.relay")

CHUNK = 64 << 10


class Stream(Protocol):
    """The far side of a relay: an SSH channel (paramiko's has these), or a socket through
    ``SocketStream``."""

    def recv(self, nbytes: int) -> bytes: ...
    def sendall(self, data: bytes) -> None: ...
    def shutdown_write(self) -> None: ...
    def close(self) -> None: ...


class SocketStream:
    """A socket as a ``Stream``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self, nbytes: int) -> bytes:
        return self.sock.recv(nbytes)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def shutdown_write(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.sock.close()


def unavailable_response(message: str) -> bytes:
    """What a relay answers when its far side cannot be reached: an HTTP 503 with a
    Docker-style ``{"message": …}``, which the docker CLI prints as the error."""
    body = json.dumps({"message": message}).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
            + body)


def refuse(client: socket.socket, message: str) -> None:
    """Answer 503 and close without a reset: the client may still be sending its request,
    and closing with unread input would turn our answer into its "broken pipe"."""
    client.settimeout(2)
    with suppress(OSError):
        client.sendall(unavailable_response(message))
        client.shutdown(socket.SHUT_WR)
        while client.recv(CHUNK):
            pass
    client.close()


def pump(client: socket.socket, far: Stream) -> None:
    """Copy both ways until both sides are done, passing each half-close on.

    One thread per direction: a single select loop with blocking sends deadlocks when both
    directions are full at once (an attach that echoes a large stdin)."""
    upstream = threading.Thread(target=_copy_up, args=(client, far), daemon=True)
    upstream.start()
    failed = False
    try:
        while data := far.recv(CHUNK):
            client.sendall(data)
    except (OSError, EOFError) as exc:
        log.debug("connection ended: %s", exc)
        failed = True
    with suppress(OSError):
        # after a failure nothing more will come either way: unblock the upstream copy
        client.shutdown(socket.SHUT_RDWR if failed else socket.SHUT_WR)
    upstream.join()
    with suppress(OSError, EOFError):  # paramiko raises EOFError on a dead transport
        far.close()
    client.close()


def _copy_up(client: socket.socket, far: Stream) -> None:
    try:
        while data := client.recv(CHUNK):
            far.sendall(data)
    except (OSError, EOFError) as exc:
        log.debug("client side ended: %s", exc)
    finally:
        with suppress(OSError, EOFError):
            far.shutdown_write()
