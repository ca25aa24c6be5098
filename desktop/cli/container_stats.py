"""``cove stats``: live CPU, memory, I/O and PIDs per container, as ``docker stats`` shows.

The numbers are computed from the daemon's samples exactly as the docker CLI computes
them: CPU % from the container's and the host's CPU time since the previous sample,
memory without the inactive page cache, I/O summed over devices.
"""

from __future__ import annotations

import sys
import threading

from .command import Cli, Command
from .errors import CommandFailed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace

DEFAULT_FORMAT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t"
                  "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")
HEADERS = {"Container": "CONTAINER", "ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
           "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
CLEAR_SCREEN = "\033[2J\033[H"


def cpu_percent(sample: dict[str, Any]) -> float:
    cpu, pre = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    used = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - \
        (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [])
    return used / system * cpus * 100.0 if used > 0 and system > 0 else 0.0


def memory_usage(memory: dict[str, Any]) -> float:
    """docker's usage without cache: v1's total_inactive_file, else v2's inactive_file."""
    usage: float = memory.get("usage", 0)
    stats: dict[str, float] = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in stats and stats[key] < usage:
            return usage - stats[key]
    return usage


def _io(entries: list[dict[str, Any]] | None) -> tuple[int, int]:
    read = write = 0
    for entry in entries or []:
        op = str(entry.get("op", "")).lower()
        if op == "read":
            read += int(entry.get("value", 0))
        elif op == "write":
            write += int(entry.get("value", 0))
    return read, write


class Row:
    """One container's line: the fields docker's stats template offers."""

    def __init__(self, given: str, sample: dict[str, Any], trunc: bool) -> None:
        from .units import bytes_size, human_size

        self.Container = given
        cid = str(sample.get("id") or given)
        self.ID = cid[:12] if trunc else cid
        self.Name = str(sample.get("name") or "").lstrip("/") or "--"
        memory = sample.get("memory_stats") or {}
        usage, limit = memory_usage(memory), memory.get("limit", 0)
        self.CPUPerc = f"{cpu_percent(sample):.2f}%"
        self.MemUsage = f"{bytes_size(usage)} / {bytes_size(limit)}"
        self.MemPerc = f"{usage / limit * 100.0 if limit else 0.0:.2f}%"
        rx = sum(n.get("rx_bytes", 0) for n in (sample.get("networks") or {}).values())
        tx = sum(n.get("tx_bytes", 0) for n in (sample.get("networks") or {}).values())
        self.NetIO = f"{human_size(rx)} / {human_size(tx)}"
        read, write = _io((sample.get("blkio_stats") or {}).get("io_service_bytes_recursive"))
        self.BlockIO = f"{human_size(read)} / {human_size(write)}"
        self.PIDs = str((sample.get("pids_stats") or {}).get("current", 0))


def _targets(args: Namespace, cli: Cli) -> list[str]:
    if args.args:
        return list(args.args)
    return [c["Id"] for c in cli.client.containers(all=args.all)]


def _render(fmt: str, rows: list[Row]) -> str:
    from .formatter import render

    return render(fmt, rows, HEADERS)


def stats(args: Namespace, cli: Cli) -> int:
    from ..client.errors import APIError

    fmt = args.format or DEFAULT_FORMAT
    trunc = not args.no_trunc
    targets = _targets(args, cli)
    latest: dict[str, Row] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def follow(given: str) -> None:
        try:
            for sample in cli.client.stats(given, stream=not args.no_stream):
                with lock:
                    latest[given] = Row(given, sample, trunc)
        except APIError as exc:
            with lock:
                errors.append(f"Error response from daemon: {exc}")

    threads = [threading.Thread(target=follow, args=(t,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    if args.no_stream:
        for thread in threads:
            thread.join()
        if errors:
            raise CommandFailed(errors[0])
        cli.stdout.write(_render(fmt, [latest[t] for t in targets if t in latest]))
        return 0
    import time

    try:
        while any(thread.is_alive() for thread in threads) or not latest:
            time.sleep(1.0)
            with lock:
                if errors and not latest:
                    raise CommandFailed(errors[0])
                rows = [latest[t] for t in targets if t in latest]
            cli.stdout.write(CLEAR_SCREEN + _render(fmt, rows))
            cli.stdout.flush()
    except KeyboardInterrupt:
        sys.stdout.write("\n")
    return 0


def _flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all", action="store_true",
                        help="Show all containers (default shows just running)")
    parser.add_argument("--format", default=None,
                        help="Format output using a custom template")
    parser.add_argument("--no-stream", action="store_true",
                        help="Disable streaming stats and only pull the first result")
    parser.add_argument("--no-trunc", action="store_true", help="Do not truncate output")


COMMANDS = {
    "stats": Command("stats", "[OPTIONS] [CONTAINER...]",
                     "Display a live stream of container(s) resource usage statistics",
                     stats, _flags),
}
