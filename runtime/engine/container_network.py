"""Containers on networks: what create, start, exit, daemon start and the ``/networks``
service call.

A container is attached to its networks (the default bridge for the modes ``default`` and
``bridge``, else the user network its mode names, and those ``network connect`` added:
``eth0``, ``eth1``…, the first giving the default route and carrying the published
ports) between the shim's prepare and its ``go`` (the init is in its network namespace,
the user's process has not run yet, as libnetwork's prestart hook), and detached when it
exits, however it exits. Its endpoints (address, ports) are kept in its record, so a
restarted daemon takes back the endpoints of the containers still running before it
serves, and sweeps what a crashed daemon left of the others.

``--bridge none`` (daemon.json ``"bridge": "none"``) runs without a default bridge:
containers get loopback only, and a published port is refused rather than ignored. A
bridge the kernel cannot make (no bridge or nftables support) is logged and gives the same,
the refusal saying why: the engine still serves.
``--network none`` gives loopback only; ``--network host`` keeps the host's namespace.

Every port published right now is listed in one file, ``<exec-root>/network/ports.json``
(written at each change: write, fsync, rename), for what forwards them further (the VM's
forwarder to the desktop host).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cove.runtime import errors
from cove.runtime.containers.record import Container, now_rfc3339
from cove.runtime.engine import create_config, network_settings
from cove.runtime.engine.container_dns import ContainerDns
from cove.runtime.engine.container_endpoints import (
    CONTAINER_LINK_PREFIX,
    NEXT_INTERFACE_KEY,
    ipam_asked,
    ipv4_address,
    keep_endpoints,
    mac_address,
    recorded_endpoints,
)
from cove.runtime.engine.network_config import DISABLED, NetworkConfig
from cove.runtime.network import ports
from cove.runtime.network.records import NetworkRecord, NetworkStore
from cove.runtime.store.layout import Layout, atomic_write_json

if TYPE_CHECKING:
    from cove.runtime.network.bridge import BridgeDriver, Endpoint, Segment

log = logging.getLogger(__name__)
BRIDGED_MODES = ("", "default", "bridge")
PORTS_FILE = "ports.json"


def bridged(host_config: dict[str, Any]) -> bool:
    return (host_config.get("NetworkMode") or "") in BRIDGED_MODES


def joins_networks(host_config: dict[str, Any]) -> bool:
    """Whether the container has a namespace of its own with endpoints on networks: the
    default bridge or user networks (not none, host, or another container's)."""
    mode = host_config.get("NetworkMode") or ""
    return mode not in ("none", "host") and not mode.startswith("container:")


class ContainerNetworks:
    """The networks of this daemon (the default bridge, none with ``--bridge none``, and
    the user networks) and its containers' endpoints on them; thread-safe (the driver
    locks)."""

    def __init__(self, layout: Layout, config: NetworkConfig = DISABLED) -> None:
        self.layout, self.config = layout, config
        self.store = NetworkStore(layout.networks_state)
        self.store.ensure_predefined(now_rfc3339())
        self.publish: Callable[[str, str, str, dict[str, str]], None] | None = None
        """Set by the engine: publishes an event (type, action, actor id, attributes)."""
        self.name_of: Callable[[str], str | None] = lambda owner: None
        """Set by the engine: a container's name now (a rename changes what resolves)."""
        self._bridge: BridgeDriver | None = None
        self.dns = ContainerDns(self.lookup, self.reverse_lookup, self._networks_of)
        # set once the bridge is set up (or failed, or there is none): setup runs on a
        # thread of its own, and whatever needs the bridge waits for it
        self._ready = threading.Event()
        if not config.enabled:  # nothing to wait for (and setup may never be called)
            self._ready.set()
        self.unavailable = (
            "published ports need the default bridge, and this daemon runs "
            "without one (--bridge none)"
        )
        if config.enabled:  # pyroute2 and the allocator only for a daemon with a bridge
            from cove.runtime.network.bridge import BRIDGE, BridgeDriver
            from cove.runtime.network.ipam import Ipam
            from cove.runtime.network.port_allocator import PortAllocator

            self._bridge = BridgeDriver(
                Ipam(layout.ipam_state),
                PortAllocator(),
                bip=config.bip,
                pools=config.pools,
                name=config.bridge or BRIDGE,
            )

    @property
    def bridge(self) -> BridgeDriver | None:
        """The bridge driver, once set up (this waits while the setup runs); None without
        one."""
        self._ready.wait()
        return self._bridge

    @property
    def enabled(self) -> bool:
        return self.bridge is not None

    def driver(self) -> BridgeDriver:
        """The bridge driver, or the refusal of what needs it."""
        bridge = self.bridge
        if bridge is None:
            raise errors.InvalidParameter(
                "user-defined networks need the bridge driver, and this daemon runs without "
                "it: " + self.unavailable)
        return bridge

    # networks

    def networks(self) -> list[NetworkRecord]:
        """Every network this daemon shows: the bridge driver's (the default bridge and
        the user networks) only when it has one, so a container on a user network kept
        from a daemon with a bridge gets dockerd's 404 at start, never loopback only."""
        bridged = self.bridge is not None
        return [r for r in self.store.all() if bridged or not r.bridged]

    def find(self, ref: str) -> NetworkRecord:
        return self.store.find(ref, self.networks())

    def key(self, record: NetworkRecord) -> str:
        """The driver's name for a network: "bridge" for the default one, else its ID."""
        from cove.runtime.network.bridge import NETWORK

        return NETWORK if record.predefined else record.id

    def endpoints_on(self, record: NetworkRecord) -> dict[str, Endpoint]:
        """The live endpoints on a network, by container ID."""
        if not record.bridged or self.bridge is None:
            return {}
        return self.bridge.endpoints(self.key(record))

    # daemon start

    def setup(self, live: Sequence[Container]) -> None:
        """At daemon start: the bridges, and the endpoints of ``live`` (containers whose
        process outlived the previous daemon) taken back. It runs on a thread of its own,
        so the API answers meanwhile (``nft`` and netlink take seconds in an emulated VM);
        every use of the bridge waits for it, so no container is attached before."""
        if self._bridge is None:
            self._ready.set()
            return
        from cove.runtime.network.bridge import segment_of

        endpoints = [e for c in live for e in recorded_endpoints(c).values()]
        segments = [segment_of(r) for r in self.store.all()
                    if r.bridged and not r.predefined and r.pools]
        threading.Thread(target=self._setup, args=(endpoints, segments, list(live)),
                         name="bridge-setup", daemon=True).start()

    def _setup(self, endpoints: list[Endpoint], segments: list[Segment],
               live: list[Container]) -> None:
        assert self._bridge is not None
        try:
            self._bridge.setup(live=endpoints, networks=segments)
        except errors.EngineError as exc:
            # a kernel without bridges or nftables (a small VM): the engine still serves,
            # with loopback only, and a published port is refused with this reason
            log.error(
                "the default bridge could not be set up, containers get loopback only: %s",
                exc.message,
            )
            self.unavailable = f"the default bridge could not be set up: {exc.message}"
            self._bridge.close()
            self._bridge = None
            return
        finally:
            self._ready.set()
        self._write_ports()
        for container in live:  # their resolver, as before the restart
            pid = int(container.state.get("Pid") or 0)
            if pid:
                try:
                    self._sync_dns(container, pid)
                except errors.EngineError as exc:
                    log.warning("no embedded DNS for %s: %s", container.id[:12], exc.message)
        self._warn_of_forward_drops()

    def _warn_of_forward_drops(self) -> None:
        """Another program's forward chain that drops by default (Docker's iptables sets
        one) drops the bridge's forwarded traffic too; Cove never edits another's rules,
        so it says so instead. Published ports on the host's own addresses, 127.0.0.1
        included, still answer the host itself (that traffic is never forwarded)."""
        from cove.runtime.linux.nftables import forward_drop_chains
        from cove.runtime.linux.syscalls import KernelError

        assert self.bridge is not None
        try:
            chains = forward_drop_chains(self.bridge.netns)
        except KernelError as exc:
            log.warning("could not list the forward chains: %s", exc)
            return
        for chain in chains:
            log.warning(
                "the forward chain %s drops by default: containers on %s cannot reach the "
                "outside, and other machines cannot reach their published ports, until it "
                "accepts the bridge's traffic (for Docker's: iptables -I DOCKER-USER -i %s "
                "-j ACCEPT; iptables -I DOCKER-USER -o %s -j ACCEPT)",
                chain,
                self.bridge.name,
                self.bridge.name,
                self.bridge.name,
            )

    # container create

    def check_create(self, config: dict[str, Any], host_config: dict[str, Any]) -> list[str]:
        """Published ports against the network mode and this daemon (their syntax was
        checked with the rest of the request); the warnings create returns."""
        publishing = bool(
            ports.port_requests(
                host_config.get("PortBindings"),
                config.get("ExposedPorts"),
                bool(host_config.get("PublishAllPorts")),
            )
        )
        mode = host_config.get("NetworkMode") or ""
        if config.get("MacAddress") and bridged(host_config) and self.bridge is None:
            raise errors.InvalidParameter(
                "--mac-address needs the default bridge, and this daemon runs without one "
                "(--bridge none)")
        if not publishing:
            return []
        if mode == "host":  # dockerd's warning: kept in HostConfig, the ports are the host's
            return ["Published ports are discarded when using host network mode"]
        if mode.startswith("container:"):
            raise errors.InvalidParameter(
                "conflicting options: port publishing and the container type network mode"
            )
        if mode == "none":
            raise errors.InvalidParameter(
                "conflicting options: port publishing and --network none (the container "
                "has loopback only)"
            )
        if joins_networks(host_config) and self.bridge is None:
            raise errors.InvalidParameter(self.unavailable)
        return []

    def host_gateway(self) -> str | None:
        """The host as containers reach it (``--add-host x:host-gateway``): the bridge's
        address; None without a bridge."""
        if self.bridge is None:
            return None
        return str(self.bridge.gateway.ip)

    def created_settings(self, host_config: dict[str, Any],
                         networking: Any = None) -> dict[str, Any]:
        """``NetworkSettings`` of a new container: on its network (the default bridge or
        the user network its mode names, with the endpoint settings asked for), with no
        address until it starts (as dockerd shows it), or on none at all."""
        settings: dict[str, Any] = {
            "Bridge": "",
            "SandboxID": "",
            "Ports": {},
            "Networks": {},
            "IPAddress": "",
            "Gateway": "",
            "MacAddress": "",
        }
        asked = ((networking or {}).get("EndpointsConfig") or {}) \
            if isinstance(networking, dict) else {}
        mode = host_config.get("NetworkMode") or ""
        if mode in ("host", "none"):  # dockerd lists these too (an endpoint once started)
            settings["Networks"][mode] = network_settings.network_entry()
            return settings
        if not joins_networks(host_config):
            return settings
        if bridged(host_config):
            if self.bridge is None:  # --bridge none: loopback only, nothing else asked
                for endpoint in asked.values():
                    if ((endpoint or {}).get("IPAMConfig") or {}).get("IPv4Address"):
                        raise errors.InvalidParameter(
                            "user specified IP address is supported on user defined "
                            "networks only")
                    if (endpoint or {}).get("Aliases"):
                        raise errors.InvalidParameter(
                            "network-scoped alias is supported only for containers in "
                            "user defined networks")
                return settings
            name = "bridge"
        else:
            try:
                name = self.find(mode).name
            except errors.NotFound:
                name = mode  # dockerd: kept as given, a 404 at start
        endpoint = asked.get(mode) or asked.get(name) or \
            (next(iter(asked.values())) if len(asked) == 1 else None) or {}
        settings["Networks"][name] = network_settings.network_entry(
            aliases=list(endpoint.get("Aliases") or []) or None,
            ipam=ipam_asked(endpoint))
        return settings

    # container start and exit

    def check_exists(self, container: Container) -> None:
        """Every network the container is on must exist when it starts (dockerd's 404)."""
        if not joins_networks(container.host_config):
            return
        with container.lock:
            names = list((container.data.get("NetworkSettings") or {}).get("Networks") or {})
        for name in names:
            if name == "bridge" and bridged(container.host_config):
                continue
            self.find(name)

    def _plan(self, container: Container) -> list[tuple[str, NetworkRecord, dict[str, Any]]]:
        """The networks to join, the one giving the default route first (eth0)."""
        with container.lock:
            networks = dict((container.data.get("NetworkSettings") or {}).get("Networks")
                            or {})
        mode = container.host_config.get("NetworkMode") or ""
        primary = "bridge" if bridged(container.host_config) else mode
        plan = []
        for name, entry in networks.items():
            if name == "bridge" and self.bridge is None:
                continue  # --bridge none: loopback only
            record = self.find(name)
            if not record.bridged:
                continue
            plan.append((record.name, record, dict(entry or {})))

        def secondary(record: NetworkRecord) -> bool:
            return primary not in (record.name, record.id) and not (
                len(primary) >= 12 and record.id.startswith(primary))

        plan.sort(key=lambda item: (secondary(item[1]), item[0]))
        return plan

    def attach(self, container: Container, pid: int) -> None:
        """Put a prepared container (its init ``pid`` waiting for ``go``) on its networks,
        and its endpoints and NetworkSettings in its record (saved by the caller);
        nothing for a container in none, host or another's mode. All or nothing."""
        host = container.host_config
        if not joins_networks(host):
            self._predefined_endpoint(container, host.get("NetworkMode") or "", True)
            return
        requests = ports.port_requests(
            host.get("PortBindings"),
            container.config.get("ExposedPorts"),
            bool(host.get("PublishAllPorts")),
        )
        if self.bridge is None:
            if requests:
                raise errors.InvalidParameter(self.unavailable)
            return
        plan = self._plan(container)
        # the default route (and the published ports) through the first network that has
        # a way out: the mode's, unless it is internal (as libnetwork picks its gateway)
        routed = next((i for i, (_, record, _) in enumerate(plan) if not record.internal), 0)
        made: dict[str, Endpoint] = {}
        entries: dict[str, dict[str, Any]] = {}
        try:
            for index, (name, record, entry) in enumerate(plan):
                endpoint, entries[name] = self._attach_one(
                    container, pid, record, entry, f"{CONTAINER_LINK_PREFIX}{index}",
                    requests if index == routed else [], primary=index == 0,
                    default_route=index == routed)
                made[endpoint.network] = endpoint
        except BaseException:
            for endpoint in made.values():
                self.bridge.detach(container.id, endpoint)
            raise
        try:
            self._sync_dns(container, pid, [record for _, record, _ in plan])
        except BaseException:
            for endpoint in made.values():
                self.bridge.detach(container.id, endpoint)
            raise
        primary = next((e for e in made.values() if e.publications), None) or \
            next(iter(made.values()), None)
        with container.lock:
            keep_endpoints(container, made)
            container.private[NEXT_INTERFACE_KEY] = len(made)
            container.data["NetworkSettings"] = network_settings.running_settings(
                list(container.config.get("ExposedPorts") or {}), entries, primary, pid)
        if primary is not None and primary.publications:
            self._write_ports()
        self._write_hosts(container, list(made.values()))
        for _name, record, _ in plan:
            self._event("connect", record, container.id)

    def _attach_one(self, container: Container, pid: int, record: NetworkRecord,
                    entry: dict[str, Any], interface: str, requests: Sequence[Any],
                    primary: bool, mac: str = "",
                    default_route: bool | None = None) -> tuple[Endpoint, dict[str, Any]]:
        from cove.runtime.network.port_allocator import endpoint_error

        assert self.bridge is not None
        aliases, wanted = self._endpoint_settings(container, record, entry)
        short = container.id[:12]
        names = [container.name.lstrip("/"), *aliases, short] if not record.predefined else []
        mac = mac or (container.config.get("MacAddress") or "" if primary else "")
        endpoint_id = secrets.token_hex(32)
        try:
            endpoint = self.bridge.attach(
                container.id, pid, requests, wanted, network=self.key(record),
                interface=interface, mac=mac_address(mac) if mac else "", default_route=primary if default_route is None else default_route,
                names=names, endpoint_id=endpoint_id)
        except errors.SystemError_ as exc:
            if not any(word in exc.message for word in ("allocated", "address already in use")):
                raise
            raise endpoint_error(container.name, endpoint_id, exc) from exc
        shown = None if record.predefined else [*aliases, short]
        gateway = "" if record.internal else str(record.pools[0].gateway) if record.pools \
            else str(self.bridge.segment(self.key(record)).gateway.ip)
        return endpoint, network_settings.endpoint_entry(entry, record.id, endpoint, shown,
                                                         gateway)

    def _endpoint_settings(self, container: Container, record: NetworkRecord,
                           entry: dict[str, Any]) -> tuple[list[str], IPv4Address | None]:
        """The user's aliases and the address asked for, checked as dockerd checks them
        (``--ip`` and aliases only on user networks, ``--ip`` only where the user chose
        the subnet)."""
        short = container.id[:12]
        aliases = [a for a in entry.get("Aliases") or [] if a != short]
        text = (entry.get("IPAMConfig") or {}).get("IPv4Address") or ""
        if record.predefined:
            if text:
                raise errors.InvalidParameter(
                    "user specified IP address is supported on user defined networks only")
            if aliases:
                raise errors.InvalidParameter(
                    "network-scoped alias is supported only for containers in user "
                    "defined networks")
        elif text and not record.user_subnet:
            raise errors.InvalidParameter(
                "user specified IP address is supported only when connecting to networks "
                "with user configured subnets")
        return aliases, ipv4_address(text) if text else None

    def _write_hosts(self, container: Container, endpoints: list[Endpoint]) -> None:
        """/etc/hosts with a line of the container's own name for each of its endpoints,
        the default route's first, as libnetwork adds one at each join."""
        name = (container.config.get("Hostname") or "",
                container.config.get("Domainname") or "")
        own = (str(endpoints[0].address.ip), *name) if endpoints else None
        text = create_config.hosts_file(container.host_config, own, self.host_gateway())
        if endpoints:
            line = text.rstrip("\n").rsplit("\n", 1)[-1]
            names = line.split("\t", 1)[1]
            text += "".join(f"{e.address.ip}\t{names}\n" for e in endpoints[1:])
        _write_in_place(self.layout.container_hosts(container.id), text)

    def detach(self, container: Container) -> None:
        """Take the container off its networks (its veths, addresses, ports, rules,
        flows); safe to repeat, and for a container that was never on one."""
        if not joins_networks(container.host_config):
            self._predefined_endpoint(
                container, container.host_config.get("NetworkMode") or "", False)
            return
        if self.bridge is None:
            return
        self.dns.stop(container.id)
        had = recorded_endpoints(container)
        for endpoint in had.values():
            self.bridge.detach(container.id, endpoint)
        with container.lock:
            keep_endpoints(container, {})
            settings = container.data.setdefault("NetworkSettings", {})
            settings.update(
                IPAddress="", IPPrefixLen=0, Gateway="", EndpointID="", Ports={},
                SandboxKey="", MacAddress=""
            )
            networks = settings.get("Networks") or {}
            for name in list(networks):
                networks[name] = network_settings.cleared(networks[name] or {})
        if any(e.publications for e in had.values()):
            self._write_ports()
        for endpoint in had.values():
            record = self._record_for_key(endpoint.network)
            if record is not None:
                self._event("disconnect", record, container.id)

    def _predefined_endpoint(self, container: Container, mode: str, running: bool) -> None:
        """The ``host`` or ``none`` entry of a container in that mode: an endpoint ID and
        the network's ID while it runs, as dockerd shows them."""
        if mode not in ("host", "none"):
            return
        record = self.store.by_name(mode)
        with container.lock:
            networks = container.data.setdefault("NetworkSettings", {}).setdefault(
                "Networks", {})
            entry = networks.get(mode)
            if entry is None or record is None:
                return
            entry["NetworkID"] = record.id
            entry["EndpointID"] = secrets.token_hex(32) if running else ""

    def _record_for_key(self, key: str) -> NetworkRecord | None:
        from cove.runtime.network.bridge import NETWORK

        for record in self.store.all():
            if (record.predefined and record.name == "bridge" and key == NETWORK) \
                    or record.id == key:
                return record
        return None

    # connect and disconnect

    def connect(self, container: Container, record: NetworkRecord | None, ref: str,
                config: dict[str, Any], pid: int | None) -> None:
        """``POST /networks/{id}/connect``: a running container (``pid``) gets a new
        interface live; a stopped one has the network recorded for its next start, as
        asked (dockerd records even a network it cannot find then: ``record`` None, and
        the start fails)."""
        if pid is None or self.bridge is None:
            entry = network_settings.network_entry()
            for key in ("IPAMConfig", "Links", "Aliases", "DriverOpts", "MacAddress"):
                if key in config:
                    entry[key] = config[key]
            name = ref
            if record is not None:
                self._check_mode(container, record)
                aliases, _ = self._endpoint_settings(container, record, entry)
                if not record.predefined:
                    entry["Aliases"] = [*aliases, container.id[:12]]
                name = record.name
            with container.lock:
                container.data.setdefault("NetworkSettings", {}).setdefault(
                    "Networks", {})[name] = entry
            return
        assert record is not None
        self._check_mode(container, record)
        with container.lock:
            networks = container.data.setdefault("NetworkSettings", {}).setdefault(
                "Networks", {})
            connected = record.name in networks
        if connected or self.key(record) in recorded_endpoints(container):
            raise errors.Forbidden(
                f"endpoint with name {container.name} already exists in network "
                f"{record.name}")
        entry = {key: config.get(key) for key in ("IPAMConfig", "Links", "Aliases",
                                                  "DriverOpts")}
        had = recorded_endpoints(container)
        used = {e.interface for e in had.values()}
        with container.lock:  # never a name used before in this run (libnetwork's counter)
            index = int(container.private.get(NEXT_INTERFACE_KEY) or len(used))
        while f"{CONTAINER_LINK_PREFIX}{index}" in used:
            index += 1
        endpoint, shown = self._attach_one(
            container, pid, record, entry, f"{CONTAINER_LINK_PREFIX}{index}", [],
            primary=False, mac=str(config.get("MacAddress") or ""),
            # the default route only when none gives one yet (all internal, or none)
            default_route=all(e.gateway is None for e in had.values()))
        with container.lock:
            had[endpoint.network] = endpoint
            keep_endpoints(container, had)
            container.private[NEXT_INTERFACE_KEY] = index + 1
            networks[record.name] = shown
            network_settings.top_level(container.data["NetworkSettings"])
        self._write_hosts(container, sorted(had.values(), key=lambda e: e.interface))
        self._sync_dns(container, pid)
        self._event("connect", record, container.id)

    @staticmethod
    def _check_mode(container: Container, record: NetworkRecord) -> None:
        """What a container's network mode rules out (dockerd's words)."""
        mode = container.host_config.get("NetworkMode") or ""
        if mode.startswith("container:"):
            raise errors.InvalidParameter(
                "container sharing network namespace with another container or host cannot "
                "be connected to any other network")
        if mode == "host" or record.driver == "host":
            raise errors.InvalidParameter(
                "container cannot be disconnected from host network or connected to host "
                "network")
        if mode == "none" or record.driver == "null":
            raise errors.InvalidParameter(
                "container cannot be connected to multiple networks with one of the "
                "networks in private (none) mode")

    def disconnect(self, container: Container, record: NetworkRecord, running: bool) -> None:
        """``POST /networks/{id}/disconnect``: the container's endpoint there goes (live
        for a running one), and the network from its record."""
        if running and (container.host_config.get("NetworkMode") or "") == "host" \
                and record.driver == "host":
            raise errors.InvalidParameter(
                "container cannot be disconnected from host network or connected to host "
                "network")
        with container.lock:
            networks = container.data.setdefault("NetworkSettings", {}).setdefault(
                "Networks", {})
            known = record.name in networks
        had = recorded_endpoints(container)
        endpoint = had.get(self.key(record))
        if not known and endpoint is None:
            where = "network" if running else "the network"
            raise errors.SystemError_(
                f"container {container.id} is not connected to {where} {record.name}")
        if endpoint is not None and self.bridge is not None:
            self.bridge.detach(container.id, endpoint)
            del had[endpoint.network]
        with container.lock:
            keep_endpoints(container, had)
            networks.pop(record.name, None)
            network_settings.top_level(container.data["NetworkSettings"])
        if endpoint is not None:
            self._write_hosts(container, sorted(had.values(), key=lambda e: e.interface))
            pid = int(container.state.get("Pid") or 0)
            if pid:
                self._sync_dns(container, pid)
            if endpoint.publications:
                self._write_ports()
            self._event("disconnect", record, container.id)

    def forget(self, container: Container, name: str) -> bool:
        """Drop a network that no longer exists from a stopped container's record
        (``disconnect --force``); whether it was there."""
        with container.lock:
            networks = (container.data.get("NetworkSettings") or {}).get("Networks") or {}
            return networks.pop(name, None) is not None

    def _event(self, action: str, record: NetworkRecord, container_id: str) -> None:
        if self.publish is not None:
            self.publish("network", action, record.id,
                         {"container": container_id, "name": record.name,
                          "type": record.driver})

    # for builds and the embedded DNS

    def attach_default(self, owner: str, pid: int) -> Endpoint | None:
        """Put a process that is not a container (a build's RUN step: ``owner`` names
        it, ``pid`` is in its network namespace) on the default bridge, with an address,
        a default route and no published ports; None without a default bridge (the step
        gets loopback only). Undo with ``detach_default``."""
        if self.bridge is None:
            return None
        return self.bridge.attach(owner, pid, [])

    def detach_default(self, owner: str) -> None:
        """Take ``owner`` off the default bridge; idempotent."""
        if self.bridge is not None:
            self.bridge.detach(owner)

    def _networks_of(self, owner: str) -> list[NetworkRecord]:
        """The networks ``owner`` has an endpoint on now."""
        if self.bridge is None:
            return []
        keys = {e.network for e in self.bridge.all_endpoints() if e.owner == owner}
        return [r for r in (self._record_for_key(k) for k in sorted(keys)) if r is not None]

    def _sync_dns(self, container: Container, pid: int,
                  records: Sequence[NetworkRecord] | None = None) -> None:
        """The embedded DNS of ``container`` for the networks it is on (``records``, else
        those of its endpoints now)."""
        if records is None:
            records = self._networks_of(container.id)
        self.dns.sync(container, pid, records, self.layout.container_resolv(container.id))

    def lookup(self, owner: str, name: str) -> list[IPv4Address]:
        """What ``name`` resolves to for container ``owner``: the addresses of the
        containers sharing a user network with it whose name, alias or short ID it is
        (case-insensitive, as DNS). The default bridge has no names, as in Docker."""
        from cove.runtime.network.bridge import NETWORK

        if self.bridge is None:
            return []
        endpoints = self.bridge.all_endpoints()
        mine = {e.network for e in endpoints if e.owner == owner and e.network != NETWORK}
        wanted = name.rstrip(".").casefold()
        found: list[IPv4Address] = []
        for endpoint in endpoints:
            if endpoint.network in mine and wanted in self._names(endpoint):
                if endpoint.address.ip not in found:
                    found.append(endpoint.address.ip)
        return found

    def _names(self, endpoint: Endpoint) -> set[str]:
        """What an endpoint resolves by: its container's name now (the one it had when
        attached for what is no container), its aliases and short ID."""
        if not endpoint.names:
            return set()
        current = self.name_of(endpoint.owner) or endpoint.names[0]
        return {n.casefold() for n in (current, *endpoint.names[1:])}

    def reverse_lookup(self, owner: str, address: IPv4Address) -> str | None:
        """``name.network`` of the container at ``address`` on one of ``owner``'s user
        networks (a PTR answer), else None."""
        from cove.runtime.network.bridge import NETWORK

        if self.bridge is None:
            return None
        endpoints = self.bridge.all_endpoints()
        mine = {e.network for e in endpoints if e.owner == owner and e.network != NETWORK}
        for endpoint in endpoints:
            if endpoint.network in mine and endpoint.address.ip == address and endpoint.names:
                record = self._record_for_key(endpoint.network)
                if record is not None:
                    name = self.name_of(endpoint.owner) or endpoint.names[0]
                    return f"{name}.{record.name}"
        return None

    def publications(self) -> dict[str, list[ports.Publication]]:
        """Every container's published ports now, by container ID."""
        if self.bridge is None:
            return {}
        return self.bridge.ports.publications()

    def _write_ports(self) -> None:
        listed = [
            {
                "Container": owner,
                "Proto": p.proto,
                "HostIp": str(p.host_address),
                "HostPort": p.host_port,
                "ContainerPort": p.container_port,
            }
            for owner, published in sorted(self.publications().items())
            for p in published
        ]
        directory = self.layout.exec_root / "network"
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_json(directory / PORTS_FILE, {"Ports": listed})


def _write_in_place(path: Path, text: str) -> None:
    """Rewrite a file the container has bind-mounted already: the same inode (a rename
    would leave the container the old one). Not synced: it is written again at each
    start."""
    with open(path, "w") as f:
        f.write(text)
