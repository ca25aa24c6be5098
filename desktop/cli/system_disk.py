"""``system df`` and ``system prune``: docker's disk summary and its one-command clean-up.

Both are computed in the client from the daemon's answers, as the docker CLI computes
them: ``df`` from ``GET /system/df``; ``prune`` by calling the container, network,
(volume,) image and build-cache prunes in docker's order and adding up what they freed.
"""

from __future__ import annotations

from .command import Cli, Command, parse_filters
from .units import human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace


def _size(value: float) -> str:
    return human_size(value, 4)


def _with_percent(reclaimable: int, total: int) -> str:
    return f"{_size(reclaimable)} ({reclaimable * 100 // total}%)" if total > 0 else _size(reclaimable)


def summary_rows(usage: dict[str, Any]) -> list[list[str]]:
    """The four rows of ``docker system df``: total, active, size, reclaimable."""
    images = usage.get("Images") or []
    layers = int(usage.get("LayersSize") or 0)
    used = sum(i["Size"] - i["SharedSize"] for i in images
               if i.get("Containers") and i.get("Size", -1) != -1 and i.get("SharedSize", -1) != -1)
    containers = usage.get("Containers") or []
    active = [c for c in containers if c.get("State") in ("running", "paused", "restarting")]
    rw = sum(c.get("SizeRw") or 0 for c in containers)
    idle_rw = sum(c.get("SizeRw") or 0 for c in containers if c not in active)
    volumes = usage.get("Volumes") or []
    sized = [v for v in volumes if (v.get("UsageData") or {}).get("Size", -1) != -1]
    volume_size = sum(v["UsageData"]["Size"] for v in sized)
    linked = [v for v in volumes if (v.get("UsageData") or {}).get("RefCount", 0) > 0]
    unlinked = sum(v["UsageData"]["Size"] for v in sized if v["UsageData"].get("RefCount", 0) == 0)
    cache = usage.get("BuildCache") or []
    cache_size = sum(b.get("Size", 0) for b in cache if not b.get("Shared"))
    cache_free = sum(b.get("Size", 0) for b in cache if not b.get("Shared") and not b.get("InUse"))
    return [
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        ["Images", str(len(images)), str(sum(1 for i in images if i.get("Containers"))),
         _size(layers), _with_percent(layers - used, layers)],
        ["Containers", str(len(containers)), str(len(active)), _size(rw),
         _with_percent(idle_rw, rw)],
        ["Local Volumes", str(len(volumes)), str(len(linked)), _size(volume_size),
         _with_percent(unlinked, volume_size)],
        ["Build Cache", str(len(cache)), str(sum(1 for b in cache if b.get("InUse"))),
         _size(cache_size), _size(cache_free)],
    ]


def df(args: Namespace, cli: Cli) -> int:
    from .formatter import tabwrite

    cli.stdout.write(tabwrite(summary_rows(cli.client.disk_usage() or {})))
    return 0


def _warning(args: Namespace) -> str:
    lines = ["WARNING! This will remove:", "  - all stopped containers",
             "  - all networks not used by at least one container"]
    if args.volumes:
        lines.append("  - all anonymous volumes not used by at least one container")
    if args.all:
        lines += ["  - all images without at least one container associated to them",
                  "  - all build cache"]
    else:
        lines += ["  - all dangling images", "  - unused build cache"]
    return "\n".join(lines) + "\n\n"


def prune(args: Namespace, cli: Cli) -> int:
    from .prune import confirmed, finish, image_lines, section

    if not confirmed(cli, _warning(args), args.force, ""):
        return 0
    filters = parse_filters(args.filter)
    client = cli.client
    reclaimed = 0
    outputs: list[str] = []
    report = client.prune_containers(filters) or {}
    reclaimed += report.get("SpaceReclaimed") or 0
    outputs.append(section("Deleted Containers:", report.get("ContainersDeleted") or []))
    report = client.prune_networks(filters) or {}
    outputs.append(section("Deleted Networks:", report.get("NetworksDeleted") or []))
    if args.volumes:
        report = client.prune_volumes({k: v for k, v in filters.items() if k != "until"}) or {}
        reclaimed += report.get("SpaceReclaimed") or 0
        outputs.append(section("Deleted Volumes:", report.get("VolumesDeleted") or []))
    image_filters = {**filters, "dangling": ["false"]} if args.all else filters
    report = client.prune_images(image_filters) or {}
    reclaimed += report.get("SpaceReclaimed") or 0
    outputs.append(section("Deleted Images:", image_lines(report)))
    report = client.prune_build_cache(args.all, filters) or {}
    reclaimed += report.get("SpaceReclaimed") or 0
    outputs.append(section("Deleted build cache objects:", report.get("CachesDeleted") or []))
    return finish(cli, outputs, reclaimed)


def _prune_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all", action="store_true",
                        help="Remove all unused images not just dangling ones")
    parser.add_argument("--filter", action="append", default=[],
                        help='Provide filter values (e.g. "label=<key>=<value>")')
    parser.add_argument("-f", "--force", action="store_true",
                        help="Do not prompt for confirmation")
    parser.add_argument("--volumes", action="store_true", help="Prune anonymous volumes")


COMMANDS = {
    "system df": Command("system df", "", "Show docker disk usage", df, max_args=0),
    "system prune": Command("system prune", "[OPTIONS]", "Remove unused data", prune,
                            _prune_flags, max_args=0),
}
