"""``cove build``: docker's classic builder client (``DOCKER_BUILDKIT=0 docker build``).

The context (a directory, a tar, or a Dockerfile on stdin) is sent as a chunked tar
body; the daemon's JSON stream is rendered as docker renders it, and the exit status is
docker's (the failing RUN's code, 1 for other errors).
"""

from __future__ import annotations

from cove.common.remote_context import looks_like_archive

from .command import Cli, Command
from .errors import CommandFailed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from .command import FlagParser, Namespace

SENDING = "Sending build context to Docker daemon"


def _context_error(message: str) -> CommandFailed:
    return CommandFailed(f"unable to prepare context: {message}")


def _read_stdin(cli: Cli) -> bytes:
    stdin = getattr(cli.stdin, "buffer", cli.stdin)
    data = stdin.read()
    return data.encode() if isinstance(data, str) else data


def _dockerfile_in_dir(context: str, name: str | None) -> tuple[str, str]:
    """docker's getDockerfileRelPath: (absolute Dockerfile path, its path from the context).

    ``-f`` is relative to the current directory, not the context; without it ``Dockerfile``
    (or ``dockerfile``) in the context. A path starting with ``..`` lies outside.
    """
    import os

    context = os.path.realpath(context)
    if name:
        path = os.path.abspath(name)
    else:
        path = os.path.join(context, "Dockerfile")
        if not os.path.lexists(path) and os.path.lexists(os.path.join(context, "dockerfile")):
            path = os.path.join(context, "dockerfile")
    if not os.path.lexists(path):
        raise _context_error("unable to evaluate symlinks in Dockerfile path: "
                             f"lstat {path}: no such file or directory")
    path = os.path.realpath(path)
    if os.path.isdir(path):
        raise _context_error(f'the Dockerfile ({path}) cannot be a directory')
    return path, os.path.relpath(path, context)


def prepare_context(args: Namespace, cli: Cli, body: IO[bytes]) -> str:
    """Write the context tar to ``body``; returns the Dockerfile's name inside it."""
    import os

    source = args.args[0]
    if args.file == "-" and source == "-":
        raise CommandFailed("invalid argument: can't use stdin for both build context "
                            "and dockerfile")
    if source == "-":
        return _archive_or_dockerfile(_read_stdin(cli), args, body)
    if os.path.isdir(source):
        from .build_context import write_context_tar

        extra = None
        if args.file == "-":
            dockerfile = f".dockerfile.{os.urandom(10).hex()}"
            extra = (dockerfile, _read_stdin(cli))
        else:
            path, dockerfile = _dockerfile_in_dir(source, args.file)
            if dockerfile.startswith(".." + os.sep) or dockerfile == "..":
                with open(path, "rb") as f:  # travels inside the context under a new name
                    dockerfile = f".dockerfile.{os.urandom(10).hex()}"
                    extra = (dockerfile, f.read())
            dockerfile = dockerfile.replace(os.sep, "/")
        try:
            write_context_tar(source, dockerfile, body, extra)
        except ValueError as exc:
            raise CommandFailed(f"error checking context: {exc}") from exc
        except OSError as exc:
            raise CommandFailed(f"error checking context: {exc}") from exc
        return dockerfile
    if os.path.isfile(source):
        with open(source, "rb") as f:
            while chunk := f.read(1 << 20):
                body.write(chunk)
        return args.file or "Dockerfile"
    from cove.common import remote_context

    if remote_context.is_git_url(source):
        return _git_context(args, cli, body, source)
    if remote_context.is_url(source):
        return _archive_or_dockerfile(_download(source, cli.stdout if not args.quiet else None),
                                      args, body)
    raise _context_error(f'path "{source}" not found')


def _archive_or_dockerfile(data: bytes, args: Namespace, body: IO[bytes]) -> str:
    """docker's GetContextFromReader: a (compressed) tar is the context; anything else is
    a Dockerfile, alone in an empty context. Returns the Dockerfile's name in it."""
    if looks_like_archive(data[:512]):
        body.write(data)
        return args.file or "Dockerfile"
    if args.file:
        raise _context_error("ambiguous Dockerfile source: both stdin and flag "
                             "correspond to Dockerfiles")
    from .build_context import write_single_file_tar

    write_single_file_tar("Dockerfile", data, body)
    return "Dockerfile"


def _download(url: str, progress: IO[str] | None) -> bytes:
    from cove.common.remote_context import RemoteContextError, download

    from .units import human_size

    try:
        data = download(url)
    except RemoteContextError as exc:
        raise _context_error(str(exc)) from exc
    if progress is not None:
        progress.write(f"Downloading build context from remote url: {url} "
                       f"{human_size(len(data), 4):>8}\r\n")
    return data


def _git_context(args: Namespace, cli: Cli, body: IO[bytes], url: str) -> str:
    """Clone, then tar the checkout as a local context; ``-f`` is relative to it."""
    import os
    import shutil

    from cove.common.remote_context import RemoteContextError, clone

    from .build_context import write_context_tar

    temp_root = _temporary_dir()
    try:
        try:
            context = clone(url, temp_root)
        except RemoteContextError as exc:
            raise _context_error(str(exc)) from exc
        _path, dockerfile = _dockerfile_in_dir(
            context, os.path.join(context, args.file) if args.file else None)
        if dockerfile.startswith(".."):
            raise _context_error(f"the Dockerfile ({args.file}) must be within the build "
                                 "context")
        try:
            write_context_tar(context, dockerfile.replace(os.sep, "/"), body)
        except (ValueError, OSError) as exc:
            raise CommandFailed(f"error checking context: {exc}") from exc
        return dockerfile.replace(os.sep, "/")
    finally:
        shutil.rmtree(temp_root, ignore_errors=True)


def _temporary_dir() -> str:
    import os

    directory = os.path.join(os.environ.get("TMPDIR") or "/tmp",
                             f"cove-build-git-{os.urandom(8).hex()}")
    os.mkdir(directory, 0o700)
    return directory


def build_params(args: Namespace, dockerfile: str) -> dict[str, Any]:
    """The flags as ``POST /build``'s query, the way the docker CLI (v1 builder) sends them."""
    import json
    import os

    from .run_options import parse_extra_host

    build_args: dict[str, str | None] = {}
    for item in args.build_arg:
        key, eq, value = item.partition("=")
        build_args[key] = value if eq else os.environ.get(key)
    labels = dict(item.partition("=")[::2] for item in args.label)

    def as_json(value: dict[str, Any]) -> str | None:
        return json.dumps(value, separators=(",", ":"), sort_keys=True) if value else None

    return {
        "t": args.tag or None, "dockerfile": dockerfile, "buildargs": as_json(build_args),
        "labels": as_json(labels), "target": args.target or None, "q": args.quiet,
        "nocache": args.no_cache, "pull": args.pull, "platform": args.platform or None,
        # docker sends forcerm when set, else rm only when it is off
        "forcerm": args.force_rm, "rm": None if args.force_rm or args.rm else "0",
        "extrahosts": [parse_extra_host(host) for host in args.add_host] or None,
        # docker leaves the default out
        "networkmode": args.network if args.network not in (None, "", "default") else None,
        "version": "1",
    }


class ContextUpload:
    """The context body, reporting docker's ``Sending build context`` progress as it is read.

    Like moby's progress reader: a line per 512 KiB (at most ten a second), each ending in
    ``\\r`` so a terminal redraws it, the last one followed by ``\\r\\n``. Off a terminal
    only the last line is written (docker's ``lastProgressOutput``).
    """

    def __init__(self, body: IO[bytes], out: IO[str]) -> None:
        from .jsonmessage import is_terminal

        self.body, self.out = body, out
        self.terminal = is_terminal(out)  # type: ignore[arg-type]
        self.sent = self.reported = 0
        self.last_time = 0.0
        self.done = False

    def _report(self) -> None:
        from .units import human_size

        self.out.write(f"{SENDING} {human_size(self.sent, 4):>8}\r")
        self.out.flush()
        self.reported = self.sent

    def read(self, size: int = -1) -> bytes:
        import time

        data = self.body.read(size)
        self.sent += len(data)
        if not data and not self.done:
            self.done = True
            self._report()
            self.out.write("\r\n")
        elif self.terminal and self.sent - self.reported > 512 * 1024 \
                and time.monotonic() - self.last_time > 0.1:
            self.last_time = time.monotonic()
            self._report()
        return data


def _validate_tags(tags: list[str]) -> None:
    """docker rejects a malformed ``-t`` while parsing flags: usage and exit 125."""
    from cove.common.reference import InvalidReference, parse_normalized

    from .errors import UsageError

    for tag in tags:
        try:
            parse_normalized(tag)
        except InvalidReference as exc:
            raise UsageError(f'invalid argument "{tag}" for "-t, --tag" flag: {exc}') from exc


def build(args: Namespace, cli: Cli) -> int:
    import io

    from ..client.credentials import registry_config_header
    from .errors import StreamError
    from .jsonmessage import display_stream

    _validate_tags(args.tag)
    # an unnamed temp file (O_TMPFILE): the ``tempfile`` module costs ~12 ms to import
    with _temporary_file() as body:
        dockerfile = prepare_context(args, cli, body)
        body.seek(0)
        progress: IO[str] = io.StringIO() if args.quiet else cli.stdout
        upload = ContextUpload(body, progress)
        image_ids: list[str] = []
        output: IO[str] = io.StringIO() if args.quiet else cli.stdout

        def aux(message: dict[str, Any]) -> None:
            if isinstance(message["aux"], dict) and message["aux"].get("ID"):
                image_ids.append(str(message["aux"]["ID"]))

        try:
            messages = cli.client.build(upload, build_params(args, dockerfile),  # type: ignore[arg-type]
                                        registry_config_header())
            display_stream(messages, output, aux=aux)  # type: ignore[arg-type]
        except StreamError:
            if args.quiet:  # what was held back explains the failure
                cli.stderr.write(progress.getvalue() + output.getvalue())  # type: ignore[attr-defined]
            raise
    image_id = image_ids[-1] if image_ids else ""
    if args.quiet:  # dockerd streams just the ID when q=1: docker prints that stream
        streamed = output.getvalue()  # type: ignore[attr-defined]
        image_id = streamed or (image_id + "\n" if image_id else "")  # else the aux ID
        cli.stdout.write(image_id)
    if args.iidfile:
        if not image_id:
            raise CommandFailed(f"Server did not provide an image ID. Cannot write {args.iidfile}")
        with open(args.iidfile, "w", encoding="utf-8") as f:
            f.write(image_id)
    return 0


def _flags(parser: FlagParser) -> None:
    parser.add_argument("-t", "--tag", action="append", default=[],
                        help="Name and optionally a tag in the 'name:tag' format")
    parser.add_argument("-f", "--file", default=None,
                        help="Name of the Dockerfile (Default is 'PATH/Dockerfile')")
    parser.add_argument("--build-arg", action="append", default=[],
                        help="Set build-time variables")
    parser.add_argument("--target", default=None, help="Set the target build stage to build.")
    parser.add_argument("--no-cache", action="store_true",
                        help="Do not use cache when building the image")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="Suppress the build output and print image ID on success")
    parser.add_argument("--pull", action="store_true",
                        help="Always attempt to pull a newer version of the image")
    parser.add_argument("--label", action="append", default=[],
                        help="Set metadata for an image")
    parser.add_argument("--rm", action="store_true", default=True,
                        help="Remove intermediate containers after a successful build")
    parser.add_argument("--force-rm", action="store_true",
                        help="Always remove intermediate containers")
    parser.add_argument("--iidfile", default=None, help="Write the image ID to the file")
    parser.add_argument("--add-host", action="append", default=[],
                        help="Add a custom host-to-IP mapping (host:ip)")
    parser.add_argument("--platform", default=None,
                        help="Set platform if server is multi-platform capable")
    parser.add_argument("--network", default=None, value_type="string",
                        help='Set the networking mode for the RUN instructions during build '
                             '(default "default")')


def prune(args: Namespace, cli: Cli) -> int:
    """``builder prune``: the daemon's unused build cache (cache mounts; with -a the steps)."""

    from . import prune as report_prune
    from .command import parse_filters

    what = "all build cache" if args.all else "all dangling build cache"
    if not report_prune.confirmed(cli, f"WARNING! This will remove {what}.", args.force, " "):
        return 0
    report = cli.client.prune_build_cache(args.all, parse_filters(args.filter)) or {}
    return report_prune.finish(
        cli, [report_prune.section("Deleted build cache objects:",
                                   report.get("CachesDeleted") or [])],
        report.get("SpaceReclaimed") or 0)


def _prune_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all", action="store_true",
                        help="Remove all unused build cache, not just dangling ones")
    parser.add_argument("--filter", action="append", default=[],
                        help='Provide filter values (e.g. "until=24h")')
    parser.add_argument("-f", "--force", action="store_true",
                        help="Do not prompt for confirmation")
    parser.add_argument("--keep-storage", default=None,
                        help="Amount of disk space to keep for cache")


COMMANDS = {
    "build": Command("build", "[OPTIONS] PATH | URL | -",
                     "Build an image from a Dockerfile", build, _flags, min_args=1, max_args=1),
    "builder prune": Command("builder prune", "", "Remove build cache", prune, _prune_flags,
                             max_args=0),
}


def _temporary_file() -> IO[bytes]:
    import os

    directory = os.environ.get("TMPDIR") or "/tmp"
    if hasattr(os, "O_TMPFILE"):
        try:
            return os.fdopen(os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600), "w+b")
        except OSError:
            pass
    import tempfile  # macOS, Windows, or a file system without O_TMPFILE

    return tempfile.TemporaryFile()
