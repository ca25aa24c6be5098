"""``run``, ``create``, ``start`` and ``attach``: docker's create → attach → wait → start flow."""

from __future__ import annotations

import json
import os
import sys

from . import run_options
from .command import Cli, Command
from .errors import (
    EXIT_CODES,
    CannotInvoke,
    CommandFailed,
    CommandNotFound,
    InvalidOption,
    RunFailed,
    StreamError,
)

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace


def start_failure(message: str, verb: str | None = None) -> RunFailed:
    """docker's reading of a failed start: the command not found, not invocable, or else."""
    text = message.removeprefix("Error response from daemon: ")
    if any(s in text for s in ("executable file not found", "no such file or directory",
                               "system cannot find the file specified")):
        return CommandNotFound(message, verb)
    if "permission denied" in text or "is a directory" in text:
        return CannotInvoke(message, verb)
    return RunFailed(message, verb)


def normalize_image(ref: str) -> str:
    """``busybox`` -> ``busybox:latest``; references with a tag or digest are kept."""
    if "@" in ref:
        return ref
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else ref + ":latest"


def _build_body(args: Namespace, verb: str) -> dict[str, Any]:
    try:
        return run_options.build_create_body(args, args.args[0], args.args[1:], run=verb == "run")
    except InvalidOption as exc:
        raise RunFailed(exc.message, verb) from exc


PULL_POLICIES = ("always", "missing", "never")


def _pull(cli: Cli, image: str, quiet: bool, platform: str | None = None) -> None:
    """docker's ``pullImage``: progress goes to stderr (stdout carries only the ID)."""
    from cove.common.reference import parse_normalized

    from .jsonmessage import Discard
    from .registry import pull_image

    ref = parse_normalized(image).with_default_tag()
    pull_image(cli, ref, Discard() if quiet else cli.stderr, platform)


def create_container(cli: Cli, body: dict[str, Any], name: str | None, platform: str | None,
                     verb: str, pull: str, quiet: bool) -> str:
    """Create, pulling per ``--pull`` as docker does; every failure is ``RunFailed``.

    missing: pull once on "No such image"; always: pull first; never: the daemon's error.
    """
    from cove.common.reference import InvalidReference, parse_normalized

    from ..client.errors import APIError, ClientError, NotFound

    if pull not in PULL_POLICIES:
        raise RunFailed(f"invalid pull option: '{pull}': must be one "
                        'of "always", "missing" or "never"', verb)
    image = body["Image"]
    try:
        if pull == "always":
            _pull(cli, image, quiet, platform)
        created = cli.client.create_container(body, name=name, platform=platform)
    except NotFound as exc:
        if pull == "never" or "image" not in exc.message.lower():
            raise RunFailed(str(exc), verb) from exc
        try:
            ref = parse_normalized(image).with_default_tag()
        except InvalidReference:
            raise RunFailed(str(exc), verb) from exc
        if not quiet:
            cli.stderr.write(f"Unable to find image '{ref.familiar}' locally\n")
        try:
            _pull(cli, image, quiet, platform)
            created = cli.client.create_container(body, name=name, platform=platform)
        except (ClientError, StreamError) as again:
            raise RunFailed(str(again), verb) from again
    except (StreamError, InvalidReference, APIError) as exc:
        raise RunFailed(str(exc), verb) from exc
    for warning in created.get("Warnings") or []:
        cli.stderr.write(f"WARNING: {warning}\n")
    return str(created["Id"])


def _write_cidfile(path: str | None, cid: str) -> None:
    if not path:
        return
    if os.path.exists(path):
        raise InvalidOption("container ID file found, make sure the other container isn't "
                            f"running or delete {path}")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(cid)


def _read_wait(waiter: Any) -> int:
    try:
        raw = waiter.read()
    finally:
        waiter.close()
    try:
        result = json.loads(raw or b"{}")
    except ValueError:
        return EXIT_CODES[RunFailed]
    error = (result.get("Error") or {}).get("Message") if isinstance(result, dict) else None
    if error:
        sys.stderr.write(f"cove: {error}\n")
    return int(result.get("StatusCode", EXIT_CODES[RunFailed]))


class _SignalProxy:
    """Forward SIGINT/SIGTERM to the container while attached without a TTY (``--sig-proxy``).

    Uses ``_signal``, the C module under ``signal``: ``signal.py`` builds enums at import,
    and this runs on every ``cove run``.
    """

    def __init__(self, cli: Cli, cid: str, enabled: bool) -> None:
        self.cli, self.cid, self.enabled = cli, cid, enabled
        self.saved: dict[int, Any] = {}

    def __enter__(self) -> _SignalProxy:
        if self.enabled:
            import _signal  # type: ignore[import-not-found]  # no stub

            for signum in (_signal.SIGINT, _signal.SIGTERM):
                self.saved[signum] = _signal.signal(signum, self._forward)
        return self

    def _forward(self, signum: int, _frame: object) -> None:
        import signal

        try:
            self.cli.client.kill(self.cid, signal.Signals(signum).name)
        except Exception:  # noqa: BLE001 - the container may already be gone
            pass

    def __exit__(self, *exc: object) -> None:
        import _signal

        for signum, handler in self.saved.items():
            _signal.signal(signum, handler)


def detach_keys_of(flag: str | None) -> str | None:
    """The detach keys a session uses: ``--detach-keys``, else ``detachKeys`` in cove's
    config.json, else None (the daemon's and the CLI's default, ctrl-p,ctrl-q)."""
    if flag:
        return flag
    from ..client.credentials import ConfigFile, CredentialsError, cove_config_dir

    try:
        configured = ConfigFile.load(cove_config_dir()).raw.get("detachKeys")
    except CredentialsError:
        return None
    return configured if isinstance(configured, str) and configured else None


def escape_sequence(keys: str | None) -> bytes:
    """What the CLI watches stdin for; docker warns and uses the default for keys it cannot
    read (the daemon then refuses them with its own error)."""
    from cove.common.detach_keys import DEFAULT_DETACH_KEYS, parse_detach_keys

    try:
        return parse_detach_keys(keys or DEFAULT_DETACH_KEYS)
    except ValueError as exc:
        sys.stderr.write(f"WARNING: invalid detach escape keys, using default: {exc}\n")
        return parse_detach_keys(DEFAULT_DETACH_KEYS)


def attached_session(cli: Cli, cid: str, streams: tuple[bool, bool, bool], tty: bool,
                     start: bool, sig_proxy: bool, wait_condition: str | None,
                     verb: str | None, detach_keys: str | None = None) -> int:
    """Attach, register the wait, (start,) pump the streams, and return the exit status.

    A failed start is reported as ``verb`` (run) reports it, or bare without one (start -a).
    With a TTY the detach keys end the session and leave the container running: ``run``
    and ``start`` then exit 0, ``attach`` fails with docker's "read escape sequence".
    """
    from ..client.errors import APIError
    from ..client.streams import RawTerminal, ResizeOnWinch, pump

    stdin, stdout, stderr = streams
    if tty and stdin:  # the keys only act on a terminal's input: no config read otherwise
        detach_keys = detach_keys_of(detach_keys)
    escape = escape_sequence(detach_keys) if tty else None
    conn = cli.client.attach(cid, stdin=stdin, stdout=stdout, stderr=stderr,
                             detach_keys=detach_keys) if any(streams) else None
    try:
        waiter = cli.client.wait_begin(cid, wait_condition)
    except APIError:
        if conn:
            conn.close()
        raise
    if start:
        try:
            cli.client.start(cid)
        except APIError as exc:
            if conn:
                conn.close()
            waiter.close()
            raise start_failure(str(exc), verb) from exc
    stdin_fd = sys.stdin.fileno() if stdin else None
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    detached = False
    if conn is not None:
        with conn:
            use_raw = tty and stdin and os.isatty(sys.stdin.fileno())
            if tty and os.isatty(sys.stdout.fileno()):
                with ResizeOnWinch(lambda h, w: cli.client.resize(cid, h, w), sys.stdout.fileno()):
                    if use_raw:
                        with RawTerminal(sys.stdin.fileno()):
                            detached = pump(conn, stdin_fd, out, err, tty, escape)
                    else:
                        detached = pump(conn, stdin_fd, out, err, tty, escape)
            else:
                with _SignalProxy(cli, cid, sig_proxy and not tty):
                    detached = pump(conn, stdin_fd, out, err, tty, escape)
    if detached:
        waiter.close()
        if verb == "attach":
            raise CommandFailed("read escape sequence")
        return 0
    return _read_wait(waiter)


def check_tty(attach_stdin: bool, tty: bool) -> None:
    """docker's ``CheckTty``: a TTY asked for with stdin attached needs stdin to be one."""
    if tty and attach_stdin and not os.isatty(sys.stdin.fileno()):
        raise CommandFailed("the input device is not a TTY")


def run(args: Namespace, cli: Cli) -> int:
    body = _build_body(args, "run")
    if not args.detach:
        check_tty(bool(body["AttachStdin"]), bool(args.tty))
    cid = create_container(cli, body, args.name, args.platform, "run", args.pull, args.quiet)
    _write_cidfile(args.cidfile, cid)
    if args.detach:
        from ..client.errors import APIError

        try:
            cli.client.start(cid)
        except APIError as exc:
            raise start_failure(str(exc), "run") from exc
        cli.out(cid)
        return 0
    streams = (body["AttachStdin"], body["AttachStdout"], body["AttachStderr"])
    condition = "removed" if args.rm else "next-exit"
    return attached_session(cli, cid, streams, args.tty, True, args.sig_proxy != "false",
                            condition, "run", args.detach_keys)


def create(args: Namespace, cli: Cli) -> int:
    body = _build_body(args, "create")
    cid = create_container(cli, body, args.name, args.platform, "create", args.pull, args.quiet)
    _write_cidfile(args.cidfile, cid)
    cli.out(cid)
    return 0


def start(args: Namespace, cli: Cli) -> int:
    from ..client.errors import APIError

    if args.attach or args.interactive:
        if len(args.args) > 1:
            raise CommandFailed("you cannot start and attach multiple containers at once")
        ref = args.args[0]
        info = cli.client.inspect_container(ref)
        config = info.get("Config") or {}
        tty = bool(config.get("Tty"))
        stdin = bool(args.interactive and config.get("OpenStdin"))
        check_tty(stdin, tty)
        return attached_session(cli, info["Id"], (stdin, True, True), tty, True, True,
                                "next-exit", None, args.detach_keys)
    failed = []
    for ref in args.args:
        try:
            cli.client.start(ref)
            cli.out(ref)
        except APIError as exc:
            cli.err(str(exc))
            failed.append(ref)
    if failed:
        raise CommandFailed("Error: failed to start containers: " + ", ".join(failed))
    return 0


def attach(args: Namespace, cli: Cli) -> int:
    ref = args.args[0]
    info = cli.client.inspect_container(ref)
    state = info.get("State") or {}
    if not state.get("Running"):
        raise CommandFailed("You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise CommandFailed("You cannot attach to a paused container, unpause it first")
    config = info.get("Config") or {}
    stdin = bool(config.get("OpenStdin")) and not args.no_stdin
    return attached_session(cli, info["Id"], (stdin, True, True), bool(config.get("Tty")),
                            False, args.sig_proxy != "false", None, "attach", args.detach_keys)


def _configure_run(parser: FlagParser) -> None:
    run_options.configure(parser, run=True)


def _configure_create(parser: FlagParser) -> None:
    run_options.configure(parser, run=False)


def _configure_start(parser: FlagParser) -> None:
    parser.add_argument("-a", "--attach", action="store_true", help="Attach STDOUT/STDERR and forward signals")
    parser.add_argument("-i", "--interactive", action="store_true", help="Attach container's STDIN")
    parser.add_argument("--detach-keys", default=None, help="Override the key sequence for detaching a container")


def _configure_attach(parser: FlagParser) -> None:
    parser.add_argument("--no-stdin", action="store_true", help="Do not attach STDIN")
    parser.add_argument("--sig-proxy", default="true", help="Proxy all received signals to the process")
    parser.add_argument("--detach-keys", default=None, help="Override the key sequence for detaching a container")


COMMANDS = {
    "run": Command("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]",
                   "Create and run a new container from an image", run, _configure_run,
                   min_args=1, interspersed=False, hostname_flag=True),
    "create": Command("create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
                      create, _configure_create, min_args=1, interspersed=False,
                      hostname_flag=True),
    "start": Command("start", "[OPTIONS] CONTAINER [CONTAINER...]",
                     "Start one or more stopped containers", start, _configure_start, min_args=1),
    "attach": Command("attach", "[OPTIONS] CONTAINER",
                      "Attach local standard input, output, and error streams to a running container",
                      attach, _configure_attach, min_args=1, max_args=1),
}
