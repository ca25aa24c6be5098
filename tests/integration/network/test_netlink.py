"""The kernel layer's netlink session on a real kernel, inside the lab's namespaces:
bridges, veths into another namespace (by path and by pid), addresses, routes, hairpin
and the per-namespace sysctls. Nothing here runs in the real machine's namespace."""

from __future__ import annotations

import errno
import subprocess
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from cove.runtime.linux.netlink import Netlink
from cove.runtime.linux.syscalls import KernelError
from cove.runtime.linux.sysctl import (
    enable_ip_forward,
    enable_route_localnet,
    interface_key,
    read_sysctl,
    write_sysctl,
)
from tests.support.netlab import NetLab


def test_a_bridge_is_made_up_addressed_and_deleted(netlab: NetLab) -> None:
    with Netlink(netlab.host_path) as nl:
        nl.add_bridge("cove0")
        nl.add_address("cove0", IPv4Interface("172.17.0.1/16"))
        nl.set_up("cove0")
        assert nl.is_up("cove0")
        assert nl.addresses("cove0") == [IPv4Interface("172.17.0.1/16")]
        assert IPv4Network("172.17.0.0/16") in nl.routed_networks()
    shown = netlab.run(netlab.host, ["ip", "-d", "-br", "addr", "show", "cove0"]).stdout
    assert "172.17.0.1/16" in shown
    with Netlink(netlab.host_path) as nl:
        assert nl.delete_link("cove0")
        assert not nl.delete_link("cove0")  # already gone: not an error
        assert "cove0" not in nl.link_names()


def test_a_veth_peer_lands_in_the_namespace_named_by_path_with_a_default_route(
    netlab: NetLab,
) -> None:
    container = netlab.add_namespace("c")
    with Netlink(netlab.host_path) as nl:
        nl.add_bridge("cove0")
        nl.add_address("cove0", IPv4Interface("172.17.0.1/16"))
        nl.set_up("cove0")
        nl.add_veth("vethc1", "eth0", peer_netns=netlab.path(container))
        nl.set_master("vethc1", "cove0")
        nl.set_hairpin("vethc1")
        nl.set_up("vethc1")
        assert nl.master("vethc1") == "cove0"
        assert nl.hairpin("vethc1")
        assert "eth0" not in nl.link_names()
    with Netlink(netlab.path(container)) as nl:
        assert nl.link_names() == ["eth0", "lo"]
        nl.add_address("eth0", IPv4Interface("172.17.0.2/16"))
        nl.set_up("eth0")
        nl.add_route(IPv4Network("0.0.0.0/0"), gateway=IPv4Address("172.17.0.1"))
        assert nl.default_gateway() == IPv4Address("172.17.0.1")
    # the container reaches the bridge's address through the pair
    ping = netlab.run(
        container, ["busybox", "arping", "-c", "1", "-w", "2", "-I", "eth0", "172.17.0.1"]
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr
    with Netlink(netlab.host_path) as nl:
        nl.delete_link("vethc1")
    with Netlink(netlab.path(container)) as nl:
        assert nl.link_names() == ["lo"]  # the peer went with it


def test_a_veth_peer_lands_in_the_namespace_of_a_pid(netlab: NetLab) -> None:
    container = netlab.add_namespace("p")
    sleeper = netlab.start(container, ["sleep", "60"])
    with Netlink(netlab.host_path) as nl:
        nl.add_veth("vethp1", "eth0", peer_netns=sleeper.pid)
    with Netlink(sleeper.pid) as nl:
        assert "eth0" in nl.link_names()


def test_errors_name_the_operation_and_the_link(netlab: NetLab) -> None:
    with Netlink(netlab.host_path) as nl:
        with pytest.raises(KernelError) as missing:
            nl.set_up("nosuchlink")
        assert missing.value.errno == errno.ENODEV and "nosuchlink" in str(missing.value)
        nl.add_bridge("dup0")
        with pytest.raises(KernelError) as dup:
            nl.add_bridge("dup0")
        assert dup.value.errno == errno.EEXIST and str(dup.value).startswith("add bridge dup0")
    with pytest.raises(KernelError) as gone:
        Netlink("/run/netns/cove-no-such-namespace").__enter__()
    assert gone.value.errno == errno.ENOENT


def test_sysctls_are_set_in_the_lab_namespace_only(netlab: NetLab) -> None:
    real_forward = read_sysctl("net.ipv4.ip_forward")
    write_sysctl("net.ipv4.ip_forward", "0", netlab.host_path)
    assert read_sysctl("net.ipv4.ip_forward", netlab.host_path) == "0"
    enable_ip_forward(netlab.host_path)
    assert read_sysctl("net.ipv4.ip_forward", netlab.host_path) == "1"
    with Netlink(netlab.host_path) as nl:
        nl.add_bridge("cove0")
    enable_route_localnet("cove0", netlab.host_path)
    assert read_sysctl(interface_key("cove0", "route_localnet"), netlab.host_path) == "1"
    seen = netlab.run(netlab.host, ["cat", "/proc/sys/net/ipv4/conf/cove0/route_localnet"])
    assert seen.stdout.strip() == "1"
    assert read_sysctl("net.ipv4.ip_forward") == real_forward
    with pytest.raises(KernelError):
        read_sysctl(interface_key("../../../etc", "passwd"))
    assert subprocess.run(["test", "-e", "/proc/sys/net/ipv4/conf/cove0"]).returncode != 0
