"""The bridge driver: the default bridge and the user networks' bridges, and the
containers' endpoints on them.

``DefaultBridge.setup`` makes (or finds) the bridge ``cove0`` with its address, turns on
forwarding and ``route_localnet`` and writes Cove's table. ``attach`` gives one container
(named by its network namespace: its init's pid, or a netns file) an address, a veth
pair (``eth0`` inside), a default route and its published ports, then rewrites the table;
it is all or nothing: a failure at any step undoes the steps before it. ``detach`` undoes
``attach`` and is safe to repeat (the container's namespace may be gone already).
A restarted daemon hands ``setup`` the endpoints kept in its live containers' records: they
are taken back (address, ports, rules) and the veths of containers that are gone (a
crashed daemon's) are swept.

User networks (``add_network``) each have a Linux bridge of their own, their gateway
address on it, and their rules in the same table: NAT out unless ``--internal`` (whose
containers reach only each other), and no traffic between two bridges (Docker's
isolation). A container may have an endpoint on several networks (``eth0``, ``eth1``…);
the endpoints are keyed by (network, owner).

The host side of a veth is named from its owner and network (``cove-`` and ten hex
digits), so it can be found again after a crash and is never confused with Docker's
``veth*``. Everything runs in this process's namespace, or in ``netns`` (the lab's host,
in tests).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, ip_address
from typing import Any

from cove.runtime import errors
from cove.runtime.linux.conntrack import delete_translated_flows
from cove.runtime.linux.netlink import Netlink
from cove.runtime.linux.netns import NetnsRef
from cove.runtime.linux.nftables import Table, apply_table, delete_table
from cove.runtime.linux.syscalls import KernelError
from cove.runtime.linux.sysctl import disable_ipv6, enable_ip_forward, enable_route_localnet
from cove.runtime.network.ipam import Ipam
from cove.runtime.network.pools import AddressPool, bridge_address
from cove.runtime.network.port_allocator import PortAllocator
from cove.runtime.network.ports import PortRequest, Publication
from cove.runtime.network.records import NetworkRecord
from cove.runtime.network.ruleset import TABLE, BridgeNetwork, PortForward, ruleset
from cove.runtime.network.userland_proxy import UserlandProxy

log = logging.getLogger(__name__)
BRIDGE = "cove0"
NETWORK = "bridge"
CONTAINER_LINK = "eth0"
HOST_LINK = re.compile(r"cove-[0-9a-f]{10}")
DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")


def host_link_name(owner: str, network: str = NETWORK) -> str:
    """The host side of ``owner``'s veth on ``network``: 15 characters, the most a link
    name takes (the default bridge's keeps the name older daemons gave it)."""
    key = owner if network == NETWORK else f"{owner}/{network}"
    return "cove-" + hashlib.sha256(key.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Segment:
    """One bridge network: its key (the IPAM's and the endpoints'; "bridge" for the
    default one, else the network's ID), its Linux bridge and gateway address, the range
    addresses are given from, the addresses kept out of use, and whether it is internal
    (no way out)."""

    key: str
    link: str
    gateway: IPv4Interface
    internal: bool = False
    ip_range: IPv4Network | None = None
    reserved: tuple[IPv4Address, ...] = ()


def segment_of(record: NetworkRecord) -> Segment:
    """A user network's segment, from its record (its first IPAM pool)."""
    pool = record.pools[0]
    return Segment(record.id, record.link,
                   IPv4Interface(f"{pool.gateway}/{pool.subnet.prefixlen}"),
                   record.internal, pool.ip_range, tuple(a for _, a in pool.aux))


@dataclass(frozen=True)
class Endpoint:
    """A container on the bridge; its JSON goes into the container's record."""

    owner: str
    address: IPv4Interface
    gateway: IPv4Address | None
    publications: tuple[Publication, ...] = field(default_factory=tuple)
    network: str = NETWORK
    mac: str = ""
    interface: str = CONTAINER_LINK
    names: tuple[str, ...] = ()  # what the network's other containers resolve it by
    endpoint_id: str = ""

    @property
    def host_link(self) -> str:
        return host_link_name(self.owner, self.network)

    @property
    def mac_address(self) -> str:
        return self.mac or mac_for(self.address.ip)

    def to_json(self) -> dict[str, Any]:
        return {
            "Owner": self.owner,
            "Network": self.network,
            "Address": str(self.address),
            "Gateway": str(self.gateway) if self.gateway is not None else "",
            "Mac": self.mac,
            "Interface": self.interface,
            "Names": list(self.names),
            "EndpointID": self.endpoint_id,
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
            IPv4Address(data["Gateway"]) if data.get("Gateway") else None,
            tuple(
                Publication(
                    p["Proto"],
                    ip_address(p["HostIp"]),
                    int(p["HostPort"]),
                    int(p["ContainerPort"]),
                )
                for p in data.get("Ports", [])
            ),
            str(data.get("Network") or NETWORK),
            str(data.get("Mac") or ""),
            str(data.get("Interface") or CONTAINER_LINK),
            tuple(str(n) for n in data.get("Names") or ()),
            str(data.get("EndpointID") or ""),
        )


def _system(exc: KernelError) -> errors.SystemError_:
    return errors.SystemError_(str(exc))


class BridgeDriver:
    """The default bridge and the user networks' bridges, and their containers'
    endpoints; thread-safe."""

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
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self._segments: dict[str, Segment] = {}
        self._gateway: IPv4Interface | None = None
        self._applied: Table | None = None  # the table as last written
        self.proxy = UserlandProxy()  # the IPv6 side of published ports

    @property
    def gateway(self) -> IPv4Interface:
        if self._gateway is None:
            raise RuntimeError("BridgeDriver.setup() was not called")
        return self._gateway

    def setup(
        self, live: Sequence[Endpoint] | None = None, networks: Sequence[Segment] = ()
    ) -> IPv4Interface:
        """Make the default bridge ready (idempotent): a bridge that is already there
        keeps its address, as dockerd keeps docker0's, unless ``bip`` says otherwise.
        ``networks`` are the user networks whose bridges must be there (made again if a
        crash or a reboot took them). A restarted daemon passes the endpoints of every
        live container (``live``): they are taken back and everything else of Cove's on
        the bridges is swept, before the table is written once, so a live container's
        ports never stop answering."""
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
            self._segments[NETWORK] = Segment(NETWORK, self.name, wanted)
            for segment in networks:
                try:
                    self._make_bridge(segment)
                except errors.EngineError as exc:  # that network only: the rest still work
                    log.error("the bridge %s of network %s could not be made: %s",
                              segment.link, segment.key[:12], exc.message)
            keep = {NETWORK, *(segment.key for segment in networks)}
            for key in set(self.ipam.subnets()) - keep:
                self.ipam.remove_network(key)  # a network removed while its daemon crashed
            if live is not None:
                live = [e for e in live if e.network in self._segments]
                self.sweep_stale([e.owner for e in live if e.network == NETWORK], live)
                for endpoint in live:
                    self._take_back(endpoint)
            self._apply(force=True)
            return wanted

    def _bridge_address(self, nl: Netlink, found: list[IPv4Interface]) -> IPv4Interface:
        if self.bip or not found:
            routed = [
                net for net in nl.routed_networks() if not any(net == a.network for a in found)
            ]
            others = [s.gateway.network for s in self._segments.values() if s.key != NETWORK]
            return bridge_address(self.bip, self.pools, routed + others)
        return found[0]

    def routed_networks(self) -> list[IPv4Network]:
        """What a new network's subnet must not overlap: the host's routes (the bridges'
        own subnets among them) and every network's subnet."""
        try:
            with Netlink(self.netns) as nl:
                routed = [net for net in nl.routed_networks() if net.prefixlen > 0]
        except KernelError as exc:
            raise _system(exc) from exc
        return routed + list(self.ipam.subnets().values())

    def add_network(self, segment: Segment) -> None:
        """A user network's bridge, its gateway address and its rules; idempotent."""
        with self._lock:
            self._make_bridge(segment)
            try:
                self._apply()
            except BaseException:
                self.remove_network(segment.key)
                raise

    def _make_bridge(self, segment: Segment) -> None:
        try:
            with Netlink(self.netns) as nl:
                if nl.find(segment.link) is None:
                    nl.add_bridge(segment.link)
                found = nl.addresses(segment.link)
                for old in found:
                    if old != segment.gateway:
                        nl.delete_address(segment.link, old)
                if segment.gateway not in found:
                    nl.add_address(segment.link, segment.gateway)
                nl.set_up(segment.link)
            enable_route_localnet(segment.link, self.netns)
        except KernelError as exc:
            raise _system(exc) from exc
        self.ipam.add_network(segment.key, segment.gateway, segment.ip_range, segment.reserved)
        self._segments[segment.key] = segment

    def remove_network(self, key: str) -> None:
        """A user network's bridge, addresses and rules gone (its endpoints must be);
        idempotent."""
        with self._lock:
            segment = self._segments.pop(key, None)
            if segment is not None:
                self._delete_link(segment.link)
                self._apply()
            self.ipam.remove_network(key)

    def segment(self, key: str) -> Segment:
        with self._lock:
            found = self._segments.get(key)
            if found is None:
                raise errors.NotFound(f"network {key} not found")
            return found

    def attach(
        self,
        owner: str,
        container_netns: NetnsRef,
        requests: Sequence[PortRequest],
        wanted: IPv4Address | None = None,
        *,
        network: str = NETWORK,
        interface: str = CONTAINER_LINK,
        mac: str = "",
        default_route: bool = True,
        names: Sequence[str] = (),
        endpoint_id: str = "",
    ) -> Endpoint:
        """Connect one container to one network; all or nothing. Only the endpoint that
        gives the container its default route carries its published ports."""
        with self._lock:
            segment = self.segment(network)
            if (network, owner) in self._endpoints:
                raise errors.Conflict(
                    f"endpoint with name {owner} already exists in network {network}"
                )
            undo: list[Callable[[], object]] = []
            try:
                address = self.ipam.allocate(network, owner, wanted)
                undo.append(lambda: self.ipam.release(network, owner))
                published: list[Publication] = []
                if requests:
                    published = self.ports.allocate(owner, requests)
                    undo.append(lambda: self.ports.release(owner))
                gateway = None if segment.internal or not default_route \
                    else segment.gateway.ip
                endpoint = Endpoint(owner, address, gateway, tuple(published), network,
                                    mac, interface, tuple(names), endpoint_id)
                undo.append(lambda: self._delete_link(endpoint.host_link))
                self._plug(endpoint, segment, container_netns)
                self._endpoints[(network, owner)] = endpoint
                undo.append(lambda: self._endpoints.pop((network, owner), None))
                self._apply()
                undo.append(lambda: self._proxy_down(endpoint))
                self._proxy_up(endpoint)
                return endpoint
            except BaseException:
                for step in reversed(undo):
                    step()
                raise

    def _plug(self, endpoint: Endpoint, segment: Segment, container_netns: NetnsRef) -> None:
        try:
            with Netlink(self.netns) as nl:
                nl.add_veth(endpoint.host_link, endpoint.interface, peer_netns=container_netns,
                            peer_mac=endpoint.mac_address)
                nl.set_master(endpoint.host_link, segment.link)
                nl.set_hairpin(endpoint.host_link)
                nl.set_up(endpoint.host_link)
            # IPv4 only, as dockerd's containers on networks without IPv6 (no link-local
            # address either), set before the link is up
            disable_ipv6(["lo", endpoint.interface], container_netns)
            with Netlink(container_netns) as nl:
                nl.add_address(endpoint.interface, endpoint.address)
                nl.set_up(endpoint.interface)
                if endpoint.gateway is not None:
                    nl.add_route(DEFAULT_ROUTE, gateway=endpoint.gateway)
        except KernelError as exc:
            raise _system(exc) from exc

    def detach(self, owner: str, recorded: Endpoint | None = None,
               network: str = NETWORK) -> None:
        """Disconnect one container from one network: its veth, ports, address, rules and
        the flows its ports carried (so a port published again elsewhere gets no stale
        flow); idempotent. ``recorded`` is the endpoint its record kept, for one this
        driver no longer holds (it died while the daemon was down): its flows go too."""
        if recorded is not None:
            network = recorded.network
        with self._lock:
            self._delete_link(host_link_name(owner, network))
            endpoint = self._endpoints.pop((network, owner), None)
            known = endpoint or recorded
            if endpoint is not None:
                self._proxy_down(endpoint)
            if known is None or known.publications:
                self.ports.release(owner)
            self.ipam.release(network, owner)
            if endpoint is not None:
                self._apply()
            if known is None:
                return
            try:
                for p in known.publications:
                    if p.ipv6:  # proxied: no translated flow
                        continue
                    delete_translated_flows(
                        p.proto, p.host_port, known.address.ip, p.container_port, self.netns
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
        held = self.ipam.owners(endpoint.network).get(endpoint.address.ip)
        if held != endpoint.owner:
            self.ipam.allocate(endpoint.network, endpoint.owner, endpoint.address.ip)
        if endpoint.publications:
            self.ports.restore(endpoint.owner, endpoint.publications)
        self._endpoints[(endpoint.network, endpoint.owner)] = endpoint
        self._proxy_up(endpoint)

    def _proxy_up(self, endpoint: Endpoint) -> None:
        """The proxy serves the endpoint's IPv6 ports, from the listeners that hold them."""
        for p in endpoint.publications:
            if p.ipv6:
                listener = self.ports.listener(endpoint.owner, p).dup()
                self.proxy.adopt(p.proto, listener, endpoint.address.ip, p.container_port)

    def _proxy_down(self, endpoint: Endpoint) -> None:
        for p in endpoint.publications:
            if isinstance(p.host_address, IPv6Address):
                self.proxy.remove(p.proto, p.host_address, p.host_port)

    def sweep_stale(
        self, live_owners: Iterable[str], live_endpoints: Iterable[Endpoint] = ()
    ) -> list[str]:
        """Delete the veths (and free the addresses) of endpoints not live: those of
        ``live_owners`` on the default bridge and ``live_endpoints`` stay; the rest is
        what a crashed daemon left. Other programs' links are never touched."""
        live = {(NETWORK, owner) for owner in live_owners}
        live |= {(e.network, e.owner) for e in live_endpoints}
        keep = {host_link_name(owner, network) for network, owner in live}
        with self._lock:
            bridges = {segment.link for segment in self._segments.values()} | {self.name}
            try:
                with Netlink(self.netns) as nl:
                    stale = [
                        link
                        for link in nl.link_names()
                        if HOST_LINK.fullmatch(link)
                        and link not in keep
                        and (nl.master(link) in bridges or nl.master(link) is None)
                    ]
                    for link in stale:
                        nl.delete_link(link)
            except KernelError as exc:
                raise _system(exc) from exc
            for network in self.ipam.subnets():
                for owner in set(self.ipam.owners(network).values()):
                    if (network, owner) not in live:
                        self.ipam.release(network, owner)
            return stale

    def endpoints(self, network: str = NETWORK) -> dict[str, Endpoint]:
        """The endpoints on ``network``, by owner."""
        with self._lock:
            return {owner: e for (net, owner), e in self._endpoints.items() if net == network}

    def all_endpoints(self) -> list[Endpoint]:
        with self._lock:
            return list(self._endpoints.values())

    def close(self) -> None:
        """Let go of the ports (their sockets, the proxy's listeners and connections), as
        the daemon's end does; the bridges and rules stay, as dockerd leaves them."""
        self.proxy.close()
        self.ports.close()

    def teardown(self) -> None:
        """Remove Cove's table and the bridges (tests; the daemon keeps them, as dockerd)."""
        with self._lock:
            try:
                delete_table(self.table, netns=self.netns)
                self._applied = None
                with Netlink(self.netns) as nl:
                    for segment in self._segments.values():
                        nl.delete_link(segment.link)
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
        networks = []
        for segment in sorted(self._segments.values(), key=lambda s: (s.key != NETWORK, s.key)):
            forwards = tuple(
                PortForward(p, e.address.ip)
                for (net, _), e in sorted(self._endpoints.items()) if net == segment.key
                for p in e.publications
            )
            networks.append(BridgeNetwork(segment.link, segment.gateway.network, forwards,
                                          segment.internal))
        table = ruleset(networks, self.table)
        if table == self._applied and not force:
            return
        try:
            apply_table(table, self.netns)
        except KernelError as exc:
            self._applied = None
            raise _system(exc) from exc
        self._applied = table


DefaultBridge = BridgeDriver
"""The name older callers (and the default bridge's tests) know it by."""


def mac_for(address: IPv4Address) -> str:
    """A container's MAC from its address, as dockerd makes it (``02:42:`` and the four
    bytes): a later container given the same address has the same MAC, so the host's
    neighbour cache, still holding the earlier one's entry, stays right."""
    return "02:42:" + ":".join(f"{byte:02x}" for byte in address.packed)
