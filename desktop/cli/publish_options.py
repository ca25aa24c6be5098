"""``-p``/``--publish`` and ``--expose`` as the docker CLI reads them (go-connections'
``nat.ParsePortSpec``), into ``ExposedPorts`` and ``HostConfig.PortBindings``.

``-p [ip:][hostPort:]containerPort[/proto]``: ranges on either side (``8000-8001:80-81``
gives one key per port; a host range for one container port, ``8000-8010:80``, is kept as
the range the daemon picks a free port from); ``ip::80`` a random host port on ``ip``;
``[::1]:80:80`` an IPv6 address. The long form ``published=8080,target=80,protocol=udp``
is turned into the short one first. Every published port is exposed too.
"""

from __future__ import annotations

from .errors import InvalidOption

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

PROTOCOLS = ("tcp", "udp", "sctp")


def split_proto_port(text: str) -> tuple[str, str]:
    """``"80/udp"`` -> ``("udp", "80")``; tcp when none is given (nat.SplitProtoPort)."""
    parts = text.split("/")
    if not text or not parts[0]:
        return "", ""
    if len(parts) == 1:
        return "tcp", text
    if not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def parse_port_range(text: str) -> tuple[int, int]:
    """``"80"`` or ``"8000-8010"``, each a 16-bit number (nat.ParsePortRange)."""
    if not text:
        raise ValueError("empty string specified for ports")
    start, sep, end = text.partition("-")
    first = _port(start)
    last = _port(end) if sep else first
    if last < first:
        raise ValueError(f"invalid range specified for port: {text}")
    return first, last


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise ValueError(f"invalid port: {text}")
    return int(text)


def _split_parts(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _host_ip(raw: str) -> str:
    """The address of a spec, ``[]`` taken off an IPv6 one (Go's SplitHostPort)."""
    import ipaddress

    ip = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    if "[" in ip or "]" in ip or (":" in ip and not raw.startswith("[")):
        raise InvalidOption(f"Invalid ip address {raw}: address {raw}:: too many colons")
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidOption(f"Invalid ip address: {ip}") from None
    return ip


def _long_form(value: str) -> str:
    """``target=80,published=8080,protocol=udp`` as the short form."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        key, sep, item = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("target", "published", "protocol", "mode"):
            raise InvalidOption(
                f"invalid field key {key}"
                if sep
                else f"invalid field '{part}' must be a key=value pair"
            )
        fields[key] = item.strip()
    if fields.get("mode", "ingress") not in ("ingress", "host"):
        raise InvalidOption(
            f"invalid publish mode value ({fields['mode']}); must be either ingress or host"
        )
    if not fields.get("target"):
        raise InvalidOption('missing mandatory field "target"')
    spec = fields["target"] + "/" + (fields.get("protocol") or "tcp")
    return f"{fields['published']}:{spec}" if fields.get("published") else spec


def parse_publish(values: list[str]) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """(ExposedPorts, PortBindings) for the ``-p`` values, with docker's errors."""
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for value in values:
        raw = _long_form(value) if "=" in value else value
        raw_ip, host_port, container_spec = _split_parts(raw)
        proto, container_port = split_proto_port(container_spec)
        ip = _host_ip(raw_ip)
        if not container_port:
            raise InvalidOption(f"No port specified: {raw}<empty>")
        try:
            first, last = parse_port_range(container_port)
        except ValueError:
            raise InvalidOption(f"Invalid containerPort: {container_port}") from None
        host_first = host_last = 0
        if host_port:
            try:
                host_first, host_last = parse_port_range(host_port)
            except ValueError:
                raise InvalidOption(f"Invalid hostPort: {host_port}") from None
        if host_port and last - first != host_last - host_first and last != first:
            raise InvalidOption(
                "Invalid ranges specified for container and host Ports: "
                f"{container_port} and {host_port}"
            )
        proto = proto.lower()
        if proto not in PROTOCOLS:
            raise InvalidOption(f"Invalid proto: {proto}")
        for offset in range(last - first + 1):
            text = str(host_first + offset) if host_port else ""
            if first == last and host_first != host_last:
                text = f"{text}-{host_last}"
            key = f"{first + offset}/{proto}"
            exposed[key] = {}
            bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": text})
    return exposed, bindings


def parse_expose(values: list[str]) -> dict[str, Any]:
    """``--expose 80``, ``--expose 8000-8010/udp``: ExposedPorts keys."""
    exposed: dict[str, Any] = {}
    for value in values:
        proto, port = split_proto_port(value)
        if ":" in value:
            raise InvalidOption(f"invalid port format for --expose: {value}")
        try:
            first, last = parse_port_range(port)
        except ValueError as exc:
            raise InvalidOption(
                f"invalid range format for --expose: {value}, error: {exc}"
            ) from None
        for number in range(first, last + 1):
            exposed[f"{number}/{proto.lower()}"] = {}
    return exposed
