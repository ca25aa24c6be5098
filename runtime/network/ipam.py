"""Addresses inside each network's subnet, kept on disk across daemon restarts.

Each network has a subnet, a gateway (the bridge's own address) and the addresses given
to endpoints, each with its owner (a container's endpoint). A new address is the lowest
free one, as dockerd hands them out; the subnet's network and broadcast addresses and the
gateway are never given. ``--ip`` asks for one address, which must be free and inside the
subnet. Every change is written before it is returned (write, fsync, rename), so a
crashed daemon comes back with the same addresses for the containers it re-adopts.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address
from pathlib import Path
from typing import Any

from cove.runtime import errors
from cove.runtime.store.layout import atomic_write_json, read_json


@dataclass
class SubnetAddresses:
    """One network's addresses: pure bookkeeping, no I/O."""

    gateway: IPv4Interface
    given: dict[IPv4Address, str] = field(default_factory=dict)
    ip_range: IPv4Network | None = None  # new addresses come from here (--ip-range)
    reserved: tuple[IPv4Address, ...] = ()  # never given (--aux-address)

    @property
    def subnet(self) -> IPv4Network:
        return self.gateway.network

    def _reserved(self, address: IPv4Address) -> bool:
        net = self.subnet
        edges = (net.network_address, net.broadcast_address) if net.prefixlen < 31 else ()
        return address == self.gateway.ip or address in edges or address in self.reserved

    def allocate(self, owner: str, wanted: IPv4Address | None = None) -> IPv4Address:
        if wanted is not None:
            if wanted not in self.subnet:
                raise errors.InvalidParameter(
                    f"Invalid address {wanted}: It does not belong to any of this network's subnets"
                )
            if self._reserved(wanted) or self.given.get(wanted, owner) != owner:
                raise errors.Conflict("Address already in use")  # libnetwork's words
            self.given[wanted] = owner
            return wanted
        for address in (self.ip_range or self.subnet).hosts():
            if address not in self.given and not self._reserved(address):
                self.given[address] = owner
                return address
        raise errors.Unavailable(
            f"no available IPv4 addresses on this network's address pools: {self.subnet}"
        )

    def release(self, owner: str) -> list[IPv4Address]:
        freed = [address for address, held in self.given.items() if held == owner]
        for address in freed:
            del self.given[address]
        return freed

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Gateway": str(self.gateway),
            "Addresses": {str(a): o for a, o in sorted(self.given.items())},
        }
        if self.ip_range is not None:
            out["Range"] = str(self.ip_range)
        if self.reserved:
            out["Reserved"] = [str(a) for a in self.reserved]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubnetAddresses:
        given: dict[IPv4Address, str] = {}
        for text, owner in data.get("Addresses", {}).items():
            address = ip_address(text)
            if isinstance(address, IPv4Address):
                given[address] = str(owner)
        return cls(
            IPv4Interface(data["Gateway"]),
            given,
            IPv4Network(data["Range"]) if data.get("Range") else None,
            tuple(IPv4Address(a) for a in data.get("Reserved") or ()),
        )


class Ipam:
    """Every network's addresses, persisted in one JSON file (``path``) that this object
    alone writes; safe to call from the daemon's threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._networks: dict[str, SubnetAddresses] = {}
        if self.path.exists():
            data = read_json(self.path)
            for name, entry in data.get("Networks", {}).items():
                self._networks[name] = SubnetAddresses.from_json(entry)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(
            self.path,
            {"Networks": {name: entry.to_json() for name, entry in sorted(self._networks.items())}},
        )

    def add_network(
        self,
        network: str,
        gateway: IPv4Interface,
        ip_range: IPv4Network | None = None,
        reserved: tuple[IPv4Address, ...] = (),
    ) -> None:
        """Start keeping ``network``'s addresses; a network already kept keeps its own
        (re-adoption after a restart) unless its gateway changed (``bip`` did)."""
        with self._lock:
            known = self._networks.get(network)
            if known is not None and known.gateway == gateway:
                return
            self._networks[network] = SubnetAddresses(gateway, {}, ip_range, reserved)
            self._save()

    def remove_network(self, network: str) -> None:
        with self._lock:
            if self._networks.pop(network, None) is not None:
                self._save()

    def subnets(self) -> dict[str, IPv4Network]:
        with self._lock:
            return {name: entry.subnet for name, entry in self._networks.items()}

    def gateway(self, network: str) -> IPv4Interface:
        with self._lock:
            return self._entry(network).gateway

    def allocate(
        self, network: str, owner: str, wanted: IPv4Address | None = None
    ) -> IPv4Interface:
        """An address for ``owner`` with the subnet's prefix; saved before it is returned."""
        with self._lock:
            entry = self._entry(network)
            before = dict(entry.given)
            address = entry.allocate(owner, wanted)
            try:
                self._save()
            except BaseException:
                entry.given = before
                raise
            return IPv4Interface(f"{address}/{entry.subnet.prefixlen}")

    def release(self, network: str, owner: str) -> None:
        with self._lock:
            entry = self._networks.get(network)
            if entry is not None and entry.release(owner):
                self._save()

    def owners(self, network: str) -> dict[IPv4Address, str]:
        with self._lock:
            return dict(self._entry(network).given)

    def _entry(self, network: str) -> SubnetAddresses:
        entry = self._networks.get(network)
        if entry is None:
            raise errors.NotFound(f"network {network} not found")
        return entry
