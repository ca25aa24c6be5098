"""The default bridge: what container start and stop will call, not yet wired to them.

``DefaultBridge.setup`` makes (or finds) the bridge ``cove0`` with its address, turns on
forwarding and ``route_localnet`` and writes Cove's table. ``attach`` gives one container
(named by its network namespace: its init's pid, or a netns file) an address, a veth
pair (``eth0`` inside), a default route and its published ports, then rewrites the table;
it is all or nothing: a failure at any step undoes the steps before it. ``detach`` undoes
``attach`` and is safe to repeat (the container's namespace may be gone already).
A restarted daemon hands ``setup`` the endpoints kept in its live containers' records: they
are taken back (address, ports, rules) and the veths of containers that are gone (a
crashed daemon's) are swept.

The host side of a veth is named from its owner (``cove-`` and ten hex digits), so it can
be found again after a crash and is never confused with Docker's ``veth*``. Everything
runs in this process's namespace, or in ``netns`` (the lab's host, in tests).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from cove.runtime import errors
from cove.runtime.linux.conntrack import delete_translated_flows
from cove.runtime.linux.netlink import Netlink
from cove.runtime.linux.netns import NetnsRef
from cove.runtime.linux.nftables import Table, apply_table, delete_table
from cove.runtime.linux.syscalls import KernelError
from cove.runtime.linux.sysctl import enable_ip_forward, enable_route_localnet
from cove.runtime.network.ipam import Ipam
from cove.runtime.network.pools import AddressPool, bridge_address
from cove.runtime.network.port_allocator import PortAllocator
from cove.runtime.network.ports import PortRequest, Publication
from cove.runtime.network.ruleset import TABLE, BridgeNetwork, PortForward, ruleset

BRIDGE = "cove0"
NETWORK = "bridge"
CONTAINER_LINK = "eth0"
HOST_LINK = re.compile(r"cove-[0-9a-f]{10}")
DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")


def host_link_name(owner: str) -> str:
    """The host side of ``owner``'s veth: 15 characters, the most a link name takes."""
    return "cove-" + hashlib.sha256(owner.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Endpoint:
    """A container on the bridge; its JSON goes into the container's record."""

    owner: str
    address: IPv4Interface
    gateway: IPv4Address
    publications: tuple[Publication, ...] = field(default_factory=tuple)

    @property
    def host_link(self) -> str:
        return host_link_name(self.owner)

    def to_json(self) -> dict[str, Any]:
        return {
            "Owner": self.owner,
            "Address": str(self.address),
            "Gateway": str(self.gateway),
            "Ports": [
                {
                    "Proto": p.proto,
                    "HostIp": str(p.host_address),
                    "HostPort": p.host_port,
                    "ContainerPort": p.container_port,
                }
                for p in self.publications
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Endpoint:
        return cls(
            str(data["Owner"]),
            IPv4Interface(data["Address"]),
            IPv4Address(data["Gateway"]),
            tuple(
                Publication(
                    p["Proto"],
                    IPv4Address(p["HostIp"]),
                    int(p["HostPort"]),
                    int(p["ContainerPort"]),
                )
                for p in data.get("Ports", [])
            ),
        )


def _system(exc: KernelError) -> errors.SystemError_:
    return errors.SystemError_(str(exc))


class DefaultBridge:
    """The default bridge network and its containers' endpoints; thread-safe."""

    def __init__(
        self,
        ipam: Ipam,
        ports: PortAllocator,
        *,
        bip: str | None = None,
        pools: Sequence[AddressPool] | None = None,
        name: str = BRIDGE,
        table: str = TABLE,
        netns: NetnsRef | None = None,
    ) -> None:
        self.ipam, self.ports = ipam, ports
        self.bip, self.pools = bip, pools
        self.name, self.table, self.netns = name, table, netns
        self._lock = threading.RLock()
        self._endpoints: dict[str, Endpoint] = {}
        self._gateway: IPv4Interface | None = None
        self._applied: Table | None = None  # the table as last written

    @property
    def gateway(self) -> IPv4Interface:
        if self._gateway is None:
            raise RuntimeError("DefaultBridge.setup() was not called")
        return self._gateway

    def setup(self, live: Sequence[Endpoint] | None = None) -> IPv4Interface:
        """Make the bridge ready (idempotent): a bridge that is already there keeps its
        address, as dockerd keeps docker0's, unless ``bip`` says otherwise. A restarted
        daemon passes the endpoints of every live container (``live``): they are taken
        back and everything else of Cove's on the bridge is swept, before the table is
        written once, so a live container's ports never stop answering."""
        with self._lock:
            try:
                with Netlink(self.netns) as nl:
                    found = nl.addresses(self.name) if nl.find(self.name) is not None else None
                    if found is None:
                        nl.add_bridge(self.name)
                        found = []
                    wanted = self._bridge_address(nl, found)
                    for old in found:
                        if old != wanted:  # bip changed since the bridge was made
                            nl.delete_address(self.name, old)
                    if wanted not in found:
                        nl.add_address(self.name, wanted)
                    nl.set_up(self.name)
                enable_ip_forward(self.netns)
                enable_route_localnet(self.name, self.netns)
            except KernelError as exc:
                raise _system(exc) from exc
            self.ipam.add_network(NETWORK, wanted)
            self._gateway = wanted
            if live is not None:
                self.sweep_stale([endpoint.owner for endpoint in live])
                for endpoint in live:
                    self._take_back(endpoint)
            self._apply(force=True)
            return wanted

    def _bridge_address(self, nl: Netlink, found: list[IPv4Interface]) -> IPv4Interface:
        if self.bip or not found:
            routed = [
                net for net in nl.routed_networks() if not any(net == a.network for a in found)
            ]
            return bridge_address(self.bip, self.pools, routed)
        return found[0]

    def attach(
        self,
        owner: str,
        container_netns: NetnsRef,
        requests: Sequence[PortRequest],
        wanted: IPv4Address | None = None,
    ) -> Endpoint:
        """Connect one container; all or nothing."""
        with self._lock:
            if owner in self._endpoints:
                raise errors.Conflict(
                    f"endpoint with name {owner} already exists in network {NETWORK}"
                )
            undo: list[Callable[[], object]] = []
            try:
                address = self.ipam.allocate(NETWORK, owner, wanted)
                undo.append(lambda: self.ipam.release(NETWORK, owner))
                published = self.ports.allocate(owner, requests)
                undo.append(lambda: self.ports.release(owner))
                endpoint = Endpoint(owner, address, self.gateway.ip, tuple(published))
                undo.append(lambda: self._delete_link(endpoint.host_link))
                self._plug(endpoint, container_netns)
                self._endpoints[owner] = endpoint
                undo.append(lambda: self._endpoints.pop(owner, None))
                self._apply()
                return endpoint
            except BaseException:
                for step in reversed(undo):
                    step()
                raise

    def _plug(self, endpoint: Endpoint, container_netns: NetnsRef) -> None:
        try:
            with Netlink(self.netns) as nl:
                nl.add_veth(endpoint.host_link, CONTAINER_LINK, peer_netns=container_netns,
                            peer_mac=mac_for(endpoint.address.ip))
                nl.set_master(endpoint.host_link, self.name)
                nl.set_hairpin(endpoint.host_link)
                nl.set_up(endpoint.host_link)
            with Netlink(container_netns) as nl:
                nl.add_address(CONTAINER_LINK, endpoint.address)
                nl.set_up(CONTAINER_LINK)
                nl.add_route(DEFAULT_ROUTE, gateway=endpoint.gateway)
        except KernelError as exc:
            raise _system(exc) from exc

    def detach(self, owner: str, recorded: Endpoint | None = None) -> None:
        """Disconnect one container: its veth, ports, address, rules and the flows its
        ports carried (so a port published again elsewhere gets no stale flow); idempotent.
        ``recorded`` is the endpoint its record kept, for one this bridge no longer holds
        (it died while the daemon was down): its flows go too."""
        with self._lock:
            self._delete_link(host_link_name(owner))
            self.ports.release(owner)
            self.ipam.release(NETWORK, owner)
            endpoint = self._endpoints.pop(owner, None)
            if endpoint is not None:
                self._apply()
            endpoint = endpoint or recorded
            if endpoint is None:
                return
            try:
                for p in endpoint.publications:
                    delete_translated_flows(
                        p.proto, p.host_port, endpoint.address.ip, p.container_port, self.netns
                    )
            except KernelError as exc:
                raise _system(exc) from exc

    def restore(self, endpoint: Endpoint) -> None:
        """Take back a live container's endpoint after a daemon restart: its address (kept
        by the IPAM), its ports held again and its rules written again."""
        with self._lock:
            self._take_back(endpoint)
            self._apply()

    def _take_back(self, endpoint: Endpoint) -> None:
        held = self.ipam.owners(NETWORK).get(endpoint.address.ip)
        if held != endpoint.owner:
            self.ipam.allocate(NETWORK, endpoint.owner, endpoint.address.ip)
        self.ports.restore(endpoint.owner, endpoint.publications)
        self._endpoints[endpoint.owner] = endpoint

    def sweep_stale(self, live_owners: Iterable[str]) -> list[str]:
        """Delete the veths (and free the addresses) of containers not in ``live_owners``:
        what a crashed daemon left. Other programs' links are never touched."""
        live = set(live_owners)
        keep = {host_link_name(owner) for owner in live}
        with self._lock:
            try:
                with Netlink(self.netns) as nl:
                    stale = [
                        link
                        for link in nl.link_names()
                        if HOST_LINK.fullmatch(link)
                        and link not in keep
                        and nl.master(link) in (self.name, None)
                    ]
                    for link in stale:
                        nl.delete_link(link)
            except KernelError as exc:
                raise _system(exc) from exc
            for owner in set(self.ipam.owners(NETWORK).values()) - live:
                self.ipam.release(NETWORK, owner)
            return stale

    def endpoints(self) -> dict[str, Endpoint]:
        with self._lock:
            return dict(self._endpoints)

    def teardown(self) -> None:
        """Remove Cove's table and the bridge (tests; the daemon keeps them, as dockerd)."""
        with self._lock:
            try:
                delete_table(self.table, netns=self.netns)
                self._applied = None
                with Netlink(self.netns) as nl:
                    nl.delete_link(self.name)
            except KernelError as exc:
                raise _system(exc) from exc

    def _delete_link(self, link: str) -> None:
        try:
            with Netlink(self.netns) as nl:
                nl.delete_link(link)
        except KernelError as exc:
            raise _system(exc) from exc

    def _apply(self, force: bool = False) -> None:
        """Write the table when it changed (a container without published ports changes
        nothing in it, and ``nft`` is most of an attach's time); ``force`` writes it
        anyway (at setup: another program may have removed it)."""
        forwards = tuple(
            PortForward(p, e.address.ip) for e in self._endpoints.values() for p in e.publications
        )
        network = BridgeNetwork(self.name, self.gateway.network, forwards)
        table = ruleset([network], self.table)
        if table == self._applied and not force:
            return
        try:
            apply_table(table, self.netns)
        except KernelError as exc:
            self._applied = None
            raise _system(exc) from exc
        self._applied = table


def mac_for(address: IPv4Address) -> str:
    """A container's MAC from its address, as dockerd makes it (``02:42:`` and the four
    bytes): a later container given the same address has the same MAC, so the host's
    neighbour cache, still holding the earlier one's entry, stays right."""
    return "02:42:" + ":".join(f"{byte:02x}" for byte in address.packed)
