"""The IPv6 proxy relays to an IPv4 server on loopback: TCP both ways with a half-close,
a payload larger than its buffers, UDP answers to the right client, and ``remove`` and
``close`` free the port."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address

import pytest

from cove.runtime.network.userland_proxy import UserlandProxy

LOOPBACK6 = IPv6Address("::1")
LOOPBACK4 = IPv4Address("127.0.0.1")


def _free_port() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def proxy() -> Iterator[UserlandProxy]:
    made = UserlandProxy()
    yield made
    made.close()


@pytest.fixture
def digest_server() -> Iterator[int]:
    """An IPv4 TCP server that reads until EOF and answers the SHA-256 of what it read."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                digest = hashlib.sha256()
                while chunk := conn.recv(65536):
                    digest.update(chunk)
                conn.sendall(digest.hexdigest().encode())

    threading.Thread(target=serve, daemon=True).start()
    yield int(server.getsockname()[1])
    server.close()


def test_tcp_is_relayed_both_ways_with_the_half_close(
        proxy: UserlandProxy, digest_server: int) -> None:
    port = _free_port()
    proxy.add("tcp", LOOPBACK6, port, LOOPBACK4, digest_server)
    payload = os.urandom(3 * 1024 * 1024)  # larger than the proxy's buffers
    with socket.create_connection(("::1", port), timeout=10) as client:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
    assert answer.decode() == hashlib.sha256(payload).hexdigest()


def test_udp_answers_go_back_to_each_client(proxy: UserlandProxy) -> None:
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                data, sender = echo.recvfrom(2048)
            except OSError:
                return
            echo.sendto(b"echo:" + data, sender)

    threading.Thread(target=serve, daemon=True).start()
    port = _free_port()
    proxy.add("udp", LOOPBACK6, port, LOOPBACK4, echo.getsockname()[1])
    try:
        clients = [socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) for _ in range(2)]
        for number, client in enumerate(clients):
            client.settimeout(5)
            client.sendto(f"from{number}".encode(), ("::1", port))
        assert [c.recv(2048) for c in clients] == [b"echo:from0", b"echo:from1"]
        for client in clients:
            client.close()
    finally:
        echo.close()


def test_a_port_held_elsewhere_is_refused_and_remove_frees_it(
        proxy: UserlandProxy, digest_server: int) -> None:
    port = _free_port()
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as holder:
        holder.bind(("::1", port))
        with pytest.raises(OSError) as refused:
            proxy.add("tcp", LOOPBACK6, port, LOOPBACK4, digest_server)
        assert refused.value.errno == 98  # EADDRINUSE
    proxy.add("tcp", LOOPBACK6, port, LOOPBACK4, digest_server)
    proxy.remove("tcp", LOOPBACK6, port)
    deadline_tries = 200
    for _ in range(deadline_tries):  # the listener closes on the proxy's thread
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as again:
                again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                again.bind(("::1", port))
            break
        except OSError:
            threading.Event().wait(0.01)
    else:
        pytest.fail("the port was not freed")


def test_a_container_that_is_not_listening_closes_the_client(proxy: UserlandProxy) -> None:
    port, dead = _free_port(), _free_port()
    proxy.add("tcp", LOOPBACK6, port, LOOPBACK4, dead)
    with socket.create_connection(("::1", port), timeout=10) as client:
        assert client.recv(10) == b""
