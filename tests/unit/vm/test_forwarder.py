"""The forwarder over real SSH (paramiko on both ends) to a stand-in guest on loopback:
requests pass, half-closes cross, a lost tunnel reconnects, a changed host key is refused,
an unreachable guest answers 503 with a message."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from cove.vm import ssh
from cove.vm.errors import GuestUnreachable, HostKeyMismatch
from cove.vm.forwarder import Forwarder, Tunnel, wait_for_socket
from tests.support.coved import UnixHTTPConnection
from tests.support.ssh_server import FakeGuestSSH


class _Engine:
    """A loopback service: answers ``GET /_ping`` like coved, and echoes anything else
    until the client half-closes, then closes (as an attach stream ends)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            first = conn.recv(65536)
            if first.startswith(b"GET /_ping"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.41\r\n"
                             b"\r\nOK")
                return
            data = first
            while data:
                conn.sendall(data)
                data = conn.recv(65536)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def engine() -> Iterator[_Engine]:
    running = _Engine()
    yield running
    running.close()


@pytest.fixture
def guest(tmp_path: Path, engine: _Engine) -> Iterator[FakeGuestSSH]:
    server = FakeGuestSSH(tmp_path, {engine.port}).start()
    yield server
    server.stop()


def _endpoint(guest: FakeGuestSSH, host_key_line: str | None = None) -> ssh.Endpoint:
    return ssh.Endpoint(guest.port, guest.client_key_path, host_key_line or guest.host_key_line)


@pytest.fixture
def forwarded(tmp_path: Path, guest: FakeGuestSSH, engine: _Engine) -> Iterator[Path]:
    path = tmp_path / "s" / "cove.sock"
    forwarder = Forwarder(path, lambda: ssh.connect(_endpoint(guest)), port=engine.port)
    forwarder.listen()
    threading.Thread(target=forwarder.serve_forever, daemon=True).start()
    assert wait_for_socket(path, 5)
    yield path
    forwarder.stop()


def _ping(path: Path) -> tuple[int, bytes]:
    conn = UnixHTTPConnection(str(path), timeout=10)
    try:
        conn.request("GET", "/_ping")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_a_request_on_the_host_socket_reaches_the_guest_engine(forwarded: Path) -> None:
    assert _ping(forwarded) == (200, b"OK")
    assert [_ping(forwarded) for _ in range(5)] == [(200, b"OK")] * 5


def test_the_socket_is_the_users_own(forwarded: Path) -> None:
    assert forwarded.stat().st_mode & 0o077 == 0


def test_a_half_close_crosses_the_tunnel_and_the_answer_still_arrives(forwarded: Path) -> None:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    client.connect(str(forwarded))
    payload = b"stdin of an attach " * 5000
    client.sendall(payload)
    client.shutdown(socket.SHUT_WR)  # `docker run -i` reached the end of its stdin
    got = b""
    while chunk := client.recv(65536):
        got += chunk
    client.close()
    assert got == payload


def test_a_dropped_tunnel_is_reconnected_by_the_next_client(forwarded: Path,
                                                            guest: FakeGuestSSH) -> None:
    assert _ping(forwarded) == (200, b"OK")
    guest.drop_connections()
    assert _ping(forwarded) == (200, b"OK")


def test_a_changed_host_key_is_refused_before_logging_in(guest: FakeGuestSSH,
                                                        tmp_path: Path) -> None:
    from cove.vm import keys

    other = keys.generate("impostor").public_line
    with pytest.raises(HostKeyMismatch, match="other than the one made for this machine"):
        ssh.connect(_endpoint(guest, other))


def test_an_unreachable_guest_answers_503_with_a_message(tmp_path: Path) -> None:
    def refuse() -> Tunnel:
        raise GuestUnreachable("the Cove machine 'default' is not running")

    path = tmp_path / "cove.sock"
    forwarder = Forwarder(path, refuse)
    forwarder.listen()
    threading.Thread(target=forwarder.serve_forever, daemon=True).start()
    try:
        status, body = _ping(path)
    finally:
        forwarder.stop()
    assert status == 503
    assert json.loads(body) == {"message": "the Cove machine 'default' is not running"}


def test_a_closed_port_is_a_clear_unreachable_error() -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(GuestUnreachable, match=f"127.0.0.1:{port}"):
        ssh.connect(ssh.Endpoint(port, Path("/nonexistent"), "ssh-ed25519 AAAA"), timeout=2)
    with suppress(OSError):
        probe.close()


def test_a_guest_whose_engine_is_not_up_yet_answers_503_and_keeps_the_tunnel(
        tmp_path: Path, guest: FakeGuestSSH) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    guest.ports.add(port)  # the guest accepts the channel, but nothing listens there
    path = tmp_path / "down.sock"
    forwarder = Forwarder(path, lambda: ssh.connect(_endpoint(guest)), port=port + 0)
    forwarder.listen()
    threading.Thread(target=forwarder.serve_forever, daemon=True).start()
    try:
        answers = [_ping(path) for _ in range(3)]
    finally:
        forwarder.stop()
    assert [status for status, _ in answers] == [503] * 3
    assert "not answering yet" in json.loads(answers[0][1])["message"]
    assert len(guest.transports) == 1  # one SSH connection served all three
