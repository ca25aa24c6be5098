"""The default bridge's subnet: dockerd's ``bip`` and ``default-address-pools``, never a
subnet the host already routes."""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv4Network

import pytest

from cove.runtime import errors
from cove.runtime.network.pools import (
    DEFAULT_POOLS,
    bridge_address,
    choose_subnet,
    parse_address_pools,
    parse_bip,
    parse_pool_flag,
    pool,
)


def test_with_nothing_routed_the_bridge_gets_dockerds_first_subnet() -> None:
    assert bridge_address(None, None, []) == IPv4Interface("172.17.0.1/16")


def test_a_subnet_the_host_routes_is_skipped() -> None:
    routed = [
        IPv4Network("0.0.0.0/0"),
        IPv4Network("172.17.0.0/16"),  # another engine
        IPv4Network("172.18.5.0/24"),  # a VPN inside the next one
        IPv4Network("192.0.2.0/24"),
    ]
    assert bridge_address(None, None, routed) == IPv4Interface("172.19.0.1/16")


def test_a_wide_route_over_every_172_pool_leaves_the_192_168_ones() -> None:
    subnet = choose_subnet(
        DEFAULT_POOLS, [IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/20")]
    )
    assert subnet == IPv4Network("192.168.16.0/20")


def test_no_free_subnet_is_dockerds_error() -> None:
    with pytest.raises(errors.InvalidParameter, match="non-overlapping IPv4 address pool"):
        choose_subnet([pool("10.1.0.0/24", 25)], [IPv4Network("10.0.0.0/8")])


def test_address_pools_from_daemon_json_are_cut_to_their_size() -> None:
    pools = parse_address_pools([{"base": "10.10.0.0/16", "size": 24}])
    assert bridge_address(None, pools, [IPv4Network("10.10.0.0/24")]) == IPv4Interface(
        "10.10.1.1/24"
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ([{"base": "10.10.0.0/16", "size": 8}], "invalid pools size: 8"),
        ([{"base": "10.10.0.0/16", "size": 33}], "invalid pools size: 33"),
        ([{"base": "10.10.0.300/16", "size": 24}], "invalid CIDR address: 10.10.0.300/16"),
        ([{"base": "10.10.0.0/16"}], "invalid default address pool"),
        ([{"base": "10.10.0.0/16", "size": 24, "gateway": "x"}], "invalid default address pool"),
        ([], "must be a list"),
    ],
)
def test_bad_address_pools_are_refused(value: object, message: str) -> None:
    with pytest.raises(errors.InvalidParameter, match=message):
        parse_address_pools(value)


def test_the_pool_flag_reads_base_and_size() -> None:
    assert parse_pool_flag("base=10.20.0.0/16,size=24") == pool("10.20.0.0/16", 24)
    with pytest.raises(errors.InvalidParameter, match="must be a key=value pair"):
        parse_pool_flag("base=10.20.0.0/16,24")


def test_bip_is_the_bridges_address_and_subnet_whatever_is_routed() -> None:
    assert bridge_address("192.168.100.5/24", None, [IPv4Network("192.168.100.0/24")]) == (
        IPv4Interface("192.168.100.5/24")
    )


@pytest.mark.parametrize(
    "bip", ["192.168.100.0/24", "192.168.100.255/24", "192.168.100.5", "nonsense", "fd00::1/64"]
)
def test_a_bip_that_is_not_a_host_address_with_a_prefix_is_refused(bip: str) -> None:
    with pytest.raises(errors.InvalidParameter, match="invalid bip"):
        parse_bip(bip)
