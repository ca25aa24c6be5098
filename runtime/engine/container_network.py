"""Containers on the default bridge: what create, start, exit and daemon start call.

A container whose network mode is ``default`` or ``bridge`` is attached to the default
bridge between the shim's prepare and its ``go`` (the init is in its network namespace,
the user's process has not run yet, as libnetwork's prestart hook), and detached when it
exits, however it exits. Its endpoint (address, ports) is kept in its record, so a
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

import json
import logging
import os
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cove.runtime import errors
from cove.runtime.containers.record import Container
from cove.runtime.engine import create_config
from cove.runtime.network import ports
from cove.runtime.network.pools import (
    AddressPool,
    parse_address_pools,
    parse_bip,
    parse_pool_flag,
)
from cove.runtime.store.layout import Layout, atomic_write_json

if TYPE_CHECKING:
    from cove.runtime.network.bridge import DefaultBridge, Endpoint

log = logging.getLogger(__name__)
NO_BRIDGE = "none"
BRIDGED_MODES = ("", "default", "bridge")
ENDPOINT_KEY = "endpoint"
PORTS_FILE = "ports.json"


@dataclass(frozen=True)
class NetworkConfig:
    """The daemon's network settings: dockerd's ``bridge``, ``bip`` and
    ``default-address-pools`` (flags over daemon.json)."""

    bridge: str = ""
    bip: str | None = None
    pools: tuple[AddressPool, ...] | None = None

    @property
    def enabled(self) -> bool:
        return self.bridge != NO_BRIDGE


DISABLED = NetworkConfig(bridge=NO_BRIDGE)


def load_config(
    data_root: str | os.PathLike[str],
    config_file: str | None,
    bridge: str | None,
    bip: str | None,
    pool_flags: Sequence[str],
) -> NetworkConfig:
    """The settings from ``config_file`` (else ``<data-root>/daemon.json``) and the flags;
    a bad value is an error at start, as dockerd's."""
    path = Path(config_file) if config_file else Path(data_root) / "daemon.json"
    settings: dict[str, Any] = {}
    if path.exists():
        try:
            settings = json.loads(path.read_text() or "{}")
        except ValueError as exc:
            raise errors.InvalidParameter(
                f"invalid daemon configuration file {path}: {exc}"
            ) from exc
    name = bridge if bridge is not None else settings.get("bridge", "")
    if not isinstance(name, str) or len(name) > 15 or "/" in name:
        raise errors.InvalidParameter(f"invalid bridge name: {name!r}")
    address = bip if bip is not None else settings.get("bip")
    if address is not None:
        if not isinstance(address, str):
            raise errors.InvalidParameter(f"invalid bip: {address!r}")
        parse_bip(address)
    pools: tuple[AddressPool, ...] | None = None
    if pool_flags:
        pools = tuple(parse_pool_flag(text) for text in pool_flags)
    elif "default-address-pools" in settings:
        pools = parse_address_pools(settings["default-address-pools"])
    if name == NO_BRIDGE and address:
        raise errors.InvalidParameter(
            "You specified -b & --bip, mutually exclusive options. Please specify only one"
        )
    return NetworkConfig(name, address or None, pools)


def bridged(host_config: dict[str, Any]) -> bool:
    return (host_config.get("NetworkMode") or "") in BRIDGED_MODES


class ContainerNetworks:
    """The default bridge of this daemon (none with ``--bridge none``) and its containers'
    endpoints; thread-safe (the bridge locks)."""

    def __init__(self, layout: Layout, config: NetworkConfig = DISABLED) -> None:
        self.layout, self.config = layout, config
        self._bridge: DefaultBridge | None = None
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
            from cove.runtime.network.bridge import BRIDGE, DefaultBridge
            from cove.runtime.network.ipam import Ipam
            from cove.runtime.network.port_allocator import PortAllocator

            self._bridge = DefaultBridge(
                Ipam(layout.ipam_state),
                PortAllocator(),
                bip=config.bip,
                pools=config.pools,
                name=config.bridge or BRIDGE,
            )

    @property
    def bridge(self) -> DefaultBridge | None:
        """The default bridge, once set up (this waits while the setup runs); None without
        one."""
        self._ready.wait()
        return self._bridge

    @property
    def enabled(self) -> bool:
        return self.bridge is not None

    def setup(self, live: Sequence[Container]) -> None:
        """At daemon start: the bridge, and the endpoints of ``live`` (containers whose
        process outlived the previous daemon) taken back. It runs on a thread of its own,
        so the API answers meanwhile (``nft`` and netlink take seconds in an emulated VM);
        every use of the bridge waits for it, so no container is attached before."""
        if self._bridge is None:
            self._ready.set()
            return
        from cove.runtime.network.bridge import Endpoint

        endpoints = [
            Endpoint.from_json(c.private[ENDPOINT_KEY]) for c in live if c.private.get(ENDPOINT_KEY)
        ]
        threading.Thread(target=self._setup, args=(endpoints,), name="bridge-setup",
                         daemon=True).start()

    def _setup(self, endpoints: list[Endpoint]) -> None:
        assert self._bridge is not None
        try:
            self._bridge.setup(live=endpoints)
        except errors.EngineError as exc:
            # a kernel without bridges or nftables (a small VM): the engine still serves,
            # with loopback only, and a published port is refused with this reason
            log.error(
                "the default bridge could not be set up, containers get loopback only: %s",
                exc.message,
            )
            self.unavailable = f"the default bridge could not be set up: {exc.message}"
            self._bridge.ports.close()
            self._bridge = None
            return
        finally:
            self._ready.set()
        self._write_ports()
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
        if bridged(host_config) and self.bridge is None:
            raise errors.InvalidParameter(self.unavailable)
        return []

    def host_gateway(self) -> str | None:
        """The host as containers reach it (``--add-host x:host-gateway``): the bridge's
        address; None without a bridge."""
        if self.bridge is None:
            return None
        return str(self.bridge.gateway.ip)

    def created_settings(self, host_config: dict[str, Any]) -> dict[str, Any]:
        """``NetworkSettings`` of a new container: on the bridge network, with no address
        until it starts (as dockerd shows it), or on none at all."""
        settings: dict[str, Any] = {
            "Bridge": "",
            "SandboxID": "",
            "Ports": {},
            "Networks": {},
            "IPAddress": "",
            "Gateway": "",
            "MacAddress": "",
        }
        if self.bridge is not None and bridged(host_config):
            settings["Networks"]["bridge"] = _network_entry("", "", 0, "")
        return settings

    def attach(self, container: Container, pid: int) -> None:
        """Put a prepared container (its init ``pid`` waiting for ``go``) on the bridge, and
        its endpoint and NetworkSettings in its record (saved by the caller); nothing for a
        container that is not bridged. All or nothing."""
        host = container.host_config
        if not bridged(host):
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
        from cove.runtime.network.port_allocator import endpoint_error

        endpoint_id = secrets.token_hex(32)
        try:
            endpoint = self.bridge.attach(container.id, pid, requests)
        except errors.SystemError_ as exc:
            if not any(word in exc.message for word in ("allocated", "address already in use")):
                raise
            raise endpoint_error(container.name, endpoint_id, exc) from exc
        with container.lock:
            container.private[ENDPOINT_KEY] = endpoint.to_json()
            container.data["NetworkSettings"] = _settings(container, endpoint, endpoint_id, pid)
        if endpoint.publications:
            self._write_ports()
        _write_in_place(
            self.layout.container_hosts(container.id),
            create_config.hosts_file(
                host,
                (
                    str(endpoint.address.ip),
                    container.config.get("Hostname") or "",
                    container.config.get("Domainname") or "",
                ),
                self.host_gateway(),
            ),
        )

    def detach(self, container: Container) -> None:
        """Take the container off the bridge (its veth, address, ports, rules, flows);
        safe to repeat, and for a container that was never on it."""
        if self.bridge is None or not bridged(container.host_config):
            return
        from cove.runtime.network.bridge import Endpoint

        with container.lock:
            had = container.private.get(ENDPOINT_KEY)
        self.bridge.detach(container.id, Endpoint.from_json(had) if had else None)
        with container.lock:
            container.private.pop(ENDPOINT_KEY, None)
            settings = container.data.setdefault("NetworkSettings", {})
            settings.update(
                IPAddress="", IPPrefixLen=0, Gateway="", EndpointID="", Ports={}, SandboxKey=""
            )
            for network in (settings.get("Networks") or {}).values():
                network.update(IPAddress="", IPPrefixLen=0, Gateway="", EndpointID="")
        if had is not None and had.get("Ports"):
            self._write_ports()

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


def _settings(
    container: Container, endpoint: Endpoint, endpoint_id: str, pid: int
) -> dict[str, Any]:
    """``NetworkSettings`` of a container on the bridge, as dockerd's inspect has them."""
    address, gateway = endpoint.address, str(endpoint.gateway)
    exposed = list(container.config.get("ExposedPorts") or {})
    network = _network_entry(endpoint_id, gateway, address.network.prefixlen, str(address.ip))
    return {
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports.network_settings_ports(exposed, endpoint.publications),
        "SandboxKey": f"/proc/{pid}/ns/net",
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": endpoint_id,
        "Gateway": gateway,
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": str(address.ip),
        "IPPrefixLen": address.network.prefixlen,
        "IPv6Gateway": "",
        "MacAddress": "",
        "Networks": {"bridge": network},
    }


def _network_entry(endpoint_id: str, gateway: str, prefix: int, address: str) -> dict[str, Any]:
    """One entry of ``NetworkSettings.Networks``."""
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": None,
        "NetworkID": "",
        "EndpointID": endpoint_id,
        "Gateway": gateway,
        "IPAddress": address,
        "IPPrefixLen": prefix,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
        "DriverOpts": None,
    }
