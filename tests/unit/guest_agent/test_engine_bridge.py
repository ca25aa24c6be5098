"""The guest's engine bridge: loopback TCP in, the engine's Unix socket out."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

from cove.guest_agent.engine_bridge import serve


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def _bridge(engine_socket: Path) -> int:
    port = _free_port()
    ready = threading.Event()
    threading.Thread(target=serve, args=(port, str(engine_socket), ready), daemon=True).start()
    assert ready.wait(5)
    return port


def _echo_engine(path: Path) -> socket.socket:
    """Echoes until the client half-closes, then closes: an attach stream's shape."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()

    def serve_one() -> None:
        conn, _ = listener.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    threading.Thread(target=serve_one, daemon=True).start()
    return listener


def _exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := client.recv(65536):
            got += chunk
    return got


def test_a_connection_reaches_the_engine_socket_both_ways(tmp_path: Path) -> None:
    listener = _echo_engine(tmp_path / "cove.sock")
    try:
        payload = b"stdin " * 50_000
        assert _exchange(_bridge(tmp_path / "cove.sock"), payload) == payload
    finally:
        listener.close()


def test_no_engine_means_a_503_with_a_message(tmp_path: Path) -> None:
    answer = _exchange(_bridge(tmp_path / "absent.sock"), b"GET /_ping HTTP/1.1\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ")
    assert json.loads(body) == {"message": "the engine in the Cove machine is not running"}
