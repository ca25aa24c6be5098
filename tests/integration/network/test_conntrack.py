"""Tracked flows and published ports in the lab: when a UDP port moves to another
container, a client that keeps sending from the same port reaches the new one (its old
flow was deleted with the old container's port), and flows Cove didn't translate stay."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from cove.runtime.linux.conntrack import translated_flows
from cove.runtime.linux.netns import in_netns
from cove.runtime.network.bridge import DefaultBridge
from cove.runtime.network.ipam import Ipam
from cove.runtime.network.port_allocator import PortAllocator, bind_port
from cove.runtime.network.ports import port_requests
from tests.support.netlab import HOST_UPLINK_ADDRESS, OUTSIDE_UPLINK_ADDRESS, NetLab

DNS = port_requests({"53/udp": [{"HostPort": "5353"}]})
OUTSIDE = OUTSIDE_UPLINK_ADDRESS.ip


@pytest.fixture
def bridge(netlab: NetLab, tmp_path: Path) -> Iterator[DefaultBridge]:
    def binder(proto: str, address: IPv4Address, port: int) -> socket.socket:
        return in_netns(netlab.host_path, lambda: bind_port(proto, address, port))

    made = DefaultBridge(
        Ipam(tmp_path / "ipam.json"), PortAllocator(binder=binder), netns=netlab.host_path
    )
    made.setup()
    try:
        yield made
    finally:
        made.close()


def _udp(netns: str, bind: tuple[str, int]) -> socket.socket:
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(bind)
        sock.settimeout(5)
        return sock

    return in_netns(netns, make)


def test_a_udp_client_follows_its_port_to_the_next_container(
    netlab: NetLab, bridge: DefaultBridge
) -> None:
    first, second = netlab.add_namespace("a"), netlab.add_namespace("b")
    old = bridge.attach("first", netlab.path(first), DNS)
    client = _udp(netlab.outside_path, ("0.0.0.0", 40053))
    host_side = _udp(netlab.host_path, ("0.0.0.0", 40054))  # the lab host's own flow
    try:
        client.sendto(b"to the first", (str(HOST_UPLINK_ADDRESS.ip), 5353))
        host_side.sendto(b"not Cove's", (str(OUTSIDE), 5353))
        assert len(translated_flows("udp", 5353, old.address.ip, 53, netlab.host_path)) == 1

        bridge.detach("first")
        assert translated_flows("udp", 5353, old.address.ip, 53, netlab.host_path) == []
        assert translated_flows("udp", 5353, OUTSIDE, 5353, netlab.host_path) != []  # kept

        new = bridge.attach("second", netlab.path(second), DNS, IPv4Address("172.17.0.9"))
        server = _udp(netlab.path(second), ("0.0.0.0", 53))
        try:
            client.sendto(b"to the second", (str(HOST_UPLINK_ADDRESS.ip), 5353))
            data, source = server.recvfrom(100)
        finally:
            server.close()
        assert data == b"to the second" and source == (str(OUTSIDE), 40053)
        assert new.address.ip != old.address.ip
    finally:
        client.close()
        host_side.close()
