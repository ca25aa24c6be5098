"""The network flags' values as the docker CLI reads them, and the request bodies they make.

Pure functions of the parsed flags, tested without a daemon: pflag's comma-separated lists
(``--subnet a,b``), ``network create``'s IPAM config (each ``--ip-range``, ``--gateway``
and ``--aux-address`` paired with the ``--subnet`` that holds it), labels, links and driver
options, and ``run``/``create``'s ``--network`` (with its ``name=...,alias=...`` form),
``--network-alias``, ``--ip``, ``--ip6`` and ``--link-local-ip`` as the endpoint settings
of ``NetworkingConfig``. Errors carry docker's words.
"""

from __future__ import annotations

from .errors import CommandFailed, InvalidOption, UsageError

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
    from typing import Any

    Address = IPv4Address | IPv6Address
    Network = IPv4Network | IPv6Network

# the network modes that are not user-defined networks (docker's IsUserDefined on Linux)
BUILT_IN_MODES = ("default", "bridge", "host", "none")


def flag_error(value: str, flag: str, reason: str) -> UsageError:
    """A value pflag refuses for ``flag`` (docker prints it with the usage, exit 125)."""
    return UsageError(f'invalid argument "{value}" for "{flag}" flag: {reason}')


def csv_fields(value: str, flag: str) -> list[str]:
    """One occurrence of a pflag string-slice flag: its comma-separated fields, read as
    Go's ``encoding/csv`` reads a record (double quotes group commas)."""
    if value == "":
        return []
    import csv

    try:
        rows = list(csv.reader([value], strict=True))
    except csv.Error as exc:
        raise flag_error(value, flag, str(exc)) from None
    return rows[0] if rows else [""]


def string_slice(values: list[str], flag: str) -> list[str]:
    """Every occurrence of a string-slice flag, fields in order."""
    return [field for value in values for field in csv_fields(value, flag)]


def filters(values: list[str], flag: str) -> dict[str, list[str]]:
    """``--filter k=v`` occurrences as the API's filters, trimmed and lower-cased as
    docker's FilterOpt does; an empty value is skipped."""
    result: dict[str, list[str]] = {}
    for value in values:
        if value == "":
            continue
        if "=" not in value:
            raise flag_error(value, flag, "bad format of filter (expected name=value)")
        name, _, item = value.partition("=")
        result.setdefault(name.strip().lower(), []).append(item.strip())
    return result


def check_labels(values: list[str], flag: str = "--label") -> list[str]:
    """docker's ValidateLabel: a name before any ``=``, without blanks in it."""
    for value in values:
        key = value.partition("=")[0].lstrip(" \t")
        if not key:
            raise flag_error(value, flag, f"invalid label '{value}': empty name")
        if " " in key or "\t" in key:
            raise flag_error(value, flag, f"label '{key}' contains whitespaces")
    return values


def check_links(values: list[str], flag: str = "--link") -> list[str]:
    """docker's ValidateLink: ``name`` or ``name:alias``."""
    for value in values:
        if value == "":
            raise flag_error(value, flag, "empty string specified for links")
        if value.count(":") > 1:
            raise flag_error(value, flag, f"bad format for links: {value}")
    return values


def driver_options(values: list[str]) -> dict[str, str]:
    """``connect --driver-opt k=v`` (a string slice): trimmed pairs; a field without ``=``
    is refused as docker refuses it (after parsing: exit 1)."""
    result: dict[str, str] = {}
    for field in string_slice(values, "--driver-opt"):
        key, eq, item = field.partition("=")
        if not eq:
            raise CommandFailed("invalid key/value pair format in driver options")
        result[key.strip()] = item.strip()
    return result


# --- network create's IPAM ----------------------------------------------------------


def _parse_cidr(text: str) -> tuple[Address, Network]:
    """Go's ``net.ParseCIDR``: the address and its network, or its error's words."""
    from ipaddress import ip_address, ip_network

    address, slash, bits = text.partition("/")
    try:
        if not slash or not bits.isascii() or not bits.isdigit() or "%" in address:
            raise ValueError(text)
        ip = ip_address(address)
        if int(bits) > ip.max_prefixlen or len(bits) > 3:
            raise ValueError(text)
        return ip, ip_network(f"{address}/{int(bits)}", strict=False)
    except ValueError:
        raise ValueError(f"invalid CIDR address: {text}") from None


def _parse_ip(text: str) -> Address | None:
    """Go's ``net.ParseIP``: None for what is not an address."""
    from ipaddress import ip_address

    if "%" in text:
        return None
    try:
        return ip_address(text)
    except ValueError:
        return None


def _contains(network: Network, ip: Address | None) -> bool:
    """Go's ``IPNet.Contains``: IPv4 addresses are also IPv6's ``::ffff:a.b.c.d``."""
    from ipaddress import IPv4Address, IPv6Address

    if ip is None:
        return False
    if ip.version != network.version:
        if isinstance(ip, IPv4Address):
            ip = IPv6Address(f"::ffff:{ip}")
        elif ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        else:
            return False
    return ip in network


def _subnet_matches(subnet: str, data: str) -> bool:
    """Whether ``data`` (an address, or a CIDR's address) lies in ``subnet``."""
    try:
        network = _parse_cidr(subnet)[1]
    except ValueError as exc:
        raise CommandFailed(f"invalid subnet: {exc}") from None
    if "/" in data:
        try:
            ip: Address | None = _parse_cidr(data)[0]
        except ValueError as exc:
            raise CommandFailed(str(exc)) from None
    else:
        ip = _parse_ip(data)
    return _contains(network, ip)


def ipam_config(subnets: list[str], ranges: list[str], gateways: list[str],
                aux_addresses: dict[str, str]) -> list[dict[str, Any]]:
    """``network create``'s IPAM pools, as docker's consolidateIpam groups them: one per
    ``--subnet`` (none overlapping), each ``--ip-range``, ``--gateway`` and aux address on
    the subnet that holds it (one range and one gateway per subnet). In the subnets' order
    (docker's is a Go map's, i.e. random)."""
    if len(subnets) < len(ranges) or len(subnets) < len(gateways):
        raise CommandFailed("every ip-range or gateway must have a corresponding subnet")
    pools: dict[str, dict[str, Any]] = {}
    for subnet in subnets:
        for other in pools:
            if _subnet_matches(subnet, other) or _subnet_matches(other, subnet):
                raise CommandFailed("multiple overlapping subnet configuration is not supported")
        pools[subnet] = {"Subnet": subnet}
    for key, kind, values in (("IPRange", "range", ranges), ("Gateway", "gateway", gateways)):
        plural = "ranges" if kind == "range" else "gateways"
        where = "on the same subnet" if kind == "range" else "for the same subnet"
        for value in values:
            matched = False
            for subnet in subnets:
                if not _subnet_matches(subnet, value):
                    continue
                if pools[subnet].get(key):
                    raise CommandFailed(f"cannot configure multiple {plural} ({value}, "
                                        f"{pools[subnet][key]}) {where} ({subnet})")
                pools[subnet][key] = value
                matched = True
            if not matched:
                raise CommandFailed(f"no matching subnet for {kind} {value}")
    for name, address in aux_addresses.items():
        matched = False
        for subnet in subnets:
            if _subnet_matches(subnet, address):
                pools[subnet].setdefault("AuxiliaryAddresses", {})[name] = address
                matched = True
        if not matched:
            raise CommandFailed(f"no matching subnet for aux-address {address}")
    return list(pools.values())


# --- run/create's endpoint settings ---------------------------------------------------


def is_user_defined(mode: str) -> bool:
    return mode not in BUILT_IN_MODES and not mode.startswith("container:")


class Attachment:
    """One ``--network`` occurrence: a name, or docker's ``name=N,alias=A,ip=...`` form."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.aliases: list[str] = []
        self.links: list[str] = []
        self.ipv4 = ""
        self.ipv6 = ""
        self.link_local: list[str] = []
        self.driver_opts: dict[str, str] = {}


def parse_attachment(value: str) -> Attachment:
    """docker's NetworkOpt.Set: ``k=v`` fields anywhere mean the long form, whose keys
    and values are lower-cased."""
    import re

    if not re.search(r"\w+=\w+(,\w+=\w+)*", value):
        return Attachment(value)
    attachment = Attachment("")
    for field in csv_fields(value, "--network"):
        key, eq, item = field.partition("=")
        if not eq:
            raise flag_error(value, "--network", f"invalid field {field}")
        key, item = key.strip().lower(), item.strip().lower()
        if key == "name":
            attachment.target = item
        elif key == "alias":
            attachment.aliases.append(item)
        elif key == "ip":
            attachment.ipv4 = item
        elif key == "ip6":
            attachment.ipv6 = item
        elif key == "driver-opt":
            opt_key, opt_eq, opt_value = item.partition("=")
            if not opt_eq:
                raise flag_error(value, "--network",
                                 "invalid key value pair format in driver options")
            attachment.driver_opts[opt_key.strip()] = opt_value.strip()
        else:
            raise flag_error(value, "--network", f"invalid field key {key}")
    if not attachment.target:
        raise flag_error(value, "--network", "network name/id is not specified")
    return attachment


def _endpoint(attachment: Attachment) -> dict[str, Any]:
    """The EndpointSettings docker's CLI sends for one attachment ({} if nothing set)."""
    if not attachment.target.strip():
        raise InvalidOption("no name set for network")
    if not is_user_defined(attachment.target):
        if attachment.aliases:
            raise InvalidOption("network-scoped aliases are only supported for "
                                "user-defined networks")
        if attachment.links:
            raise InvalidOption("links are only supported for user-defined networks")
    endpoint: dict[str, Any] = {}
    if attachment.aliases:
        endpoint["Aliases"] = list(attachment.aliases)
    if attachment.driver_opts:
        endpoint["DriverOpts"] = dict(attachment.driver_opts)
    if attachment.links:
        endpoint["Links"] = list(attachment.links)
    if attachment.ipv4 or attachment.ipv6 or attachment.link_local:
        ipam: dict[str, Any] = {}
        if attachment.ipv4:
            ipam["IPv4Address"] = attachment.ipv4
        if attachment.ipv6:
            ipam["IPv6Address"] = attachment.ipv6
        if attachment.link_local:
            ipam["LinkLocalIPs"] = list(attachment.link_local)
        endpoint["IPAMConfig"] = ipam
    return endpoint


def endpoints_config(networks: list[str], aliases: list[str], ipv4: str, ipv6: str,
                     link_local: list[str]) -> tuple[str, dict[str, Any]]:
    """(HostConfig.NetworkMode, NetworkingConfig.EndpointsConfig) for ``run``/``create``,
    as docker's parseNetworkOpts builds them: the plain flags apply to the first network;
    a single network with nothing set sends no endpoint."""
    attachments = [parse_attachment(value) for value in networks] or [Attachment("default")]
    first = attachments[0]
    for mine, theirs, what in ((first.aliases, aliases, "--network-alias and per-network alias"),
                               (first.ipv4, ipv4, "--ip and per-network IPv4 address"),
                               (first.ipv6, ipv6, "--ip6 and per-network IPv6 address")):
        if mine and theirs:
            raise InvalidOption(f"conflicting options: cannot specify both {what}")
    if aliases:
        first.aliases = list(aliases)
    first.ipv4 = ipv4 or first.ipv4
    first.ipv6 = ipv6 or first.ipv6
    if link_local:
        first.link_local = list(link_local)
    endpoints: dict[str, Any] = {}
    user_defined = built_in = False
    for index, attachment in enumerate(attachments):
        if is_user_defined(attachment.target):
            user_defined = True
        else:
            built_in = True
        endpoint = _endpoint(attachment)
        if attachment.target in endpoints:
            raise InvalidOption(f'network "{attachment.target}" is specified multiple times')
        if index == 0 and len(attachments) == 1 and not endpoint:
            continue
        endpoints[attachment.target] = endpoint
    if user_defined and built_in:
        raise InvalidOption("conflicting options: cannot attach both user-defined and "
                            "non-user-defined network-modes")
    return first.target, endpoints
