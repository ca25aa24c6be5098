"""resolv.conf for a container served by the embedded resolver, as dockerd 20.10 writes it.

libnetwork first builds the container's file as it would for the default bridge (the host's
settings, each of ``--dns``, ``--dns-search`` and ``--dns-option`` replacing the host's
own), then rebuilds it around its resolver: ``nameserver 127.0.0.11`` first, the IPv6
servers after it (the resolver forwards over IPv4 only, so those stay for the container to
try itself), the same search line, and the options with ``ndots:0`` added unless an ndots
option is already there. Lines come in ``search``, ``nameserver``, ``options`` order.

The IPv4 servers leave the file and become the resolver's upstreams: the ``--dns`` ones
when given, else the host's own, which the resolver reads live (see ``upstream.py``).
This module is pure: the engine reads the host's file and writes the container's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

RESOLVER_ADDRESS = "127.0.0.11"
"""Where a container's queries go: an address on its own loopback, as Docker's."""

DEFAULT_SERVERS = ("8.8.8.8", "8.8.4.4")
"""libnetwork's servers when the host names none a container could use."""

MAX_UPSTREAMS = 3
"""libnetwork tries at most three external servers."""


@dataclass(frozen=True)
class ResolvConf:
    """What a resolv.conf says: its nameservers, search domains and options."""

    nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    @property
    def ipv4_servers(self) -> tuple[str, ...]:
        return tuple(s for s in self.nameservers if _version(s) == 4)

    @property
    def ipv6_servers(self) -> tuple[str, ...]:
        return tuple(s for s in self.nameservers if _version(s) == 6)


def _version(server: str) -> int | None:
    try:
        return ipaddress.ip_address(server.split("%")[0]).version
    except ValueError:
        return None


def parse_resolv_conf(text: str) -> ResolvConf:
    """The file's settings as libnetwork's resolvconf package reads them: every
    ``nameserver`` line, the last ``search`` line, the words of every ``options`` line;
    comments (``#`` or ``;``) and other keywords ignored."""
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0][0] in "#;":
            continue
        if fields[0] == "nameserver" and len(fields) > 1 and _version(fields[1]) is not None:
            servers.append(fields[1])
        elif fields[0] == "search":
            search = fields[1:]
        elif fields[0] == "options":
            options += fields[1:]
    return ResolvConf(tuple(servers), tuple(search), tuple(options))


def _is_loopback(server: str) -> bool:
    try:
        return ipaddress.ip_address(server.split("%")[0]).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ContainerDns:
    """What the engine needs for one container on a user network: the file to write and
    what to hand ``EmbeddedDns.serve``."""

    resolv_conf: str
    upstreams: tuple[str, ...] | None
    """The ``--dns`` IPv4 servers; None means the host's, read live."""
    search: tuple[str, ...]
    ndots_set: bool
    """An ndots option came from the user or the host: single-label names that are no
    container's then get an empty answer instead of going upstream (libnetwork's rule)."""


def container_dns(
    host: ResolvConf,
    dns: Sequence[str] = (),
    dns_search: Sequence[str] = (),
    dns_options: Sequence[str] = (),
) -> ContainerDns:
    """The container's resolv.conf and resolver settings for ``--dns``, ``--dns-search``,
    ``--dns-option`` (each empty when not given) on a host whose file says ``host``.

    Raises ValueError for an ndots option that is not ``ndots:<number>``, with dockerd's
    words."""
    customised = bool(dns or dns_search or dns_options)
    if customised:
        servers = tuple(dns) or host.nameservers
    else:  # the host's loopback servers cannot be reached from the container itself
        servers = tuple(s for s in host.nameservers if not _is_loopback(s)) or DEFAULT_SERVERS
    search = tuple(dns_search) or host.search
    options = tuple(dns_options) or host.options
    ndots_set = False
    for option in options:
        if "ndots" in option:
            parts = option.split(":")
            if len(parts) != 2:
                raise ValueError(f"invalid ndots option {option}")
            try:
                count = int(parts[1])
            except ValueError:
                raise ValueError(f"invalid number for ndots option: {parts[1]}") from None
            if count < 0:
                raise ValueError(f"invalid number for ndots option: {count}")
            ndots_set = True
            break
    if not ndots_set:
        options += ("ndots:0",)
    nameservers = (RESOLVER_ADDRESS, *(s for s in servers if _version(s) == 6))
    text = ""
    if search and " ".join(search).strip(" ") != ".":
        text += "search " + " ".join(search) + "\n"
    text += "".join(f"nameserver {server}\n" for server in nameservers)
    if options and " ".join(options).strip(" "):
        text += "options " + " ".join(options) + "\n"
    upstreams = tuple(s for s in dns if _version(s) == 4)[:MAX_UPSTREAMS] if dns else None
    return ContainerDns(text, upstreams, search, ndots_set)


def host_upstreams(host: ResolvConf) -> tuple[str, ...]:
    """The servers the resolver forwards to for a container without ``--dns``: the host's
    IPv4 servers as they are, loopback ones included (the forwarder's sockets live in
    coved's namespace, where systemd-resolved's 127.0.0.53 answers); Google's when the host
    names no server at all."""
    if not host.nameservers:
        return DEFAULT_SERVERS
    return host.ipv4_servers[:MAX_UPSTREAMS]
