"""``cove build``: docker's classic builder client (``DOCKER_BUILDKIT=0 docker build``).

The context (a directory, a tar, or a Dockerfile on stdin) is sent as a tar that
leaves out what ``.dockerignore`` excludes, always keeping the Dockerfile and
``.dockerignore``; the daemon's JSON stream is rendered as docker renders it.
"""

from __future__ import annotations

from .command import Cli, Command
from .errors import StatusError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from .command import FlagParser, Namespace


def _ignore_patterns(text: str) -> list[tuple[bool, Any]]:
    """(exception?, compiled regex) per .dockerignore line, in Docker's pattern syntax."""
    import posixpath
    import re

    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        if exception:
            line = line[1:].strip()
        line = posixpath.normpath(line.lstrip("/")).removeprefix("./")
        regex, i, n = "", 0, len(line)
        while i < n:
            if line.startswith("**/", i):  # any number of directories, including none
                regex, i = regex + "(?:.*/)?", i + 3
                continue
            if line.startswith("**", i):
                regex, i = regex + ".*", i + 2
                continue
            ch = line[i]
            end = line.find("]", i + 1) if ch == "[" else -1
            if ch == "*":
                regex += "[^/]*"
            elif ch == "?":
                regex += "[^/]"
            elif end > 0:
                body = line[i + 1:end]
                regex += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
                i = end
            elif ch == "\\" and i + 1 < n:
                i += 1
                regex += re.escape(line[i])
            else:
                regex += re.escape(ch)
            i += 1
        patterns.append((exception, re.compile(f"^{regex}$")))
    return patterns


def is_ignored(path: str, patterns: list[tuple[bool, Any]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for exception, regex in patterns:
        if any(regex.match(c) for c in candidates):
            excluded = not exception
    return excluded


def context_tar(directory: str, dockerfile: str, out: IO[bytes],
                extra: tuple[str, bytes] | None = None) -> None:
    """Tar ``directory`` into ``out`` without what .dockerignore excludes."""
    import io
    import os
    import tarfile

    patterns: list[tuple[bool, Any]] = []
    try:
        with open(os.path.join(directory, ".dockerignore"), encoding="utf-8") as f:
            patterns = _ignore_patterns(f.read())
    except FileNotFoundError:
        pass
    keep = {dockerfile, ".dockerignore"}
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            rel_root = os.path.relpath(root, directory).replace(os.sep, "/")
            for name in sorted(dirs + files):
                rel = name if rel_root == "." else f"{rel_root}/{name}"
                if rel not in keep and is_ignored(rel, patterns):
                    if name in dirs:
                        dirs.remove(name)
                    continue
                full = os.path.join(root, name)
                info = tar.gettarinfo(full, arcname=rel)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if info.isreg():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
        if extra is not None:
            info = tarfile.TarInfo(extra[0])
            info.size = len(extra[1])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(extra[1]))


def _prepare_context(args: Namespace, cli: Cli) -> tuple[IO[bytes], str]:
    """(the context tar, the Dockerfile's name inside it)."""
    import io
    import os
    import secrets
    import tarfile
    import tempfile

    source = args.args[0]
    body = tempfile.TemporaryFile()
    dockerfile = args.file or "Dockerfile"
    if source == "-":
        data = cli.stdin.buffer.read() if hasattr(cli.stdin, "buffer") else cli.stdin.read()
        if isinstance(data, str):
            data = data.encode()
        try:
            with tarfile.open(fileobj=io.BytesIO(data)):
                body.write(data)
        except tarfile.TarError:  # a Dockerfile alone, with an empty context
            with tarfile.open(fileobj=body, mode="w") as tar:
                info = tarfile.TarInfo("Dockerfile")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            dockerfile = "Dockerfile"
    elif os.path.isfile(source):
        with open(source, "rb") as f:
            while chunk := f.read(1 << 20):
                body.write(chunk)
    elif os.path.isdir(source):
        extra = None
        if args.file:
            path = args.file if os.path.isabs(args.file) else os.path.join(os.getcwd(), args.file)
            inside = os.path.relpath(os.path.realpath(path), os.path.realpath(source))
            if inside.startswith(".."):  # a Dockerfile outside the context travels inside it
                with open(path, "rb") as f:
                    dockerfile = f".dockerfile.{secrets.token_hex(10)}"
                    extra = (dockerfile, f.read())
            else:
                dockerfile = inside.replace(os.sep, "/")
        elif not os.path.exists(os.path.join(source, "Dockerfile")):
            raise StatusError(1, f"unable to prepare context: unable to evaluate symlinks in "
                                 f"Dockerfile path: lstat {os.path.abspath(source)}/Dockerfile: "
                                 "no such file or directory")
        context_tar(source, dockerfile, body, extra)
    else:
        raise StatusError(1, f'unable to prepare context: path "{source}" not found')
    body.seek(0)
    return body, dockerfile


def build(args: Namespace, cli: Cli) -> int:
    import json
    import os

    from .registry import _Discard, render_stream
    from .units import human_size

    body, dockerfile = _prepare_context(args, cli)
    size = os.fstat(body.fileno()).st_size
    if not args.quiet:
        cli.out(f"Sending build context to Docker daemon  {human_size(size, 4)}\n")
    build_args: dict[str, str | None] = {}
    for item in args.build_arg or []:
        key, eq, value = item.partition("=")
        build_args[key] = value if eq else os.environ.get(key)
    labels = dict(item.partition("=")[::2] for item in args.label or [])
    params: dict[str, Any] = {
        "t": args.tag or None, "dockerfile": dockerfile,
        "buildargs": json.dumps(build_args) if build_args else None,
        "labels": json.dumps(labels) if labels else None, "target": args.target,
        "nocache": args.no_cache or None, "q": args.quiet or None, "pull": args.pull or None,
        "rm": "1" if args.rm else "0", "forcerm": args.force_rm or None,
        "platform": args.platform,
    }
    image_id: list[str] = []
    messages = cli.client.build(body, params)
    render_stream(messages, _Discard() if args.quiet else cli.stdout,
                  aux=lambda message: image_id.append(str(message["aux"].get("ID", ""))))
    if args.quiet and image_id:
        cli.out(image_id[-1])
    if args.iidfile and image_id:
        with open(args.iidfile, "w") as f:
            f.write(image_id[-1])
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
    parser.add_argument("--platform", default=None,
                        help="Set platform if server is multi-platform capable")


COMMANDS = {
    "build": Command("build", "[OPTIONS] PATH | URL | -",
                     "Build an image from a Dockerfile", build, _flags, min_args=1, max_args=1),
}
