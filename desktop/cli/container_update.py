"""``cove update``: change running containers' limits and restart policy, as docker does."""

from __future__ import annotations

from .command import Cli, Command
from .errors import CommandFailed, InvalidOption

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace


def _body(args: Namespace) -> dict[str, Any]:
    from .units import parse_nano_cpus, ram_in_bytes

    body: dict[str, Any] = {}
    try:
        if args.memory:
            body["Memory"] = ram_in_bytes(args.memory)
        if args.memory_swap:
            body["MemorySwap"] = -1 if args.memory_swap == "-1" else ram_in_bytes(args.memory_swap)
        if args.cpus:
            body["NanoCpus"] = parse_nano_cpus(args.cpus)
    except ValueError as exc:
        raise InvalidOption(f"invalid argument: {exc}", prefixed=False) from exc
    if args.cpu_shares is not None:
        body["CpuShares"] = args.cpu_shares
    if args.pids_limit is not None:
        body["PidsLimit"] = args.pids_limit
    if args.restart:
        from .run_options import parse_restart

        body["RestartPolicy"] = parse_restart(args.restart)
    return body


def update(args: Namespace, cli: Cli) -> int:
    from ..client.errors import APIError

    body = _body(args)
    if not body:
        raise CommandFailed("you must provide one or more flags when using this command")
    failed: list[str] = []
    for ref in args.args:
        try:
            cli.client.update_container(ref, body)
        except APIError as exc:
            failed.append(f"Error response from daemon: {exc}")
            continue
        cli.out(ref)
    if failed:
        raise CommandFailed("\n".join(failed))
    return 0


def _flags(parser: FlagParser) -> None:
    parser.add_argument("-c", "--cpu-shares", type=int, default=None,
                        help="CPU shares (relative weight)")
    parser.add_argument("--cpus", default=None, help="Number of CPUs")
    parser.add_argument("-m", "--memory", default=None, help="Memory limit")
    parser.add_argument("--memory-swap", default=None,
                        help='Swap limit equal to memory plus swap: -1 to enable unlimited swap')
    parser.add_argument("--pids-limit", type=int, default=None,
                        help="Tune container pids limit (set -1 for unlimited)")
    parser.add_argument("--restart", default=None,
                        help="Restart policy to apply when a container exits")


COMMANDS = {
    "update": Command("update", "[OPTIONS] CONTAINER [CONTAINER...]",
                      "Update configuration of one or more containers", update, _flags,
                      min_args=1),
}
