"""The embedded resolver in a real network namespace: a program inside asks 127.0.0.11
(UDP and TCP) and gets container names from the lookup and other names from the upstream,
which is reached from the test's own namespace (as coved's); the namespace's own :53 stays
free; stop takes the listeners and the nft table away."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest

from cove.runtime.linux.nftables import list_table
from cove.runtime.network.embedded_dns import EmbeddedDns
from cove.runtime.network.embedded_dns.rules import TABLE
from tests.support.fake_dns import FakeUpstream
from tests.support.netlab import NetLab


def lookup(owner: str, name: str) -> list[IPv4Address]:
    names = {"c1": {"web": "10.6.0.2", "web-alias": "10.6.0.2"}}
    found = names.get(owner, {}).get(name)
    return [IPv4Address(found)] if found else []


def reverse(owner: str, address: IPv4Address) -> str | None:
    return "web.labnet" if str(address) == "10.6.0.2" else None


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream({"outside.example": "198.18.0.2"}) as server:
        yield server


def _nslookup(lab: NetLab, ns: str, *args: str) -> str:
    done = lab.run(ns, ["busybox", "nslookup", *args, "127.0.0.11"], timeout=20)
    return done.stdout + done.stderr


def _python(lab: NetLab, ns: str, code: str) -> subprocess.CompletedProcess[str]:
    return lab.run(ns, [sys.executable, "-c", code], timeout=30)


def test_a_namespace_resolves_containers_and_the_outside_through_127_0_0_11(
    netlab: NetLab, upstream: FakeUpstream
) -> None:
    ns = netlab.add_namespace("dns")
    path = netlab.path(ns)
    fds = len(os.listdir("/proc/self/fd"))
    dns = EmbeddedDns(lookup, "/nonexistent", reverse=reverse, upstream_timeout=2)
    try:
        dns.serve("c1", path, [upstream.server])
        assert dns.serving() == ["c1"]
        assert "Address: 10.6.0.2" in _nslookup(netlab, ns, "web")
        assert "Address: 10.6.0.2" in _nslookup(netlab, ns, "WEB-ALIAS")
        assert "name = web.labnet" in _nslookup(netlab, ns, "10.6.0.2")
        assert "Address: 198.18.0.2" in _nslookup(netlab, ns, "outside.example")
        assert ("outside.example", "udp") in upstream.asked

        over_tcp = _python(
            netlab,
            ns,
            "from dnslib import DNSRecord\n"
            "for name in ('web', 'outside.example'):\n"
            "    r = DNSRecord.parse(DNSRecord.question(name).send('127.0.0.11', 53, tcp=True,"
            " timeout=10))\n"
            "    print(name, r.short())\n",
        )
        assert over_tcp.returncode == 0, over_tcp.stderr
        assert "web 10.6.0.2" in over_tcp.stdout
        assert "outside.example 198.18.0.2" in over_tcp.stdout
        assert ("outside.example", "tcp") in upstream.asked

        own_53 = _python(
            netlab,
            ns,
            "import socket\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0', 53))\n"
            "t = socket.socket(); t.bind(('0.0.0.0', 53)); t.listen()\n"
            "print('bound')\n",
        )
        assert own_53.stdout.strip() == "bound", own_53.stderr

        assert list_table(TABLE, netns=path) is not None
        dns.stop("c1")
        assert dns.serving() == []
        assert list_table(TABLE, netns=path) is None
        assert "10.6.0.2" not in _nslookup(netlab, ns, "web")
    finally:
        dns.close()
    # nothing of the resolver is left open to hold the namespace (the nft contexts' netlink
    # sockets are closed by a reaper thread, a few milliseconds later)
    deadline = time.monotonic() + 10
    while len(os.listdir("/proc/self/fd")) != fds and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(os.listdir("/proc/self/fd")) == fds


def test_serving_again_updates_upstreams_and_stop_works_after_the_namespace_is_gone(
    netlab: NetLab, upstream: FakeUpstream
) -> None:
    ns = netlab.add_namespace("dns2")
    path = netlab.path(ns)
    dns = EmbeddedDns(lookup, "/nonexistent", upstream_timeout=1)
    try:
        dns.serve("c1", path, ["127.0.0.3:9"])  # nothing there
        assert "SERVFAIL" in _nslookup(netlab, ns, "outside.example") or (
            "198.18.0.2" not in _nslookup(netlab, ns, "outside.example")
        )
        dns.serve("c1", path, [upstream.server])
        assert "Address: 198.18.0.2" in _nslookup(netlab, ns, "outside.example")
        subprocess.run(["ip", "netns", "del", ns], check=True)
        dns.stop("c1")  # the namespace's file is gone: the listeners still close
        assert dns.serving() == []
    finally:
        dns.close()


def test_without_redirect_the_listeners_bind_53_themselves_and_no_nft_table_is_made(
    netlab: NetLab, upstream: FakeUpstream
) -> None:
    ns = netlab.add_namespace("dns3")
    path = netlab.path(ns)
    dns = EmbeddedDns(lookup, "/nonexistent", upstream_timeout=1, redirect=False)
    try:
        dns.serve("c1", path, [upstream.server])
        assert "Address: 10.6.0.2" in _nslookup(netlab, ns, "web")
        assert list_table(TABLE, netns=path) is None
        # the price: the container's own DNS server cannot have 0.0.0.0:53
        own_53 = _python(
            netlab,
            ns,
            "import socket\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0', 53))\n",
        )
        assert "Address already in use" in own_53.stderr
        dns.stop("c1")
        assert "10.6.0.2" not in _nslookup(netlab, ns, "web")
    finally:
        dns.close()


def test_malformed_packets_and_a_burst_leave_the_resolver_answering(
    netlab: NetLab, upstream: FakeUpstream
) -> None:
    ns = netlab.add_namespace("dns4")
    dns = EmbeddedDns(lookup, "/nonexistent", upstream_timeout=1, pending=8, workers=2)
    try:
        dns.serve("c1", netlab.path(ns), [upstream.server])
        garbage = _python(
            netlab,
            ns,
            "import os, socket, struct\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "u.settimeout(5)\n"
            "u.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x05ab',"
            " ('127.0.0.11', 53))\n"
            "reply = u.recv(512)\n"
            "print('formerr' if reply[:2] == b'\\x12\\x34' and reply[3] & 15 == 1 else reply)\n"
            "for n in range(300):  # more than the queue holds: some are dropped\n"
            "    u.sendto(os.urandom(n % 40) + b'\\xff' * (n % 7), ('127.0.0.11', 53))\n"
            "for body in (b'\\xff\\xff' + b'x' * 10, b'\\x00\\x05abc', os.urandom(64)):\n"
            "    t = socket.create_connection(('127.0.0.11', 53), timeout=5)\n"
            "    t.sendall(body)\n"
            "    t.close()\n",
        )
        assert garbage.returncode == 0, garbage.stderr
        assert "formerr" in garbage.stdout
        assert "Address: 10.6.0.2" in _nslookup(netlab, ns, "web")
        assert "Address: 198.18.0.2" in _nslookup(netlab, ns, "outside.example")
    finally:
        dns.close()
