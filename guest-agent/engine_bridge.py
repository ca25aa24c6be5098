"""The guest's end of the forwarder: 127.0.0.1:2375 inside the guest, bridged to the
engine's Unix socket.

The guest's SSH server (dropbear) forwards ``direct-tcpip`` channels but not Unix sockets,
so each channel the host opens lands here and is relayed to ``/run/cove.sock``. The port
listens on the guest's loopback only: SSH (with the pinned keys) is the only way in.
"""

from __future__ import annotations

import socket
import threading

from cove.common.relay import SocketStream, pump, refuse
from cove.guest_agent.protocol import ENGINE_PORT

ENGINE_SOCKET = "/run/cove.sock"


def serve(port: int = ENGINE_PORT, engine_socket: str = ENGINE_SOCKET,
          ready: threading.Event | None = None) -> None:
    """Accept forever; one relay thread per connection."""
    listener = socket.create_server(("127.0.0.1", port), backlog=128)
    if ready is not None:
        ready.set()
    while True:
        client, _ = listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small writes, at once
        threading.Thread(target=_relay, args=(client, engine_socket), daemon=True).start()


def _relay(client: socket.socket, engine_socket: str) -> None:
    engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        engine.connect(engine_socket)
    except OSError:
        engine.close()
        refuse(client, "the engine in the Cove machine is not running")
        return
    pump(client, SocketStream(engine))



def ping(path: str = ENGINE_SOCKET) -> bool:
    """True when coved answers GET /_ping with 200 on its socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2.0)
            s.connect(path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: cove\r\n\r\n")
            return s.recv(64).split(b" ", 2)[1:2] == [b"200"]
    except (OSError, IndexError):
        return False
