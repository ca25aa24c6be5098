"""Image commands: images (image ls), rmi, tag, history, load, save, image prune."""

from __future__ import annotations

import os
import sys

from . import formatter
from .command import Cli, Command, add_format, parse_filters
from .container_list import ellipsis, local_time
from .errors import CommandFailed
from .units import ago, human_size

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace

IMAGES_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGES_DIGESTS_FORMAT = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "Digest": "DIGEST",
                 "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
                 "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE",
                 "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE"}
HISTORY_FORMAT = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


def short_id(image_id: str, trunc: bool) -> str:
    return image_id.removeprefix("sha256:")[:12] if trunc else image_id


def image_rows(images: list[dict[str, Any]], trunc: bool, show_digests: bool) -> list[dict[str, Any]]:
    """One row per repository:tag (``<none>`` for dangling images), as docker lists them."""
    rows = []
    for image in images:
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
        digests = [d for d in image.get("RepoDigests") or [] if d != "<none>@<none>"]
        base = {
            "ID": short_id(str(image.get("Id", "")), trunc),
            "CreatedSince": ago(float(image.get("Created", 0))),
            "CreatedAt": local_time(float(image.get("Created", 0))),
            "Size": human_size(image.get("Size") or 0),
            "VirtualSize": human_size(image.get("VirtualSize") or image.get("Size") or 0, 4),
            "Containers": "N/A" if image.get("Containers", -1) == -1 else str(image["Containers"]),
            "SharedSize": "N/A" if image.get("SharedSize", -1) == -1 else human_size(image["SharedSize"]),
            "UniqueSize": "N/A",
        }
        pairs = []
        for ref in tags:
            repo, _, tag = ref.rpartition(":")
            digest = next((d.split("@", 1)[1] for d in digests if d.split("@", 1)[0] == repo), "<none>")
            pairs.append((repo, tag, digest))
        if not pairs and digests:
            pairs = [(d.split("@", 1)[0], "<none>", d.split("@", 1)[1]) for d in digests]
        if not pairs:
            pairs = [("<none>", "<none>", "<none>")]
        for repo, tag, digest in pairs:
            rows.append(dict(sorted({**base, "Repository": repo, "Tag": tag, "Digest": digest}.items())))
    return rows


def images(args: Namespace, cli: Cli) -> int:
    filters = parse_filters(args.filter)
    if args.args:
        filters.setdefault("reference", []).append(args.args[0])
    result = cli.client.images(all=args.all, filters=filters, digests=args.digests)
    result.sort(key=lambda i: -(i.get("Created") or 0))
    trunc = not args.no_trunc
    if args.quiet:
        seen: list[str] = []
        for image in result:
            ident = short_id(str(image.get("Id", "")), trunc)
            if ident not in seen:
                seen.append(ident)
        cli.stdout.write("".join(i + "\n" for i in seen))
        return 0
    source = args.format or (IMAGES_DIGESTS_FORMAT if args.digests else IMAGES_FORMAT)
    if source == "json":
        source = "{{json .}}"
    rows = image_rows(result, trunc, args.digests)
    cli.stdout.write(formatter.render(source, rows, IMAGE_HEADERS))
    return 0


def rmi(args: Namespace, cli: Cli) -> int:
    from ..client.errors import ClientError

    failed = False
    for ref in args.args:
        try:
            report = cli.client.remove_image(ref, force=args.force, noprune=args.no_prune)
        except ClientError as exc:
            cli.err(str(exc))
            failed = True
            continue
        for item in report:
            if item.get("Untagged"):
                cli.out(f"Untagged: {item['Untagged']}")
            if item.get("Deleted"):
                cli.out(f"Deleted: {item['Deleted']}")
    if failed:
        raise CommandFailed()
    return 0


def split_reference(ref: str) -> tuple[str, str]:
    """``repo:tag`` -> (repo, tag); the tag defaults to ``latest``."""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = ref.rpartition(":")
        return repo, tag
    return ref, "latest"


def tag(args: Namespace, cli: Cli) -> int:
    source, target = args.args
    repo, tag_name = split_reference(target)
    cli.client.tag(source, repo, tag_name)
    return 0


def rfc3339(timestamp: float) -> str:
    """Go's ``time.RFC3339`` in local time ("Z" for UTC)."""
    import time

    text = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp))
    offset = text[-5:]
    return text[:-5] + ("Z" if offset == "+0000" else offset[:3] + ":" + offset[3:])


class HistoryRow:
    def __init__(self, entry: dict[str, Any], trunc: bool, human: bool) -> None:
        self.entry, self.trunc, self.human = entry, trunc, human

    @property
    def ID(self) -> str:  # noqa: N802 - docker's template field names
        ident = str(self.entry.get("Id", ""))
        if ident in ("", "<missing>"):
            return "<missing>"
        return short_id(ident, self.trunc)

    @property
    def CreatedSince(self) -> str:  # noqa: N802
        created = float(self.entry.get("Created") or 0)
        return ago(created) if self.human else rfc3339(created)

    @property
    def CreatedAt(self) -> str:  # noqa: N802
        return rfc3339(float(self.entry.get("Created") or 0))

    @property
    def CreatedBy(self) -> str:  # noqa: N802
        text = str(self.entry.get("CreatedBy", "")).replace("\t", " ")
        return ellipsis(text, 45) if self.trunc else text

    @property
    def Size(self) -> str:  # noqa: N802
        size = self.entry.get("Size") or 0
        return human_size(size) if self.human else str(size)

    @property
    def Comment(self) -> str:  # noqa: N802
        return str(self.entry.get("Comment", ""))

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in ("Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size")}


def history(args: Namespace, cli: Cli) -> int:
    entries = cli.client.history(args.args[0])
    human = args.human not in ("false", "0")
    rows = [HistoryRow(e, not args.no_trunc, human) for e in entries]
    if args.quiet:
        source = "{{.ID}}"
    else:
        source = args.format or (HISTORY_FORMAT if human else HISTORY_FORMAT.replace("CreatedSince", "CreatedAt"))
    if source == "json":
        source = "{{json .}}"
    cli.stdout.write(formatter.render(source, rows, HISTORY_HEADERS))
    return 0


def load(args: Namespace, cli: Cli) -> int:
    if args.input:
        try:
            source: Any = open(args.input, "rb")
        except OSError as exc:
            raise CommandFailed(f"open {args.input}: {(exc.strerror or str(exc)).lower()}") from exc
    else:
        if os.isatty(sys.stdin.fileno()):
            raise CommandFailed("requested load from stdin, but stdin is empty")
        source = sys.stdin.buffer
    with source:
        for message in cli.client.load(source, quiet=args.quiet):
            if not isinstance(message, dict):
                continue
            if message.get("error"):
                raise CommandFailed(str(message["error"]))
            if message.get("stream"):
                cli.stdout.write(str(message["stream"]))
    return 0


def import_(args: Namespace, cli: Cli) -> int:
    """``import file|URL|- [REPOSITORY[:TAG]]``: a root filesystem tar as a new image."""
    from cove.common.reference import InvalidReference, parse_normalized

    from .jsonmessage import display_stream

    source = args.args[0]
    repo = args.args[1] if len(args.args) > 1 else ""
    if repo:
        try:
            parse_normalized(repo)
        except InvalidReference as exc:
            raise CommandFailed(str(exc)) from exc
    data: Any = None
    if source == "-":
        data = sys.stdin.buffer
    elif not source.startswith(("http://", "https://")):
        try:
            data = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CommandFailed(f"open {source}: {(exc.strerror or str(exc)).lower()}") from exc
    try:
        messages = cli.client.import_image(source if data is None else "-", data, repo,
                                           args.message or "", args.change, args.platform)
        display_stream(messages, cli.stdout)
    finally:
        if data is not None and data is not sys.stdin.buffer:
            data.close()
    return 0


def _import_flags(parser: FlagParser) -> None:
    parser.add_argument("-c", "--change", action="append", default=[],
                        help="Apply Dockerfile instruction to the created image")
    parser.add_argument("-m", "--message", default=None,
                        help="Set commit message for imported image")
    parser.add_argument("--platform", default=None,
                        help="Set platform if server is multi-platform capable")


def save(args: Namespace, cli: Cli) -> int:
    if not args.output and os.isatty(sys.stdout.fileno()):
        raise CommandFailed("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    write_stream(cli.client.save(args.args), args.output)
    return 0


def write_stream(stream: Any, output: str | None) -> None:
    """A tar from the daemon to ``-o FILE`` (whole or not at all: written beside it and
    renamed) or to stdout; the stream is closed either way."""
    try:
        if output:
            partial = output + ".partial"
            with open(partial, "wb") as handle:
                for chunk in stream:
                    handle.write(chunk)
            os.replace(partial, output)
        else:
            out = sys.stdout.buffer
            for chunk in stream:
                out.write(chunk)
            out.flush()
    finally:
        stream.close()


def prune(args: Namespace, cli: Cli) -> int:
    filters = parse_filters(args.filter)
    if args.all:
        filters["dangling"] = ["false"]
        warning = "WARNING! This will remove all images without at least one container associated to them."
    else:
        warning = "WARNING! This will remove all dangling images."
    from . import prune as report_prune

    if not report_prune.confirmed(cli, warning, args.force):
        return 0
    report = cli.client.prune_images(filters) or {}
    return report_prune.finish(
        cli, [report_prune.section("Deleted Images:", report_prune.image_lines(report))],
        report.get("SpaceReclaimed") or 0)


def _images_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="Show all images (default hides intermediate images)")
    parser.add_argument("--digests", action="store_true", help="Show digests")
    parser.add_argument("-f", "--filter", action="append", default=[], help="Filter output based on conditions provided")
    add_format(parser)
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")


def _rmi_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force removal of the image")
    parser.add_argument("--no-prune", action="store_true", help="Do not delete untagged parents")


def _history_flags(parser: FlagParser) -> None:
    add_format(parser)
    parser.add_argument("-H", "--human", default="true", nargs="?", const="true",
                        help="Print sizes and dates in human readable format")
    parser.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")


def _load_flags(parser: FlagParser) -> None:
    parser.add_argument("-i", "--input", default=None, help="Read from tar archive file, instead of STDIN")
    parser.add_argument("-q", "--quiet", action="store_true", help="Suppress the load output")


def _save_flags(parser: FlagParser) -> None:
    parser.add_argument("-o", "--output", default=None, help="Write to a file, instead of STDOUT")


def _prune_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="Remove all unused images, not just dangling ones")
    parser.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    parser.add_argument("--filter", action="append", default=[], help="Provide filter values")


COMMANDS = {
    "images": Command("images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images", images, _images_flags, max_args=1),
    "rmi": Command("rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", rmi, _rmi_flags, min_args=1),
    "tag": Command("tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", tag, min_args=2, max_args=2),
    "history": Command("history", "[OPTIONS] IMAGE", "Show the history of an image", history, _history_flags, min_args=1, max_args=1),
    "load": Command("load", "[OPTIONS]", "Load an image from a tar archive or STDIN", load, _load_flags, max_args=0),
    "save": Command("save", "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", save, _save_flags, min_args=1),
    "import": Command("import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                      "Import the contents from a tarball to create a filesystem image",
                      import_, _import_flags, min_args=1, max_args=2),
    "image prune": Command("image prune", "[OPTIONS]", "Remove unused images", prune, _prune_flags, max_args=0),
}
