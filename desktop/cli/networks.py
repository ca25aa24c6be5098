"""Network commands: ``network create``, ``ls``, ``inspect``, ``rm``, ``prune``, ``connect``
and ``disconnect``, with the docker CLI's (20.10) flags, columns, prompts and messages.

Flags are sent as given: what the daemon does not support (``--scope swarm``,
``--ingress``, another driver) is refused by the daemon, in its words.
"""

from __future__ import annotations

from . import formatter
from .command import Cli, Command
from .errors import CommandFailed
from .network_options import (
    check_labels,
    check_links,
    driver_options,
    filters,
    ipam_config,
    string_slice,
)
from .volumes import key_value_map, natural_key

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace

LS_FORMAT = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
QUIET_FORMAT = "{{.ID}}"
RAW_FORMAT = "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n"
LS_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
              "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
              "CreatedAt": "CREATED AT"}
PRUNE_WARNING = ("WARNING! This will remove all custom networks not used by at least one "
                 "container.")
INGRESS_WARNING = ("WARNING! Before removing the routing-mesh network, make sure all the "
                   "nodes in your swarm run the same docker engine version. Otherwise, "
                   "removal may not be effective and functionality of newly create ingress "
                   "networks will be impaired.")


def go_time(text: str) -> str:
    """An RFC 3339 timestamp as Go's ``time.Time.String()`` prints it once decoded:
    ``2026-12-07 23:45:54.944553066 +0000 UTC`` (no trailing zeros in the fraction)."""
    date, _, rest = text.partition("T")
    if not rest:
        return text
    if rest.endswith("Z"):
        clock, zone = rest[:-1], "+0000 UTC"
    else:
        cut = max(rest.rfind("+"), rest.rfind("-"))
        if cut < 0:
            return text
        offset = rest[cut:].replace(":", "")
        clock, zone = rest[:cut], f"{offset} {offset}"
    whole, dot, fraction = clock.partition(".")
    fraction = fraction.rstrip("0")
    return f"{date} {whole}{'.' + fraction if fraction else ''} {zone}"


class NetworkRow:
    """A ``network ls`` row: the fields docker's network formatter offers."""

    def __init__(self, network: dict[str, Any], trunc: bool) -> None:
        self.network = network
        self.trunc = trunc

    @property
    def ID(self) -> str:  # noqa: N802 - docker's template field names
        full = str(self.network.get("Id", ""))
        return full[:12] if self.trunc else full

    @property
    def Name(self) -> str:  # noqa: N802
        return str(self.network.get("Name", ""))

    @property
    def Driver(self) -> str:  # noqa: N802
        return str(self.network.get("Driver", ""))

    @property
    def Scope(self) -> str:  # noqa: N802
        return str(self.network.get("Scope", ""))

    @property
    def IPv6(self) -> str:  # noqa: N802
        return "true" if self.network.get("EnableIPv6") else "false"

    @property
    def Internal(self) -> str:  # noqa: N802
        return "true" if self.network.get("Internal") else "false"

    @property
    def Labels(self) -> str:  # noqa: N802
        labels = self.network.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def Label(self, name: str) -> str:  # noqa: N802
        return str((self.network.get("Labels") or {}).get(name, ""))

    @property
    def CreatedAt(self) -> str:  # noqa: N802
        return go_time(str(self.network.get("Created", "0001-01-01T00:00:00Z")))

    def to_json(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in (
            "CreatedAt", "Driver", "ID", "IPv6", "Internal", "Labels", "Name", "Scope")}


def go_map(values: list[str]) -> dict[str, str]:
    """``k=v`` flags as the map docker's CLI sends: Go writes a map's keys sorted."""
    return dict(sorted(key_value_map(values).items()))


def create(args: Namespace, cli: Cli) -> int:
    labels = go_map(check_labels(args.label))  # a flag value: refused before the rest
    pools = ipam_config(string_slice(args.subnet, "--subnet"),
                        string_slice(args.ip_range, "--ip-range"),
                        string_slice(args.gateway, "--gateway"),
                        go_map(args.aux_address))
    body: dict[str, Any] = {
        "Name": args.args[0],
        "CheckDuplicate": True,
        "Driver": args.driver,
        "Scope": args.scope,
        "EnableIPv6": args.ipv6,
        "IPAM": {"Driver": args.ipam_driver, "Config": pools,
                 "Options": go_map(args.ipam_opt)},
        "Internal": args.internal,
        "Attachable": args.attachable,
        "Ingress": args.ingress,
        "ConfigOnly": args.config_only,
        "ConfigFrom": {"Network": args.config_from} if args.config_from else None,
        "Options": go_map(args.opt),
        "Labels": labels,
    }
    created = cli.client.create_network(body) or {}
    cli.out(str(created.get("Id", "")))
    return 0


def ls(args: Namespace, cli: Cli) -> int:
    wanted = filters(args.filter, "-f, --filter")
    networks = cli.client.networks(wanted) or []
    rows = sorted((NetworkRow(n, trunc=not args.no_trunc) for n in networks),
                  key=lambda row: natural_key(row.Name))
    source = args.format or "table"
    if source == "table":
        source = QUIET_FORMAT if args.quiet else LS_FORMAT
    elif source == "raw":
        source = "network_id: {{.ID}}" if args.quiet else RAW_FORMAT
    elif source == "json":
        source = "{{json .}}"
    cli.stdout.write(formatter.render(source, rows, LS_HEADERS))
    return 0


def inspect(args: Namespace, cli: Cli) -> int:
    from .inspect import inspect_each

    return inspect_each(cli, args.args,
                        lambda name: cli.client.inspect_network(name, verbose=args.verbose),
                        args.format)


def rm(args: Namespace, cli: Cli) -> int:
    """Each network in turn: its name once removed, or its error; exit 1 if any failed.
    A swarm's ingress network is only removed after docker's question."""
    from ..client.errors import ClientError
    from .prune import confirmed

    failed = False
    for name in args.args:
        try:
            ingress = bool(cli.client.inspect_network(name).get("Ingress"))
        except ClientError:
            ingress = False
        if ingress and not confirmed(cli, INGRESS_WARNING, force=False):
            continue
        try:
            cli.client.remove_network(name)
        except ClientError as exc:
            cli.err(str(exc))
            failed = True
            continue
        cli.out(name)
    if failed:
        raise CommandFailed("")
    return 0


def prune(args: Namespace, cli: Cli) -> int:
    from .prune import confirmed

    wanted = filters(args.filter, "--filter")
    if not confirmed(cli, PRUNE_WARNING, args.force):
        return 0
    report = cli.client.prune_networks(wanted) or {}
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        cli.out("Deleted Networks:\n" + "".join(f"{name}\n" for name in deleted))
    return 0


def connect(args: Namespace, cli: Cli) -> int:
    network, container = args.args
    ipam: dict[str, Any] = {}
    if args.ip:
        ipam["IPv4Address"] = args.ip
    if args.ip6:
        ipam["IPv6Address"] = args.ip6
    link_local = string_slice(args.link_local_ip, "--link-local-ip")
    if link_local:
        ipam["LinkLocalIPs"] = link_local
    endpoint = {
        "IPAMConfig": ipam,
        "Links": check_links(args.link) or None,
        "Aliases": string_slice(args.alias, "--alias"),
        "DriverOpts": dict(sorted(driver_options(args.driver_opt).items())),
    }
    cli.client.connect_network(network, container, endpoint)
    return 0


def disconnect(args: Namespace, cli: Cli) -> int:
    network, container = args.args
    cli.client.disconnect_network(network, container, force=args.force)
    return 0


def _create_flags(parser: FlagParser) -> None:
    add = parser.add_argument
    add("--attachable", action="store_true", help="Enable manual container attachment")
    add("--aux-address", action="append", default=[], value_type="map", help="Auxiliary IPv4 or IPv6 addresses used by Network driver")
    add("--config-from", default="", help="The network from which to copy the configuration")
    add("--config-only", action="store_true", help="Create a configuration only network")
    add("-d", "--driver", default="bridge", help="Driver to manage the Network")
    add("--gateway", action="append", default=[], value_type="strings", help="IPv4 or IPv6 Gateway for the master subnet")
    add("--ingress", action="store_true", help="Create swarm routing-mesh network")
    add("--internal", action="store_true", help="Restrict external access to the network")
    add("--ip-range", action="append", default=[], value_type="strings", help="Allocate container ip from a sub-range")
    add("--ipam-driver", default="default", help="IP Address Management Driver")
    add("--ipam-opt", action="append", default=[], value_type="map", help="Set IPAM driver specific options")
    add("--ipv6", action="store_true", help="Enable IPv6 networking")
    add("--label", action="append", default=[], help="Set metadata on a network")
    add("-o", "--opt", action="append", default=[], value_type="map", help="Set driver specific options")
    add("--scope", default="", help="Control the network's scope")
    add("--subnet", action="append", default=[], value_type="strings", help="Subnet in CIDR format that represents a network segment")


def _ls_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--filter", action="append", default=[], value_type="filter", help="Provide filter values (e.g. 'driver=bridge')")
    parser.add_argument("--format", default=None, help="Pretty-print networks using a Go template")
    parser.add_argument("--no-trunc", action="store_true", help="Do not truncate the output")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only display network IDs")


def _inspect_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format the output using the given Go template")
    parser.add_argument("-v", "--verbose", action="store_true", help="Verbose output for diagnostics")


def _prune_flags(parser: FlagParser) -> None:
    parser.add_argument("--filter", action="append", default=[], value_type="filter", help="Provide filter values (e.g. 'until=<timestamp>')")
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")


def _connect_flags(parser: FlagParser) -> None:
    add = parser.add_argument
    add("--alias", action="append", default=[], value_type="strings", help="Add network-scoped alias for the container")
    add("--driver-opt", action="append", default=[], value_type="strings", help="driver options for the network")
    add("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
    add("--ip6", default="", help="IPv6 address (e.g., 2001:db8::33)")
    add("--link", action="append", default=[], help="Add link to another container")
    add("--link-local-ip", action="append", default=[], value_type="strings", help="Add a link-local address for the container")


def _disconnect_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force the container to disconnect from a network")


COMMANDS = {
    "network create": Command("network create", "[OPTIONS] NETWORK", "Create a network", create, _create_flags, min_args=1, max_args=1),
    "network ls": Command("network ls", "[OPTIONS]", "List networks", ls, _ls_flags, max_args=0, aliases=["list"]),
    "network inspect": Command("network inspect", "[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks", inspect, _inspect_flags, min_args=1),
    "network rm": Command("network rm", "NETWORK [NETWORK...]", "Remove one or more networks", rm, None, min_args=1, aliases=["remove"]),
    "network prune": Command("network prune", "[OPTIONS]", "Remove all unused networks", prune, _prune_flags, max_args=0),
    "network connect": Command("network connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network", connect, _connect_flags, min_args=2, max_args=2),
    "network disconnect": Command("network disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", disconnect, _disconnect_flags, min_args=2, max_args=2),
}
