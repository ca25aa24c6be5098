"""Network records: what ``network create`` made, and the predefined networks, on disk.

A record holds what ``GET /networks/{id}`` shows of a network (its name, driver, IPAM
configuration, labels, options, flags), plus whether the user chose its subnet (``--ip``
needs that, as in dockerd). The predefined networks ``bridge``, ``host`` and ``none`` get
records too, so their IDs stay the same across daemon restarts, as dockerd's do.

All records live in one JSON file, rewritten whole at each change (write, fsync, rename):
a crashed daemon finds either the old list or the new one. ``network rm`` removes the
bridge before the record, so a crash in between leaves a record whose bridge the next
start makes again, never a bridge without a record.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from cove.runtime import errors
from cove.runtime.store.layout import atomic_write_json, read_json

BRIDGE, HOST, NONE = "bridge", "host", "none"
PREDEFINED = {BRIDGE: "bridge", HOST: "host", NONE: "null"}
"""The predefined networks' names and drivers."""
USER_BRIDGE_PREFIX = "br-"
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"


@dataclass(frozen=True)
class IpamPool:
    """One entry of ``IPAM.Config``: a subnet, its gateway, the range addresses are given
    from (``--ip-range``) and addresses kept out of use (``--aux-address``). dockerd shows
    the gateway of a subnet the user gave only when the user gave it too (``shown``)."""

    subnet: IPv4Network
    gateway: IPv4Address
    ip_range: IPv4Network | None = None
    aux: tuple[tuple[str, IPv4Address], ...] = ()
    gateway_shown: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Subnet": str(self.subnet)}
        if self.ip_range is not None:
            out["IPRange"] = str(self.ip_range)
        if self.gateway_shown:
            out["Gateway"] = str(self.gateway)
        if self.aux:
            out["AuxiliaryAddresses"] = {name: str(a) for name, a in self.aux}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IpamPool:
        return cls(
            IPv4Network(data["Subnet"]),
            IPv4Address(data["Gateway"]),
            IPv4Network(data["IPRange"]) if data.get("IPRange") else None,
            tuple((str(k), IPv4Address(v))
                  for k, v in sorted((data.get("AuxiliaryAddresses") or {}).items())),
            bool(data.get("Gateway")),
        )

    def to_record(self) -> dict[str, Any]:
        """As kept on disk: the gateway always (``GatewayShown`` says if inspect shows it)."""
        return {**self.to_json(), "Gateway": str(self.gateway),
                "GatewayShown": self.gateway_shown}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> IpamPool:
        return replace(cls.from_json(data), gateway_shown=bool(data.get("GatewayShown", True)))


@dataclass(frozen=True)
class NetworkRecord:
    id: str
    name: str
    driver: str
    created: str
    internal: bool = False
    attachable: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] | None = None
    pools: tuple[IpamPool, ...] = ()
    user_subnet: bool = False

    @property
    def predefined(self) -> bool:
        return PREDEFINED.get(self.name) == self.driver

    @property
    def bridged(self) -> bool:
        """A network of the bridge driver (the default bridge or a user's)."""
        return self.driver == "bridge"

    @property
    def link(self) -> str:
        """A user network's Linux bridge: ``br-`` and the ID's first 12 digits, as
        dockerd names them, unless ``com.docker.network.bridge.name`` says otherwise."""
        return self.options.get(BRIDGE_NAME_OPTION) or USER_BRIDGE_PREFIX + self.id[:12]

    def inspect(self, containers: dict[str, Any] | None = None) -> dict[str, Any]:
        """The network as ``GET /networks`` shows it."""
        return {
            "Name": self.name,
            "Id": self.id,
            "Created": self.created,
            "Scope": "local",
            "Driver": self.driver,
            "EnableIPv6": False,
            "IPAM": {
                "Driver": "default",
                "Options": None if self.ipam_options is None else dict(self.ipam_options),
                "Config": [pool.to_json() for pool in self.pools],
            },
            "Internal": self.internal,
            "Attachable": self.attachable,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": dict(containers or {}),
            "Options": dict(self.options),
            "Labels": dict(self.labels),
        }

    def to_json(self) -> dict[str, Any]:
        shown = self.inspect()
        shown["IPAM"]["Config"] = [pool.to_record() for pool in self.pools]
        return {**shown, "Containers": None, "UserSubnet": self.user_subnet}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkRecord:
        ipam = data.get("IPAM") or {}
        return cls(
            id=str(data["Id"]),
            name=str(data["Name"]),
            driver=str(data["Driver"]),
            created=str(data["Created"]),
            internal=bool(data.get("Internal")),
            attachable=bool(data.get("Attachable")),
            labels={str(k): str(v) for k, v in (data.get("Labels") or {}).items()},
            options={str(k): str(v) for k, v in (data.get("Options") or {}).items()},
            ipam_options=None if ipam.get("Options") is None
            else {str(k): str(v) for k, v in ipam["Options"].items()},
            pools=tuple(IpamPool.from_record(p) for p in ipam.get("Config") or []),
            user_subnet=bool(data.get("UserSubnet")),
        )


def new_id() -> str:
    return secrets.token_hex(32)


class NetworkStore:
    """Every network record, by ID, persisted in one file that this object alone writes;
    thread-safe."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._records: dict[str, NetworkRecord] = {}
        if self.path.exists():
            for entry in read_json(self.path).get("Networks", []):
                record = NetworkRecord.from_json(entry)
                self._records[record.id] = record

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, {"Networks": [
            r.to_json() for r in sorted(self._records.values(), key=lambda r: r.created)]})

    def ensure_predefined(self, created: str) -> None:
        """The predefined networks' records, made once (their IDs then never change)."""
        with self._lock:
            have = {r.name for r in self._records.values() if r.predefined}
            missing = [name for name in PREDEFINED if name not in have]
            for name in missing:
                record = NetworkRecord(new_id(), name, PREDEFINED[name], created)
                self._records[record.id] = record
            if missing:
                self._save()

    def add(self, record: NetworkRecord) -> None:
        with self._lock:
            self._records[record.id] = record
            try:
                self._save()
            except BaseException:
                self._records.pop(record.id, None)
                raise

    def update(self, record: NetworkRecord) -> None:
        with self._lock:
            before = self._records.get(record.id)
            self._records[record.id] = record
            try:
                self._save()
            except BaseException:
                if before is not None:
                    self._records[record.id] = before
                raise

    def remove(self, network_id: str) -> None:
        with self._lock:
            gone = self._records.pop(network_id, None)
            if gone is None:
                return
            try:
                self._save()
            except BaseException:
                self._records[network_id] = gone
                raise

    def all(self) -> list[NetworkRecord]:
        with self._lock:
            return list(self._records.values())

    def by_name(self, name: str) -> NetworkRecord | None:
        with self._lock:
            return next((r for r in self._records.values() if r.name == name), None)

    def find(self, ref: str, visible: Iterable[NetworkRecord] | None = None) -> NetworkRecord:
        """A network by full ID, name, or unique ID prefix, in dockerd's order of lookup
        (``visible``: the records to look among; all by default)."""
        records = list(visible) if visible is not None else self.all()
        for record in records:
            if record.id == ref:
                return record
        named = [r for r in records if r.name == ref]
        if named:
            return named[0]
        prefixed = [r for r in records if ref and r.id.startswith(ref)]
        if len(prefixed) == 1:
            return prefixed[0]
        if len(prefixed) > 1:
            raise errors.InvalidParameter(
                f"network {ref} is ambiguous ({len(prefixed)} matches found based on ID prefix)")
        raise errors.NotFound(f"network {ref} not found")
