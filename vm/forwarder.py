"""The host-side forwarder: one SSH connection to the guest, one host Unix socket.

Every client connection on the socket (the cove CLI, the docker CLI, docker-py, an IDE)
becomes one ``direct-tcpip`` channel to the loopback port where the guest agent serves the
engine's socket. No process starts in the guest per request, and nothing on the client side
imports paramiko. Half-closes cross both ways, so hijacked streams (``run -i``, ``exec``,
``attach``) end as they do on a local socket.

When the SSH connection drops, the next client reconnects it. When the guest cannot be
reached at all, a client gets an HTTP 503 with a Docker-style ``{"message": …}`` saying so,
instead of a socket that accepts and then hangs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Protocol

from cove.vm.errors import GuestUnreachable, MachineError

log = logging.getLogger("cove.vm.forwarder")

CHUNK = 64 << 10
# where the guest agent bridges TCP to /run/cove.sock: loopback inside the guest only
ENGINE_PORT = 2375


class Channel(Protocol):
    """What the pump needs of an SSH channel (paramiko's ``Channel``)."""

    def recv(self, nbytes: int) -> bytes: ...
    def sendall(self, data: bytes) -> None: ...
    def shutdown_write(self) -> None: ...
    def close(self) -> None: ...
    def fileno(self) -> int: ...


class Tunnel(Protocol):
    """Opens channels to the guest; a paramiko Transport behind ``vm.ssh``."""

    def open(self, port: int) -> Channel: ...
    def close(self) -> None: ...


def unavailable_response(message: str) -> bytes:
    body = json.dumps({"message": message}).encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
            + body)


def pump(client: socket.socket, channel: Channel) -> None:
    """Copy both ways until both sides are done, passing each half-close on.

    One thread per direction: a single select loop with blocking sends deadlocks when both
    directions are full at once (an attach that echoes a large stdin)."""
    upstream = threading.Thread(target=_copy_up, args=(client, channel), daemon=True)
    upstream.start()
    failed = False
    try:
        while data := channel.recv(CHUNK):
            client.sendall(data)
    except OSError as exc:
        log.debug("connection ended: %s", exc)
        failed = True
    with suppress(OSError):
        # after a failure nothing more will come either way: unblock the upstream copy
        client.shutdown(socket.SHUT_RDWR if failed else socket.SHUT_WR)
    upstream.join()
    with suppress(OSError, EOFError):  # paramiko raises EOFError on a dead transport
        channel.close()
    client.close()


def _copy_up(client: socket.socket, channel: Channel) -> None:
    try:
        while data := client.recv(CHUNK):
            channel.sendall(data)
    except OSError as exc:
        log.debug("client side ended: %s", exc)
    finally:
        with suppress(OSError, EOFError):
            channel.shutdown_write()


class Forwarder:
    """Serves ``socket_path``; ``connect`` makes a fresh tunnel when there is none."""

    def __init__(self, socket_path: Path, connect: Callable[[], Tunnel],
                 port: int = ENGINE_PORT) -> None:
        self.socket_path = socket_path
        self.connect = connect
        self.port = port
        self._tunnel: Tunnel | None = None
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()

    def listen(self) -> None:
        self.socket_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with suppress(FileNotFoundError):
            self.socket_path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.socket_path))
        os.chmod(self.socket_path, 0o600)  # the user's engine: nobody else's
        listener.listen(128)
        self._listener = listener

    def serve_forever(self) -> None:
        assert self._listener is not None, "listen() first"
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                break
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with suppress(FileNotFoundError):
            self.socket_path.unlink()
        with self._lock:
            if self._tunnel is not None:
                self._tunnel.close()
                self._tunnel = None

    def _serve(self, client: socket.socket) -> None:
        try:
            channel = self._open_channel()
        except MachineError as exc:
            _refuse(client, str(exc))
            return
        except BaseException:
            client.close()
            raise
        pump(client, channel)

    def _open_channel(self) -> Channel:
        """A channel on the current tunnel; one reconnect when it has gone stale."""
        for attempt in range(2):
            tunnel = self._current_tunnel()
            try:
                return tunnel.open(self.port)
            except OSError as exc:
                log.info("tunnel lost (%s); reconnecting", exc)
                with self._lock:
                    if self._tunnel is tunnel:
                        self._tunnel = None
                tunnel.close()
                if attempt:
                    raise GuestUnreachable(
                        f"the Cove machine's engine cannot be reached: {exc}") from exc
        raise AssertionError("unreachable")

    def _current_tunnel(self) -> Tunnel:
        with self._lock:
            if self._tunnel is None:
                self._tunnel = self.connect()
            return self._tunnel


def _refuse(client: socket.socket, message: str) -> None:
    """Answer 503 and close without a reset: the client may still be sending its request,
    and closing with unread input would turn our answer into its "broken pipe"."""
    client.settimeout(2)
    with suppress(OSError):
        client.sendall(unavailable_response(message))
        client.shutdown(socket.SHUT_WR)
        while client.recv(CHUNK):
            pass
    client.close()


def wait_for_socket(path: Path, timeout: float) -> bool:
    """True once something accepts connections on ``path``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
            return True
        except OSError:
            time.sleep(0.02)
        finally:
            probe.close()
    return False
