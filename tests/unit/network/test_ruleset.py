"""The nftables table of Cove's bridges, rendered (no kernel)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from cove.runtime.network.ports import Publication
from cove.runtime.network.ruleset import BridgeNetwork, PortForward, ruleset

CONTAINER = IPv4Address("172.17.0.2")


def _bridge(*forwards: PortForward) -> BridgeNetwork:
    return BridgeNetwork("cove0", IPv4Network("172.17.0.0/16"), forwards)


def test_published_ports_are_dnat_rules_reached_for_the_hosts_own_addresses_only() -> None:
    table = ruleset(
        [
            _bridge(
                PortForward(Publication("tcp", IPv4Address("127.0.0.1"), 8080, 80), CONTAINER),
                PortForward(Publication("udp", IPv4Address("0.0.0.0"), 5353, 53), CONTAINER),
            )
        ]
    )
    text = table.render()
    assert (
        'ip daddr 127.0.0.1 tcp dport 8080 dnat to 172.17.0.2:80 comment "127.0.0.1:8080/tcp"'
        in text
    )
    assert "\t\tudp dport 5353 dnat to 172.17.0.2:53 comment" in text
    assert text.count("fib daddr type local jump published") == 2  # from outside, from the host
    assert "type nat hook output priority -100" in text


def test_the_bridge_masquerades_out_from_loopback_and_for_hairpin() -> None:
    text = ruleset([_bridge()]).render()
    assert 'ip saddr 172.17.0.0/16 oifname != "cove0" masquerade' in text
    assert 'ip saddr 127.0.0.0/8 oifname "cove0" masquerade' in text
    assert (
        'ip saddr 172.17.0.0/16 ip daddr 172.17.0.0/16 oifname "cove0" ct status dnat masquerade'
        in text
    )
    assert 'iifname "cove0" accept' in text


def test_the_table_is_covess_own_and_the_same_for_the_same_input() -> None:
    forwards = [
        PortForward(Publication("tcp", IPv4Address("0.0.0.0"), port, 80), CONTAINER)
        for port in (8082, 8081)
    ]
    first = ruleset([_bridge(*forwards)])
    second = ruleset([_bridge(*reversed(forwards))])
    assert first.spec == "ip cove"
    assert first.render() == second.render()
    assert first.render().index("dport 8081") < first.render().index("dport 8082")
