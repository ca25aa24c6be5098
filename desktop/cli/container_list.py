"""``ps``: list containers with docker's columns, truncation and ``--format`` fields."""

from __future__ import annotations

import json
import time

from . import formatter
from .command import Cli, Command, add_format, parse_filters
from .units import ago, human_size

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace

DEFAULT_FORMAT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
HEADERS = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES",
    "Size": "SIZE", "Labels": "LABELS", "Label": "LABEL", "State": "STATE",
    "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
    "Platform": "PLATFORM",
}


def ellipsis(text: str, width: int) -> str:
    """Cut to ``width`` characters, the last one becoming "…" (docker's ``Ellipsis``)."""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…"


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` for printable text."""
    return json.dumps(text, ensure_ascii=False)


def format_ports(ports: list[dict[str, Any]] | None) -> str:
    parts = []
    for port in sorted(ports or [], key=lambda p: (p.get("PrivatePort", 0), p.get("Type", ""))):
        private = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
        if port.get("PublicPort"):
            parts.append(f"{port.get('IP', '0.0.0.0')}:{port['PublicPort']}->{private}")
        else:
            parts.append(private)
    return ", ".join(parts)


def local_time(timestamp: float) -> str:
    """Go's ``time.Time.String()`` without the monotonic part, in local time."""
    local = time.localtime(timestamp)
    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", local)


class ContainerRow:
    """The dot of a ``ps --format`` template: docker's ContainerContext fields."""

    def __init__(self, summary: dict[str, Any], trunc: bool, now: float | None = None) -> None:
        self._c = summary
        self._trunc = trunc
        self._now = now

    @property
    def ID(self) -> str:  # noqa: N802 - template field names are docker's
        cid = str(self._c.get("Id", ""))
        return cid[:12] if self._trunc else cid

    @property
    def Image(self) -> str:  # noqa: N802
        image = str(self._c.get("Image", ""))
        if self._trunc and image.startswith("sha256:"):
            return image[7:19]
        if self._trunc and "@" in image:
            return image.split("@", 1)[0]
        return image

    @property
    def Command(self) -> str:  # noqa: N802
        command = str(self._c.get("Command", ""))
        return go_quote(ellipsis(command, 20) if self._trunc else command)

    @property
    def CreatedAt(self) -> str:  # noqa: N802
        return local_time(float(self._c.get("Created", 0)))

    @property
    def RunningFor(self) -> str:  # noqa: N802
        return ago(float(self._c.get("Created", 0)), self._now)

    @property
    def Status(self) -> str:  # noqa: N802
        return str(self._c.get("Status", ""))

    @property
    def State(self) -> str:  # noqa: N802
        return str(self._c.get("State", ""))

    @property
    def Ports(self) -> str:  # noqa: N802
        return format_ports(self._c.get("Ports"))

    @property
    def Names(self) -> str:  # noqa: N802
        names = [n.lstrip("/") for n in self._c.get("Names") or []]
        return ",".join(n for n in names if "/" not in n)

    @property
    def Size(self) -> str:  # noqa: N802
        rw = self._c.get("SizeRw") or 0
        root = self._c.get("SizeRootFs") or 0
        return f"{human_size(rw)} (virtual {human_size(root)})"

    @property
    def Labels(self) -> str:  # noqa: N802
        labels = self._c.get("Labels") or {}
        return ",".join(f"{k}={labels[k]}" for k in sorted(labels))

    def Label(self, name: str) -> str:  # noqa: N802
        return str((self._c.get("Labels") or {}).get(name, ""))

    @property
    def Mounts(self) -> str:  # noqa: N802
        return ",".join(str(m.get("Name") or m.get("Source", "")) for m in self._c.get("Mounts") or [])

    @property
    def Networks(self) -> str:  # noqa: N802
        networks = ((self._c.get("NetworkSettings") or {}).get("Networks")) or {}
        return ",".join(sorted(networks))

    @property
    def LocalVolumes(self) -> str:  # noqa: N802
        return str(sum(1 for m in self._c.get("Mounts") or [] if m.get("Driver") == "local"))

    def to_json(self) -> dict[str, str]:
        fields = ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts",
                  "Names", "Networks", "Ports", "RunningFor", "Size", "State", "Status"]
        values: dict[str, Any] = {name: getattr(self, name) for name in fields}
        values["Platform"] = self._c.get("ImageManifestDescriptor", {}).get("platform") if self._c.get("ImageManifestDescriptor") else None
        return dict(sorted(values.items()))


def ps(args: Namespace, cli: Cli) -> int:
    limit = 1 if args.latest else args.last
    if args.quiet:
        source = "{{.ID}}"
    elif args.format:
        source = "{{json .}}" if args.format == "json" else args.format
    else:
        source = DEFAULT_FORMAT + ("\t{{.Size}}" if args.size else "")
    wants_size = args.size or ".Size" in source or "json ." in source.replace("json .}", "json . }")
    containers = cli.client.containers(all=args.all or limit > 0, limit=limit, size=wants_size,
                                       filters=parse_filters(args.filter))
    rows = [ContainerRow(c, not args.no_trunc) for c in containers]
    cli.stdout.write(formatter.render(source, rows, HEADERS))
    return 0


def _configure(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    parser.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    add_format(parser)
    parser.add_argument("-n", "--last", type=int, default=-1, help="Show n last created containers (includes all states)")
    parser.add_argument("-l", "--latest", action="store_true", help="Show the latest created container (includes all states)")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    parser.add_argument("-s", "--size", action="store_true", help="Display total file sizes")


COMMANDS = {
    "ps": Command("ps", "[OPTIONS]", "List containers", ps, _configure, max_args=0),
}
