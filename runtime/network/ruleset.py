"""The nftables table of Cove's bridges, as data (rendered by ``cove.runtime.linux``).

For each bridge:
- MASQUERADE out: the subnet's packets leaving by any other interface take the host's
  address;
- DNAT in: a published port on one of the host's own addresses (``fib daddr type local``)
  leads to its container, for packets arriving from outside (prerouting) and for the
  host's own connections (output), 127.0.0.1 included;
- 127.0.0.1: such a packet leaves by the bridge with a loopback source, which the bridge
  must route (``route_localnet``) and which is masqueraded to the bridge's address so the
  container can answer it;
- hairpin: a container reaching a published port (its own or a neighbour's) through the
  host is masqueraded too, so the answer comes back through the host's conntrack;
- forward: the bridge's traffic is accepted in Cove's own chain (another table's drop
  policy still applies: nftables runs every table's base chain);
- isolation: traffic from one of Cove's bridges to another is dropped, as Docker isolates
  its bridge networks; an internal network's traffic never leaves its bridge (no NAT out,
  nothing forwarded to or from another interface): its containers reach only each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from cove.runtime.linux.nftables import Chain, Hook, Rule, Table, quoted
from cove.runtime.network.ports import ANY_ADDRESS, Publication

TABLE = "cove"
LOOPBACK = IPv4Network("127.0.0.0/8")
PUBLISHED = "published"


@dataclass(frozen=True)
class PortForward:
    """A published port and the container address it leads to."""

    publication: Publication
    container_address: IPv4Address


@dataclass(frozen=True)
class BridgeNetwork:
    """One bridge: its link name, its subnet and the ports published into it."""

    bridge: str
    subnet: IPv4Network
    forwards: tuple[PortForward, ...] = ()
    internal: bool = False


def dnat_rule(forward: PortForward) -> Rule:
    p = forward.publication
    address = "" if p.host_address == ANY_ADDRESS else f"ip daddr {p.host_address} "
    return Rule(
        f"{address}{p.proto} dport {p.host_port} "
        f"dnat to {forward.container_address}:{p.container_port}",
        f"{p.host_address}:{p.host_port}/{p.proto}",
    )


def bridge_nat_rules(network: BridgeNetwork) -> tuple[Rule, ...]:
    bridge, subnet = quoted(network.bridge), network.subnet
    return (
        Rule(
            f"ip saddr {LOOPBACK} oifname {bridge} masquerade",
            f"{network.bridge}: from the host's loopback",
        ),
        Rule(
            f"ip saddr {subnet} ip daddr {subnet} oifname {bridge} ct status dnat masquerade",
            f"{network.bridge}: hairpin",
        ),
        *(() if network.internal else (
            Rule(f"ip saddr {subnet} oifname != {bridge} masquerade", f"{network.bridge}: out"),
        )),
    )


def isolation_rules(network: BridgeNetwork, others: Sequence[str]) -> tuple[Rule, ...]:
    """What must never cross from ``network``'s bridge: to the other bridges, and for an
    internal network to or from anywhere else."""
    bridge = quoted(network.bridge)
    if network.internal:
        return (
            Rule(f"iifname {bridge} oifname != {bridge} drop", f"{network.bridge}: internal"),
            Rule(f"oifname {bridge} iifname != {bridge} drop", f"{network.bridge}: internal"),
        )
    if not others:
        return ()
    names = ", ".join(quoted(other) for other in others)
    return (Rule(f"iifname {bridge} oifname {{ {names} }} drop",
                 f"{network.bridge}: isolated"),)


def bridge_forward_rules(network: BridgeNetwork) -> tuple[Rule, ...]:
    bridge = quoted(network.bridge)
    if network.internal:
        return (Rule(f"iifname {bridge} oifname {bridge} accept"),)
    return (
        Rule(f"oifname {bridge} ct state established,related accept"),
        Rule(f"oifname {bridge} ct status dnat accept"),
        Rule(f"iifname {bridge} accept"),
    )


def ruleset(networks: Sequence[BridgeNetwork], name: str = TABLE) -> Table:
    """The whole table for ``networks``: applied in one transaction it replaces the last."""
    forwards = sorted(  # IPv6 ones are the userland proxy's: nft cannot DNAT them to IPv4
        (f for n in networks for f in n.forwards if not f.publication.ipv6),
        key=lambda f: (f.publication.proto, int(f.publication.host_address),
                       f.publication.host_port, f.container_address),
    )
    jump = Rule(f"fib daddr type local jump {PUBLISHED}")
    return Table(
        name,
        chains=(
            Chain(PUBLISHED, tuple(dnat_rule(f) for f in forwards)),
            Chain("prerouting", (jump,), Hook("nat", "prerouting", -100)),
            Chain("output", (jump,), Hook("nat", "output", -100)),
            Chain(
                "postrouting",
                tuple(r for n in networks for r in bridge_nat_rules(n)),
                Hook("nat", "postrouting", 100),
            ),
            Chain(
                "forward",
                tuple(
                    r
                    for n in networks
                    for r in isolation_rules(
                        n, [o.bridge for o in networks if o.bridge != n.bridge])
                )
                + tuple(r for n in networks for r in bridge_forward_rules(n)),
                Hook("filter", "forward", 0),
            ),
        ),
    )
