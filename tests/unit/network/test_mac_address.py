"""A container's MAC follows from its address, as dockerd makes it."""

from __future__ import annotations

from ipaddress import IPv4Address

from cove.runtime.network.bridge import mac_for


def test_the_mac_is_02_42_and_the_address_bytes() -> None:
    assert mac_for(IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"  # dockerd's first one
    assert mac_for(IPv4Address("10.200.3.254")) == "02:42:0a:c8:03:fe"


def test_one_address_always_has_one_mac_and_two_addresses_two() -> None:
    assert mac_for(IPv4Address("172.18.0.3")) == mac_for(IPv4Address("172.18.0.3"))
    assert mac_for(IPv4Address("172.18.0.3")) != mac_for(IPv4Address("172.18.0.4"))
