"""Volume commands: ``volume create``, ``ls``, ``inspect``, ``rm`` and ``prune``, with
docker's flags, columns, prompts and messages."""

from __future__ import annotations

import re

from . import formatter
from .command import Cli, Command, add_format, parse_filters
from .errors import CommandFailed
from .units import human_size

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace

LS_FORMAT = "table {{.Driver}}\t{{.Name}}"
LS_HEADERS = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
              "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE",
              "Group": "GROUP", "Availability": "AVAILABILITY", "Status": "STATUS"}
PRUNE_WARNING = ("WARNING! This will remove all local volumes not used by at least one "
                 "container.")


def key_value_map(values: list[str]) -> dict[str, str]:
    """``k=v`` flags as a map; a bare ``k`` maps to "" (docker's ConvertKVStringsToMap)."""
    result: dict[str, str] = {}
    for value in values:
        key, _, item = value.partition("=")
        result[key] = item
    return result


def natural_key(text: str) -> list[Any]:
    """Order names as docker's ``sortorder.NaturalLess``: digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.findall(r"\d+|\D+", text)]


class VolumeRow:
    """A ``volume ls`` row: the fields docker's volume formatter offers."""

    def __init__(self, volume: dict[str, Any]) -> None:
        self.volume = volume

    @property
    def Name(self) -> str:  # noqa: N802 - docker's template field names
        return str(self.volume.get("Name", ""))

    @property
    def Driver(self) -> str:  # noqa: N802
        return str(self.volume.get("Driver", ""))

    @property
    def Scope(self) -> str:  # noqa: N802
        return str(self.volume.get("Scope", ""))

    @property
    def Mountpoint(self) -> str:  # noqa: N802
        return str(self.volume.get("Mountpoint", ""))

    @property
    def Labels(self) -> str:  # noqa: N802
        labels = self.volume.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def Label(self, name: str) -> str:  # noqa: N802
        return str((self.volume.get("Labels") or {}).get(name, ""))

    @property
    def Links(self) -> str:  # noqa: N802
        usage = self.volume.get("UsageData") or {}
        return "N/A" if not usage else str(usage.get("RefCount", "N/A"))

    @property
    def Size(self) -> str:  # noqa: N802
        usage = self.volume.get("UsageData") or {}
        return "N/A" if not usage or usage.get("Size", -1) == -1 else human_size(usage["Size"])

    Group = Availability = Status = property(lambda self: "N/A")  # cluster volumes only

    def to_json(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in (
            "Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name",
            "Scope", "Size", "Status")}


def create(args: Namespace, cli: Cli) -> int:
    name = args.name or ""
    if args.args:
        if name:
            raise CommandFailed("conflicting options: cannot specify a volume-name through "
                                "both --name and as a positional arg")
        name = args.args[0]
    volume = cli.client.create_volume(name, args.driver, key_value_map(args.label),
                                      key_value_map(args.opt))
    cli.out(str(volume.get("Name", "")))
    return 0


def ls(args: Namespace, cli: Cli) -> int:
    result = cli.client.volumes(parse_filters(args.filter))
    rows = sorted((VolumeRow(v) for v in result.get("Volumes") or []),
                  key=lambda row: natural_key(row.Name))
    for warning in result.get("Warnings") or []:
        cli.err(str(warning))
    if args.quiet:
        cli.stdout.write("".join(row.Name + "\n" for row in rows))
        return 0
    source = args.format or LS_FORMAT
    if source == "json":
        source = "{{json .}}"
    cli.stdout.write(formatter.render(source, rows, LS_HEADERS))
    return 0


def inspect(args: Namespace, cli: Cli) -> int:
    from .inspect import inspect_each

    return inspect_each(cli, args.args, cli.client.inspect_volume, args.format)


def rm(args: Namespace, cli: Cli) -> int:
    from ..client.errors import ClientError

    errors: list[str] = []
    for name in args.args:
        try:
            cli.client.remove_volume(name, force=args.force)
        except ClientError as exc:
            errors.append(str(exc))
            continue
        cli.out(name)
    if errors:
        raise CommandFailed("\n".join(errors))
    return 0


def prune(args: Namespace, cli: Cli) -> int:
    if args.all:
        version = cli.client.api_version
        raise CommandFailed(f'"--all" requires API version 1.42, but the Cove daemon API '
                            f"version is {version}")
    filters = parse_filters(args.filter)
    from . import prune as report_prune

    if not report_prune.confirmed(cli, PRUNE_WARNING, args.force):
        return 0
    report = cli.client.prune_volumes(filters) or {}
    return report_prune.finish(
        cli, [report_prune.section("Deleted Volumes:", report.get("VolumesDeleted") or [])],
        report.get("SpaceReclaimed") or 0)


def _create_flags(parser: FlagParser) -> None:
    parser.add_argument("-d", "--driver", default="local", help="Specify volume driver name")
    parser.add_argument("--label", action="append", default=[], help="Set metadata for a volume")
    parser.add_argument("--name", default=None, help="Specify volume name")
    parser.add_argument("-o", "--opt", action="append", default=[], help="Set driver specific options")


def _ls_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--filter", action="append", default=[], help='Provide filter values (e.g. "dangling=true")')
    add_format(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="Only display volume names")


def _inspect_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a custom template")


def _rm_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force the removal of one or more volumes")


def _prune_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="Remove all unused volumes, not just anonymous ones")
    parser.add_argument("--filter", action="append", default=[], help='Provide filter values (e.g. "label=<label>")')
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")


COMMANDS = {
    "volume create": Command("volume create", "[OPTIONS] [VOLUME]", "Create a volume", create, _create_flags, max_args=1),
    "volume ls": Command("volume ls", "[OPTIONS]", "List volumes", ls, _ls_flags, max_args=0, aliases=["list"]),
    "volume inspect": Command("volume inspect", "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", inspect, _inspect_flags, min_args=1),
    "volume rm": Command("volume rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", rm, _rm_flags, min_args=1, aliases=["remove"]),
    "volume prune": Command("volume prune", "[OPTIONS]", "Remove unused local volumes", prune, _prune_flags, max_args=0),
}
