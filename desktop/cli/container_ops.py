"""Container lifecycle commands: stop, kill, restart, rm, pause, unpause, wait, rename, top,
logs and ``container prune``. Multi-container commands report each failure and exit 1."""

from __future__ import annotations

import sys

from .command import Cli, Command, parse_filters
from .errors import CommandFailed
from .units import parse_since

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Callable

    from .command import FlagParser, Namespace


def for_each(cli: Cli, refs: list[str], action: Callable[[str], object]) -> int:
    """Run ``action`` per container: print the ref on success, the error otherwise."""
    from ..client.errors import ClientError

    failed = False
    for ref in refs:
        try:
            action(ref)
        except ClientError as exc:
            cli.err(str(exc))
            failed = True
            continue
        cli.out(ref)
    if failed:
        raise CommandFailed()
    return 0


def stop(args: Namespace, cli: Cli) -> int:
    return for_each(cli, args.args, lambda ref: cli.client.stop(ref, args.time, args.signal))


def restart(args: Namespace, cli: Cli) -> int:
    return for_each(cli, args.args, lambda ref: cli.client.restart(ref, args.time, args.signal))


def kill(args: Namespace, cli: Cli) -> int:
    return for_each(cli, args.args, lambda ref: cli.client.kill(ref, args.signal))


def pause(args: Namespace, cli: Cli) -> int:
    return for_each(cli, args.args, cli.client.pause)


def unpause(args: Namespace, cli: Cli) -> int:
    return for_each(cli, args.args, cli.client.unpause)


def rm(args: Namespace, cli: Cli) -> int:
    return for_each(cli, args.args,
                    lambda ref: cli.client.remove_container(ref, force=args.force, v=args.volumes))


def wait(args: Namespace, cli: Cli) -> int:
    from ..client.errors import ClientError

    failed = False
    for ref in args.args:
        try:
            result = cli.client.wait(ref)
        except ClientError as exc:
            cli.err(str(exc))
            failed = True
            continue
        cli.out(str(result.get("StatusCode", "")))
    if failed:
        raise CommandFailed()
    return 0


def rename(args: Namespace, cli: Cli) -> int:
    old, new = args.args
    if not new.strip():
        raise CommandFailed("Error: neither old nor new names may be empty")
    from ..client.errors import ClientError

    try:
        cli.client.rename(old, new)
    except ClientError as exc:
        raise CommandFailed(f"{exc}\nError: failed to rename container named {old}") from exc
    return 0


def top(args: Namespace, cli: Cli) -> int:
    from .formatter import tabwrite

    ref, *ps_args = args.args
    result = cli.client.top(ref, " ".join(ps_args) or None)
    rows = [list(result.get("Titles") or [])] + [list(p) for p in result.get("Processes") or []]
    cli.stdout.write(tabwrite(rows, min_width=20))
    return 0


def logs(args: Namespace, cli: Cli) -> int:
    from ..client.streams import write_frames

    info = cli.client.inspect_container(args.args[0])
    tty = bool((info.get("Config") or {}).get("Tty"))
    stream = cli.client.logs(
        args.args[0], follow=args.follow, timestamps=args.timestamps, tail=args.tail,
        since=parse_since(args.since) if args.since else None,
        until=parse_since(args.until) if args.until else None)
    try:
        write_frames(iter(stream), sys.stdout.buffer, sys.stderr.buffer, tty)
    finally:
        stream.close()
    return 0


def prune(args: Namespace, cli: Cli) -> int:
    from . import prune as report_prune

    if not report_prune.confirmed(cli, "WARNING! This will remove all stopped containers.",
                                  args.force):
        return 0
    report = cli.client.prune_containers(parse_filters(args.filter)) or {}
    return report_prune.finish(
        cli, [report_prune.section("Deleted Containers:", report.get("ContainersDeleted") or [])],
        report.get("SpaceReclaimed") or 0)


def _stop_flags(parser: FlagParser) -> None:
    parser.add_argument("-t", "--timeout", "--time", dest="time", type=int, default=None,
                        help="Seconds to wait before killing the container")
    parser.add_argument("-s", "--signal", default=None, help="Signal to send to the container")


def _kill_flags(parser: FlagParser) -> None:
    parser.add_argument("-s", "--signal", default=None, help="Signal to send to the container")


def _rm_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force the removal of a running container (uses SIGKILL)")
    parser.add_argument("-v", "--volumes", action="store_true", help="Remove anonymous volumes associated with the container")
    parser.add_argument("-l", "--link", action="store_true", help="Remove the specified link")


def _logs_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    parser.add_argument("-n", "--tail", default="all", help="Number of lines to show from the end of the logs")
    parser.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    parser.add_argument("--since", default=None, help="Show logs since timestamp or relative (e.g. 42m)")
    parser.add_argument("--until", default=None, help="Show logs before a timestamp or relative")
    parser.add_argument("--details", action="store_true", help="Show extra details provided to logs")


def _prune_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    parser.add_argument("--filter", action="append", default=[], help="Provide filter values")


_MANY = "[OPTIONS] CONTAINER [CONTAINER...]"
COMMANDS = {
    "stop": Command("stop", _MANY, "Stop one or more running containers", stop, _stop_flags, min_args=1),
    "restart": Command("restart", _MANY, "Restart one or more containers", restart, _stop_flags, min_args=1),
    "kill": Command("kill", _MANY, "Kill one or more running containers", kill, _kill_flags, min_args=1),
    "rm": Command("rm", _MANY, "Remove one or more containers", rm, _rm_flags, min_args=1),
    "pause": Command("pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", pause, min_args=1),
    "unpause": Command("unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", unpause, min_args=1),
    "wait": Command("wait", "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", wait, min_args=1),
    "rename": Command("rename", "CONTAINER NEW_NAME", "Rename a container", rename, min_args=2, max_args=2),
    "top": Command("top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container", top, min_args=1, interspersed=False),
    "logs": Command("logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container", logs, _logs_flags, min_args=1, max_args=1),
    "container prune": Command("container prune", "[OPTIONS]", "Remove all stopped containers", prune, _prune_flags, max_args=0),
}
