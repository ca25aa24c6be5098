"""``exec``: create an exec instance, start it hijacked (or detached), exit with its code."""

from __future__ import annotations

import os
import sys

from . import run_options
from .command import Cli, Command
from .container_run import check_tty, detach_keys_of, escape_sequence
from .errors import ArgCountError, CommandFailed

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from .command import FlagParser, Namespace


def exec_(args: Namespace, cli: Cli) -> int:
    from ..client.errors import APIError
    from ..client.streams import RawTerminal, ResizeOnWinch, pump

    ref, command = args.args[0], args.args[1:]
    if not command:
        raise ArgCountError("'cove exec' requires at least 2 arguments")
    env: list[str] = []
    for path in args.env_file:
        env.extend(run_options.read_kv_file(path, "env", os.environ))
    env.extend(run_options.expand_env(e, os.environ) for e in args.env)
    body = {
        "User": args.user, "Privileged": args.privileged, "Tty": args.tty,
        "AttachStdin": args.interactive and not args.detach,
        "AttachStdout": not args.detach, "AttachStderr": not args.detach,
        "Detach": args.detach, "Env": env, "WorkingDir": args.workdir, "Cmd": command,
    }
    detach_keys = args.detach_keys
    if args.tty and args.interactive:  # the keys only act on a terminal's input
        detach_keys = detach_keys_of(detach_keys)
    if detach_keys:
        body["DetachKeys"] = detach_keys
    if not args.detach and args.tty and args.interactive and not os.isatty(sys.stdin.fileno()):
        cli.client.inspect_container(ref)  # as docker, a missing container is said first
        check_tty(True, True)
    exec_id = cli.client.exec_create(ref, body)["Id"]
    if args.detach:
        cli.client.exec_start_detached(exec_id, tty=args.tty)
        return 0
    conn = cli.client.exec_start(exec_id, tty=args.tty)
    stdin_fd = sys.stdin.fileno() if args.interactive else None
    out, err = sys.stdout.buffer, sys.stderr.buffer
    escape = escape_sequence(detach_keys) if args.tty else None
    with conn:
        if args.tty and os.isatty(sys.stdout.fileno()):
            with ResizeOnWinch(lambda h, w: cli.client.exec_resize(exec_id, h, w), sys.stdout.fileno()):
                if args.interactive and os.isatty(sys.stdin.fileno()):
                    with RawTerminal(sys.stdin.fileno()):
                        detached = pump(conn, stdin_fd, out, err, True, escape)
                else:
                    detached = pump(conn, stdin_fd, out, err, True, escape)
        else:
            detached = pump(conn, stdin_fd, out, err, args.tty, escape)
    if detached:  # the command goes on; docker says so and fails
        raise CommandFailed("read escape sequence")
    try:
        result = cli.client.exec_inspect(exec_id)
    except APIError:
        return 0
    code = result.get("ExitCode")
    return int(code) if code is not None else 0


def _configure(parser: FlagParser) -> None:
    add = parser.add_argument
    add("-d", "--detach", action="store_true", help="Detached mode: run command in the background")
    add("--detach-keys", default=None, help="Override the key sequence for detaching a container")
    add("-e", "--env", action="append", default=[], help="Set environment variables")
    add("--env-file", action="append", default=[], help="Read in a file of environment variables")
    add("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    add("--privileged", action="store_true", help="Give extended privileges to the command")
    add("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    add("-u", "--user", default="", help="Username or UID (format: \"<name|uid>[:<group|gid>]\")")
    add("-w", "--workdir", default="", help="Working directory inside the container")


COMMANDS = {
    "exec": Command("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]",
                    "Execute a command in a running container", exec_, _configure,
                    min_args=1, interspersed=False),
}
