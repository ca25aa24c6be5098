"""Published ports as the Engine API has them: ``ExposedPorts``, ``HostConfig.PortBindings``
and ``PublishAllPorts``, validated with dockerd's words, and the ``NetworkSettings.Ports``
that inspect shows.

A key is ``"80/tcp"`` (``/tcp`` when left out), one container port. Each binding gives a
``HostIp`` (empty: every address) and a ``HostPort``: one port, a range (``8000-8010``:
the first free one is taken) or empty (a random port from the ephemeral range). The CLI
expands ``-p 8000-8001:80-81`` into one key per port before it reaches the API.
dockerd accepts some bindings it can never honour (an unknown protocol, a container port
0, a host address that isn't one) and fails at start or drops them; Cove refuses them at
create, with the message saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from cove.runtime import errors

PROTOCOLS = ("tcp", "udp", "sctp")
ANY_ADDRESS = IPv4Address("0.0.0.0")
ANY_ADDRESS6 = IPv6Address("::")
HostAddress = IPv4Address | IPv6Address


def _invalid(text: str) -> errors.InvalidParameter:
    return errors.InvalidParameter(f'invalid port specification: "{text}"')


def _port_number(text: str) -> int:
    """One port, as Go's ``strconv.ParseUint(s, 10, 16)`` reads it."""
    if not text.isdigit() or not text.isascii() or int(text) > 65535:
        raise _invalid(text)
    return int(text)


def split_proto_port(key: str) -> tuple[str, str]:
    """``"80/udp"`` -> ``("80", "udp")``; no protocol means tcp."""
    port, _, proto = key.partition("/")
    return port, proto or "tcp"


@dataclass(frozen=True, order=True)
class ContainerPort:
    """A key of ``ExposedPorts``/``PortBindings``: one port and its protocol."""

    port: int
    proto: str = "tcp"

    @classmethod
    def parse(cls, key: str) -> ContainerPort:
        text, proto = split_proto_port(key)
        port = _port_number(text)
        if proto not in PROTOCOLS:
            raise errors.InvalidParameter(f"invalid proto: {proto}")  # dockerd's wording
        if port == 0:
            raise errors.InvalidParameter(
                f'invalid port specification: "{text}": a '
                "container port must be between 1 and 65535"
            )
        return cls(port, proto)

    def __str__(self) -> str:
        return f"{self.port}/{self.proto}"


@dataclass(frozen=True)
class HostPorts:
    """Where one binding listens: an address (``0.0.0.0``: all) and a port range;
    ``first == 0`` asks for a random port. ``dual``: no address was given, so the port
    is published on ``::`` too, as dockerd 20.10 publishes it (where the host has IPv6)."""

    address: HostAddress = ANY_ADDRESS
    first: int = 0
    last: int = 0
    dual: bool = False

    @property
    def random(self) -> bool:
        return self.first == 0

    @classmethod
    def parse(cls, host_ip: str, host_port: str) -> HostPorts:
        return cls(_host_address(host_ip), *_host_range(host_port), dual=host_ip == "")


def _host_range(text: str) -> tuple[int, int]:
    """``HostPort``: empty, ``8080`` or ``8000-8010`` (go-connections' ``ParsePortRange``)."""
    if text == "":
        return 0, 0
    start, sep, end = text.partition("-")
    try:
        first = _port_number(start)
        last = _port_number(end) if sep else first
    except errors.InvalidParameter:
        raise _invalid(text) from None
    if last < first:
        raise _invalid(text)
    if first == 0 and last != 0:
        raise _invalid(text)
    return first, last


def _host_address(text: str) -> HostAddress:
    if text == "":
        return ANY_ADDRESS
    try:
        return ip_address(text)
    except ValueError:
        raise errors.InvalidParameter(f"invalid host IP address: {text!r}") from None


@dataclass(frozen=True)
class PortRequest:
    """One binding to set up when the container starts."""

    container: ContainerPort
    host: HostPorts


def _undecodable(value: object, field: str, go_type: str) -> errors.InvalidParameter:
    """Go's JSON decoder's words for a value of the wrong type (dockerd says it first)."""
    kind = (
        "bool"
        if isinstance(value, bool)
        else "number"
        if isinstance(value, int | float)
        else "array"
        if isinstance(value, list)
        else "object"
        if isinstance(value, Mapping)
        else "string"
    )
    return errors.InvalidParameter(
        f"json: cannot unmarshal {kind} into Go struct field {field} of type {go_type}"
    )


def port_requests(
    bindings: Mapping[str, Any] | None,
    exposed: Mapping[str, Any] | None = None,
    publish_all: bool = False,
) -> list[PortRequest]:
    """Every binding of ``PortBindings`` (and with ``PublishAllPorts``, a random port on
    every address for each exposed port that has no binding), checked; in key order."""
    requests: list[PortRequest] = []
    bound: set[ContainerPort] = set()
    for key, entries in (bindings or {}).items():
        container = ContainerPort.parse(key)
        if entries is not None and not isinstance(entries, list):
            raise _undecodable(entries, "HostConfig.HostConfig.PortBindings", "[]nat.PortBinding")
        for entry in entries or []:
            if not isinstance(entry, Mapping):
                raise errors.InvalidParameter(f"invalid port binding for {key}: {entry!r}")
            for field in ("HostIp", "HostPort"):
                if entry.get(field) is not None and not isinstance(entry.get(field), str):
                    raise _undecodable(
                        entry[field], f"PortBinding.HostConfig.PortBindings.{field}", "string"
                    )
            requests.append(
                PortRequest(
                    container,
                    HostPorts.parse(entry.get("HostIp") or "", entry.get("HostPort") or ""),
                )
            )
            bound.add(container)
    if publish_all:
        for key in exposed or {}:
            container = ContainerPort.parse(key)
            if container not in bound:
                requests.append(PortRequest(container, HostPorts(dual=True)))
    return sorted(requests, key=lambda r: (r.container, str(r.host.address), r.host.first))


def validate(config: Mapping[str, Any], host_config: Mapping[str, Any]) -> None:
    """Refuse at create what could never be published (dockerd's messages)."""
    for key in config.get("ExposedPorts") or {}:
        ContainerPort.parse(key)
    port_requests(
        host_config.get("PortBindings"),
        config.get("ExposedPorts"),
        bool(host_config.get("PublishAllPorts")),
    )


@dataclass(frozen=True)
class Publication:
    """A port published: the host's address and port, and where it leads. One on an IPv6
    address is served by the userland proxy (nftables cannot DNAT IPv6 to IPv4)."""

    proto: str
    host_address: HostAddress
    host_port: int
    container_port: int

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"

    @property
    def ipv6(self) -> bool:
        return self.host_address.version == 6

    @property
    def order(self) -> tuple[int, str, int, int, int]:
        """Sorted as dockerd lists them: by port, IPv4 before IPv6."""
        return (self.container_port, self.proto, self.host_address.version,
                int(self.host_address), self.host_port)

    def binding(self) -> dict[str, str]:
        return {"HostIp": str(self.host_address), "HostPort": str(self.host_port)}


def network_settings_ports(
    exposed: Iterable[str], published: Iterable[Publication]
) -> dict[str, list[dict[str, str]] | None]:
    """``NetworkSettings.Ports``: every exposed or published port; ``None`` for one that is
    exposed only (inspect shows ``null``)."""
    ports: dict[str, list[dict[str, str]] | None] = {
        str(ContainerPort.parse(key)): None for key in exposed
    }
    for publication in sorted(published, key=lambda p: p.order):
        listed = ports.get(publication.key)
        if listed is None:
            listed = ports[publication.key] = []
        listed.append(publication.binding())
    return ports
