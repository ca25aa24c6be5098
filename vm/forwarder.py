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

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Protocol

from cove.common.relay import Stream, pump, refuse
from cove.guest_agent.protocol import ENGINE_PORT
from cove.vm.errors import GuestUnreachable, MachineError

log = logging.getLogger("cove.vm.forwarder")



class Tunnel(Protocol):
    """Opens channels to the guest; a paramiko Transport behind ``vm.ssh``."""

    def open(self, port: int) -> Stream: ...
    def close(self) -> None: ...


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
            channel = self.open_channel(self.port)
        except MachineError as exc:
            refuse(client, str(exc))
            return
        except BaseException:
            client.close()
            raise
        pump(client, channel)

    @property
    def has_tunnel(self) -> bool:
        return self._tunnel is not None

    def open_channel(self, port: int) -> Stream:
        """A channel on the current tunnel; one reconnect when it has gone stale."""
        for attempt in range(2):
            tunnel = self._current_tunnel()
            try:
                return tunnel.open(port)
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
