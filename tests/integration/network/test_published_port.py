"""The whole path in the lab, without coved yet: a bridge and a veth into a namespace the
test makes (a stand-in for a container's), the address from the IPAM, the ports from the
allocator and the table from the ruleset, and a busybox httpd inside that answers on the
lab host's 127.0.0.1, on its other address, from the outside namespace and from itself
(hairpin), and reaches the outside through MASQUERADE."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from cove.runtime import errors
from cove.runtime.linux.netlink import Netlink
from cove.runtime.linux.netns import in_netns
from cove.runtime.linux.nftables import apply_table, list_table
from cove.runtime.linux.sysctl import enable_ip_forward, enable_route_localnet
from cove.runtime.network.ipam import Ipam
from cove.runtime.network.pools import bridge_address
from cove.runtime.network.port_allocator import PortAllocator, bind_port
from cove.runtime.network.ports import port_requests
from cove.runtime.network.ruleset import BridgeNetwork, PortForward, ruleset
from tests.support.netlab import HOST_UPLINK_ADDRESS, OUTSIDE_UPLINK_ADDRESS, NetLab, wait_for

BRIDGE = "cove0"
PAGE = "published from the lab\n"


def _allocator(lab: NetLab) -> PortAllocator:
    """Host ports held by sockets made inside the lab's host namespace."""

    def binder(proto: str, address: IPv4Address, port: int) -> object:
        return in_netns(lab.host_path, lambda: bind_port(proto, address, port))

    return PortAllocator(binder=binder)  # type: ignore[arg-type]


def _listening(lab: NetLab) -> str:
    """The lab host's TCP sockets (busybox nc listens on IPv6's ``::``, dual-stack)."""
    return lab.run(lab.host, ["cat", "/proc/net/tcp", "/proc/net/tcp6"]).stdout


def _container(lab: NetLab, tmp_path: Path) -> tuple[str, IPv4Address, Ipam]:
    """A namespace on the lab's bridge, as container start will make it."""
    container = lab.add_namespace("c")
    with Netlink(lab.host_path) as nl:
        gateway = bridge_address(None, None, nl.routed_networks())
        nl.add_bridge(BRIDGE)
        nl.add_address(BRIDGE, gateway)
        nl.set_up(BRIDGE)
        ipam = Ipam(tmp_path / "ipam.json")
        ipam.add_network("bridge", gateway)
        address = ipam.allocate("bridge", "c1")
        nl.add_veth("vethc1", "eth0", peer_netns=lab.path(container))
        nl.set_master("vethc1", BRIDGE)
        nl.set_hairpin("vethc1")
        nl.set_up("vethc1")
    with Netlink(lab.path(container)) as nl:
        nl.add_address("eth0", address)
        nl.set_up("eth0")
        nl.add_route(IPv4Network("0.0.0.0/0"), gateway=gateway.ip)
    enable_ip_forward(lab.host_path)
    enable_route_localnet(BRIDGE, lab.host_path)
    return container, address.ip, ipam


def test_a_published_httpd_answers_on_localhost_outside_and_through_hairpin(
    netlab: NetLab, tmp_path: Path
) -> None:
    container, address, _ = _container(netlab, tmp_path)
    assert address == IPv4Address("172.17.0.2")  # the lab routes only 198.18.0.0/24
    ports = _allocator(netlab)
    try:
        published = ports.allocate(
            "c1",
            port_requests(
                {
                    "80/tcp": [
                        {"HostIp": "127.0.0.1", "HostPort": "8080"},
                        {"HostIp": "", "HostPort": ""},
                    ]
                }
            ),
        )
        random_port = next(p.host_port for p in published if p.host_port != 8080)
        network = BridgeNetwork(
            BRIDGE, IPv4Network("172.17.0.0/16"), tuple(PortForward(p, address) for p in published)
        )
        apply_table(ruleset([network]), netlab.host_path)
        (tmp_path / "index.html").write_text(PAGE)
        netlab.start(container, ["busybox", "httpd", "-f", "-p", "80", "-h", str(tmp_path)])

        host_ip = HOST_UPLINK_ADDRESS.ip
        assert wait_for(lambda: netlab.http_get(netlab.host, "http://127.0.0.1:8080/")) == PAGE
        assert netlab.http_get(netlab.host, f"http://127.0.0.1:{random_port}/") == PAGE
        assert netlab.http_get(netlab.host, f"http://{host_ip}:{random_port}/") == PAGE
        assert netlab.http_get(netlab.outside, f"http://{host_ip}:{random_port}/") == PAGE
        assert netlab.http_get(container, f"http://{host_ip}:{random_port}/") == PAGE  # hairpin
        # published on 127.0.0.1 only: not from outside
        assert netlab.http_get(netlab.outside, f"http://{host_ip}:8080/") == ""
    finally:
        ports.close()


def test_a_container_reaches_the_outside_through_masquerade(netlab: NetLab, tmp_path: Path) -> None:
    container, _, _ = _container(netlab, tmp_path)
    apply_table(ruleset([BridgeNetwork(BRIDGE, IPv4Network("172.17.0.0/16"))]), netlab.host_path)
    (tmp_path / "index.html").write_text("the outside\n")
    outside_ip = OUTSIDE_UPLINK_ADDRESS.ip
    netlab.start(
        netlab.outside, ["busybox", "httpd", "-f", "-p", f"{outside_ip}:8081", "-h", str(tmp_path)]
    )
    # the outside has no route back to 172.17.0.0/16: only a masqueraded request is answered
    assert "172.17" not in netlab.run(netlab.outside, ["ip", "route"]).stdout
    got = wait_for(lambda: netlab.http_get(container, f"http://{outside_ip}:8081/"))
    assert got == "the outside\n"


def test_a_port_a_lab_program_holds_is_refused_and_nothing_is_left_held(
    netlab: NetLab,
) -> None:
    netlab.start(netlab.host, ["busybox", "nc", "-l", "-p", "8080"])
    wait_for(lambda: ":1F90 " in _listening(netlab))
    ports = _allocator(netlab)
    try:
        with pytest.raises(errors.SystemError_) as taken:
            ports.allocate(
                "c1",
                port_requests({"81/tcp": [{"HostPort": "8081"}], "80/tcp": [{"HostPort": "8080"}]}),
            )
        assert str(taken.value) == (
            "Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use"
        )
        assert ports.publications() == {}
        # 8081, taken first in the same call, was let go with the rest: it binds again
        again = in_netns(netlab.host_path, lambda: bind_port("tcp", IPv4Address("0.0.0.0"), 8081))
        again.close()
    finally:
        ports.close()
    assert list_table("cove", netns=netlab.host_path) is None


def test_the_default_bridge_avoids_the_subnets_the_lab_host_routes(netlab: NetLab) -> None:
    for route in ("172.17.0.0/16", "172.18.0.0/24"):
        done = netlab.run(netlab.host, ["ip", "route", "add", "blackhole", route])
        assert done.returncode == 0, done.stderr
    with Netlink(netlab.host_path) as nl:
        assert str(bridge_address(None, None, nl.routed_networks())) == "172.19.0.1/16"
    assert (
        subprocess.run(
            ["ip", "route", "show", "172.19.0.0/16"], capture_output=True, text=True
        ).stdout
        == ""
    )
