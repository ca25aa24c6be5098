"""Forwarding a container's query to upstream servers, and the host's servers read live.

The forwarder's sockets are coved's own, in the host's network namespace, not the
container's: a host whose /etc/resolv.conf names only systemd-resolved's stub
(127.0.0.53) or another loopback resolver (dnsmasq, a VPN client's) is served as it
serves the host itself, which a container's own namespace could never reach. (libnetwork dials such loopback
servers from the host too, but other servers from the container's namespace; here all go
from the host's, so a container only on ``--internal`` networks must be served with
``forward=False`` to keep its names from leaving.)

The host's servers are re-read when /etc/resolv.conf changes (its inode, size or mtime;
looked at no more than once a second), so a VPN or DHCP client that rewrites the file is
followed without restarting anything.

A query goes to each server in turn (three at most, as libnetwork), with a bounded wait
for each; UDP queries over UDP, TCP ones over TCP. A truncated UDP reply is handed back as
it is: it was cut to the client's own EDNS size (the query is forwarded unchanged), so
only the client's retry over TCP, which is forwarded over TCP, can carry the whole answer.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

from cove.runtime.network.embedded_dns.resolv_conf import (
    MAX_UPSTREAMS,
    host_upstreams,
    parse_resolv_conf,
)

DEFAULT_TIMEOUT = 4.0
"""libnetwork's wait for one external server (``extIOTimeout``)."""
RECHECK_INTERVAL = 1.0
DNS_PORT = 53


class HostResolvers:
    """The host's upstream servers, from ``path``, followed as the file changes;
    thread-safe."""

    def __init__(
        self, path: str = "/etc/resolv.conf", interval: float = RECHECK_INTERVAL, port: int = 53
    ) -> None:
        self.path = path
        self._interval = interval
        self._port = port
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._identity: tuple[int, int, int, int] | None = None
        self._servers: tuple[str, ...] = host_upstreams(parse_resolv_conf(""))

    def servers(self) -> tuple[str, ...]:
        """The servers now; the file is looked at when the last look is over
        ``interval`` old."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self._interval:
                self._checked = now
                self._refresh()
            return self._servers

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            identity = None
        else:
            identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if identity == self._identity:
            return
        try:
            with open(self.path) as f:
                text = f.read()
        except OSError:
            text = ""
        self._identity = identity
        servers = host_upstreams(parse_resolv_conf(text))
        if self._port != DNS_PORT:  # a test's fake servers
            servers = tuple(f"{server}:{self._port}" for server in servers)
        self._servers = servers


def _split(server: str) -> tuple[str, int]:
    """``host`` or ``host:port`` (tests run fake upstreams on other ports)."""
    if server.count(":") == 1:
        host, port = server.split(":")
        return host, int(port)
    return server, DNS_PORT


def forward(query: bytes, servers: tuple[str, ...], tcp: bool, timeout: float) -> bytes | None:
    """The first reply to ``query`` from ``servers``, tried in order; None when none
    answered within ``timeout`` each."""
    for server in servers[:MAX_UPSTREAMS]:
        try:
            address = _split(server)
            reply = _ask_tcp(query, address, timeout) if tcp else _ask_udp(query, address, timeout)
        except (OSError, ValueError):
            continue
        if reply is not None:
            return reply
    return None


def _ask_udp(query: bytes, address: tuple[str, int], timeout: float) -> bytes | None:
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(address)  # only the server's datagrams are received
        sock.send(query)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            try:
                reply = sock.recv(65535)
            except TimeoutError:
                return None
            if reply[:2] == query[:2] and len(reply) >= 12:
                return reply


def _ask_tcp(query: bytes, address: tuple[str, int], timeout: float) -> bytes | None:
    deadline = time.monotonic() + timeout
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(struct.pack("!H", len(query)) + query)
        head = read_exactly(sock, 2, deadline)
        if head is None:
            return None
        return read_exactly(sock, struct.unpack("!H", head)[0], deadline)


def read_exactly(sock: socket.socket, count: int, deadline: float) -> bytes | None:
    """``count`` bytes from a stream socket, or None on its end or past ``deadline``."""
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(count - len(data))
        except TimeoutError:
            return None
        if not chunk:
            return None
        data += chunk
    return data
