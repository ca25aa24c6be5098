"""The default bridge's attach/detach in the lab: namespaces made by the test stand in for
containers (coved does not call it yet). Ports answer, a failed attach leaves nothing
behind, detach removes everything, a restarted daemon takes its endpoints back, and a
crashed one's veths are swept."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from cove.runtime import errors
from cove.runtime.linux.netlink import Netlink
from cove.runtime.linux.netns import in_netns
from cove.runtime.linux.nftables import list_table
from cove.runtime.network.bridge import DefaultBridge, Endpoint, host_link_name
from cove.runtime.network.ipam import Ipam
from cove.runtime.network.port_allocator import PortAllocator, bind_port
from cove.runtime.network.ports import port_requests
from tests.support.netlab import HOST_UPLINK_ADDRESS, NetLab, wait_for

FOREIGN = "table ip filter {\n\tchain FORWARD {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tip daddr 203.0.113.7 drop\n\t}\n}\n"


def _allocator(lab: NetLab) -> PortAllocator:
    def binder(proto: str, address: IPv4Address, port: int) -> object:
        return in_netns(lab.host_path, lambda: bind_port(proto, address, port))

    return PortAllocator(binder=binder)  # type: ignore[arg-type]


_made: list[DefaultBridge] = []


def _bridge(
    lab: NetLab, tmp_path: Path, live: list[Endpoint] | None = None, **kwargs: object
) -> DefaultBridge:
    """A bridge in the lab's host namespace; its held ports are let go after the test."""
    bridge = DefaultBridge(
        Ipam(tmp_path / "ipam.json"), _allocator(lab), netns=lab.host_path, **kwargs
    )  # type: ignore[arg-type]
    _made.append(bridge)
    bridge.setup(live)
    return bridge


@pytest.fixture
def lab(netlab: NetLab) -> Iterator[NetLab]:
    """The lab with a foreign table in its host namespace, checked untouched at the end."""
    assert netlab.run(netlab.host, ["nft", "-f", "-"], input=FOREIGN).returncode == 0
    before = netlab.run(netlab.host, ["nft", "list", "table", "ip", "filter"]).stdout
    try:
        yield netlab
    finally:
        while _made:
            _made.pop().close()
    assert netlab.run(netlab.host, ["nft", "list", "table", "ip", "filter"]).stdout == before


def _serve(lab: NetLab, namespace: str, root: Path, text: str) -> None:
    root.mkdir()
    (root / "index.html").write_text(text)
    lab.start(namespace, ["busybox", "httpd", "-f", "-p", "80", "-h", str(root)])


def test_two_containers_publish_and_reach_each_other(lab: NetLab, tmp_path: Path) -> None:
    bridge = _bridge(lab, tmp_path)
    assert bridge.gateway == IPv4Interface("172.17.0.1/16")
    web, client = lab.add_namespace("w"), lab.add_namespace("k")
    served = bridge.attach(
        "web",
        lab.path(web),
        port_requests(
            {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}, {"HostPort": "8081"}]}
        ),
    )
    other = bridge.attach("client", lab.path(client), [])
    assert (served.address, other.address) == (
        IPv4Interface("172.17.0.2/16"),
        IPv4Interface("172.17.0.3/16"),
    )
    _serve(lab, web, tmp_path / "www", "web\n")
    assert wait_for(lambda: lab.http_get(lab.host, "http://127.0.0.1:8080/")) == "web\n"
    host_ip = HOST_UPLINK_ADDRESS.ip
    assert lab.http_get(lab.outside, f"http://{host_ip}:8081/") == "web\n"
    assert lab.http_get(client, "http://172.17.0.2/") == "web\n"  # on the bridge
    assert lab.http_get(client, f"http://{host_ip}:8081/") == "web\n"  # hairpin, neighbour
    assert lab.http_get(client, "http://172.17.0.1:8081/") == "web\n"  # the gateway's too


def test_a_failed_attach_leaves_nothing_behind(lab: NetLab, tmp_path: Path) -> None:
    bridge = _bridge(lab, tmp_path)
    rules = list_table("cove", netns=lab.host_path)
    lab.start(lab.host, ["busybox", "nc", "-l", "-p", "8082"])
    wait_for(lambda: ":1F92 " in lab.run(lab.host, ["cat", "/proc/net/tcp6"]).stdout)
    container = lab.add_namespace("f")
    with pytest.raises(errors.SystemError_, match="address already in use"):
        bridge.attach(
            "f",
            lab.path(container),
            port_requests({"80/tcp": [{"HostPort": "8083"}], "81/tcp": [{"HostPort": "8082"}]}),
        )
    with Netlink(lab.host_path) as nl:
        assert host_link_name("f") not in nl.link_names()
    assert bridge.ipam.owners("bridge") == {}
    assert bridge.ports.publications() == {}
    assert list_table("cove", netns=lab.host_path) == rules
    # a failure inside the container's namespace (it is gone) is undone as well
    with pytest.raises(errors.SystemError_, match="open network namespace"):
        bridge.attach("g", "/run/netns/cove-no-such-namespace", [])
    assert bridge.ipam.owners("bridge") == {} and bridge.endpoints() == {}


def test_detach_removes_the_veth_the_rules_the_ports_and_the_address(
    lab: NetLab, tmp_path: Path
) -> None:
    bridge = _bridge(lab, tmp_path)
    empty = list_table("cove", netns=lab.host_path)
    container = lab.add_namespace("d")
    bridge.attach("d", lab.path(container), port_requests({"80/tcp": [{"HostPort": "8084"}]}))
    assert "dport 8084" in (list_table("cove", netns=lab.host_path) or "")
    bridge.detach("d")
    bridge.detach("d")  # again: nothing to do, no error
    with Netlink(lab.host_path) as nl:
        assert host_link_name("d") not in nl.link_names()
    with Netlink(lab.path(container)) as nl:
        assert nl.link_names() == ["lo"]
    assert list_table("cove", netns=lab.host_path) == empty
    assert bridge.ipam.owners("bridge") == {} and bridge.ports.publications() == {}
    in_netns(lab.host_path, lambda: bind_port("tcp", IPv4Address("0.0.0.0"), 8084)).close()


def test_a_restarted_daemon_takes_back_live_endpoints_and_sweeps_dead_ones(
    lab: NetLab, tmp_path: Path
) -> None:
    first = _bridge(lab, tmp_path)
    live, dead = lab.add_namespace("l"), lab.add_namespace("x")
    kept = first.attach("live", lab.path(live), port_requests({"80/tcp": [{"HostPort": "8085"}]}))
    first.attach("dead", lab.path(dead), [])
    record = kept.to_json()  # what the container's record keeps
    first.close()  # the daemon dies; its table, bridge and veths stay

    # same data root, a new process that finds "live" in its containers' records
    again = _bridge(lab, tmp_path, live=[Endpoint.from_json(record)])
    assert again.gateway == first.gateway
    with Netlink(lab.host_path) as nl:
        links = nl.link_names()
    assert host_link_name("dead") not in links and host_link_name("live") in links
    assert again.endpoints() == {"live": kept}
    assert set(again.ipam.owners("bridge").values()) == {"live"}
    _serve(lab, live, tmp_path / "www", "still here\n")
    assert wait_for(lambda: lab.http_get(lab.host, "http://127.0.0.1:8085/")) == "still here\n"
    # the next container gets the address the dead one had
    nxt = lab.add_namespace("n")
    assert again.attach("next", lab.path(nxt), []).address == IPv4Interface("172.17.0.3/16")


def test_bip_sets_the_bridge_address_and_a_new_bip_replaces_it(lab: NetLab, tmp_path: Path) -> None:
    bridge = _bridge(lab, tmp_path, bip="10.123.4.1/24")
    assert bridge.gateway == IPv4Interface("10.123.4.1/24")
    moved = _bridge(lab, tmp_path, bip="10.124.0.1/16")
    with Netlink(lab.host_path) as nl:
        assert nl.addresses("cove0") == [IPv4Interface("10.124.0.1/16")]
    container = lab.add_namespace("b")
    assert moved.attach("b", lab.path(container), []).address == IPv4Interface("10.124.0.2/16")
    moved.teardown()
    with Netlink(lab.host_path) as nl:
        assert "cove0" not in nl.link_names()
    assert list_table("cove", netns=lab.host_path) is None
