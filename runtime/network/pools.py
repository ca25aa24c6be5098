"""Which subnet a bridge gets: dockerd's ``bip`` and ``default-address-pools``.

As dockerd: with ``bip`` (``192.168.1.5/24``) the bridge takes exactly that address and
its subnet. Otherwise the subnet is the first one the address pools offer that no route
of the host covers or crosses (a VPN, an office LAN, another engine's bridge): a bridge
over a routed subnet would cut the host off from it. The default pools are dockerd's:
172.17-31.0.0/16, then 192.168.0.0/16 cut into /20s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network, ip_interface, ip_network
from typing import Any

from cove.runtime import errors


@dataclass(frozen=True)
class AddressPool:
    """A ``base`` network cut into subnets of prefix length ``size``."""

    base: IPv4Network
    size: int

    def subnets(self) -> Iterator[IPv4Network]:
        return self.base.subnets(new_prefix=self.size)


DEFAULT_POOLS = (
    *(AddressPool(IPv4Network(f"172.{n}.0.0/16"), 16) for n in range(17, 32)),
    AddressPool(IPv4Network("192.168.0.0/16"), 20),
)


def _network(text: str) -> IPv4Network:
    try:
        network = ip_network(text, strict=False)
    except ValueError:
        raise errors.InvalidParameter(f"invalid CIDR address: {text}") from None
    if not isinstance(network, IPv4Network):
        raise errors.InvalidParameter(f"only IPv4 address pools are supported: {text}")
    return network


def pool(base: str, size: int) -> AddressPool:
    """One pool, checked as dockerd checks ``default-address-pools``."""
    network = _network(base)
    if size <= 0 or size < network.prefixlen or size > 32:
        raise errors.InvalidParameter(f"invalid pools size: {size}")
    return AddressPool(network, size)


def parse_address_pools(value: Any) -> tuple[AddressPool, ...]:
    """``default-address-pools`` of daemon.json: ``[{"base": "10.10.0.0/16", "size": 24}]``."""
    if not isinstance(value, list) or not value:
        raise errors.InvalidParameter("default-address-pools must be a list of {base, size}")
    pools = []
    for entry in value:
        if not isinstance(entry, dict) or set(entry) - {"base", "size"}:
            raise errors.InvalidParameter(f"invalid default address pool: {entry!r}")
        base, size = entry.get("base"), entry.get("size")
        if not isinstance(base, str) or not isinstance(size, int) or isinstance(size, bool):
            raise errors.InvalidParameter(f"invalid default address pool: {entry!r}")
        pools.append(pool(base, size))
    return tuple(pools)


def parse_pool_flag(text: str) -> AddressPool:
    """``--default-address-pool base=10.10.0.0/16,size=24``."""
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or key not in ("base", "size") or key in fields:
            raise errors.InvalidParameter(f"invalid field '{part}' must be a key=value pair")
        fields[key] = value
    if set(fields) != {"base", "size"} or not fields["size"].isdigit():
        raise errors.InvalidParameter(f"invalid default address pool: {text}")
    return pool(fields["base"], int(fields["size"]))


def parse_bip(text: str) -> IPv4Interface:
    """``bip``: the bridge's own address with its prefix; it must be a host address."""
    try:
        address = ip_interface(text)
    except ValueError:
        raise errors.InvalidParameter(f"invalid bip: {text}: invalid CIDR address") from None
    if not isinstance(address, IPv4Interface) or "/" not in text:
        raise errors.InvalidParameter(f"invalid bip: {text}: invalid CIDR address")
    network = address.network
    if network.prefixlen < 31 and address.ip in (
        network.network_address,
        network.broadcast_address,
    ):
        raise errors.InvalidParameter(f"invalid bip: {text}: not a host address of its subnet")
    return address


def choose_subnet(pools: Sequence[AddressPool], avoid: Iterable[IPv4Network]) -> IPv4Network:
    """The first subnet of ``pools`` that overlaps nothing in ``avoid`` (the host's routes
    and the subnets other networks hold)."""
    taken = list(avoid)
    for address_pool in pools:
        for subnet in address_pool.subnets():
            if not any(subnet.overlaps(other) for other in taken):
                return subnet
    raise errors.InvalidParameter(
        "could not find an available, non-overlapping IPv4 address pool among the "
        "defaults to assign to the network"
    )


def bridge_address(
    bip: str | None, pools: Sequence[AddressPool] | None, routed: Iterable[IPv4Network]
) -> IPv4Interface:
    """The default bridge's address and subnet: ``bip`` as given, else the first host
    address of the first subnet free of ``routed`` (the default route is never given)."""
    if bip:
        return parse_bip(bip)
    routes = [net for net in routed if net.prefixlen > 0]
    subnet = choose_subnet(pools or DEFAULT_POOLS, routes)
    return IPv4Interface(f"{subnet.network_address + 1}/{subnet.prefixlen}")
