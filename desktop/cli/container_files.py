"""Commands on a container's files: cp, export, diff, commit.

``cp`` follows the docker CLI's rules (its ``archive.CopyTo`` / ``PrepareArchiveCopy``):
the tar's top entry is renamed to the destination's name unless the destination is an
existing directory, ``SRC/.`` copies a directory's contents, and a destination ending
in ``/`` must be a directory. The byte count shown is the tar's, as docker's.
"""

from __future__ import annotations

import os
import sys

from .command import Cli, Command
from .errors import CommandFailed

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import IO, Any

    from .command import FlagParser, Namespace

_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_NOT_REGULAR = (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)


def split_cp_arg(arg: str) -> tuple[str, str]:
    """``CONTAINER:PATH`` -> (container, path); a local path gives ("", path)."""
    if arg.startswith("/") or arg.startswith("."):
        return "", arg
    container, sep, path = arg.partition(":")
    return (container, path) if sep else ("", arg)


def split_dir_entry(path: str) -> tuple[str, str]:
    """archive.SplitPathDirEntry: ``a/b/.`` keeps ``.`` as its base."""
    cleaned = os.path.normpath(path) if path else "."
    if os.path.basename(path.rstrip("/")) == "." or path in (".", "./") or path.endswith("/."):
        cleaned = cleaned.rstrip("/") + "/."
    return os.path.dirname(cleaned) or ".", os.path.basename(cleaned)


def _asserts_directory(path: str) -> bool:
    return path.endswith("/") or path.endswith("/.") or path == "."


def _rebase(name: str, old: str, new: str) -> str:
    if old == new:
        return name
    stripped = name.rstrip("/")
    if stripped == old or stripped.startswith(old + "/"):
        return new + name[len(old):]
    return name


class CopyError(Exception):
    pass


def _local_destination(path: str) -> tuple[str, bool, bool]:
    """archive.CopyInfoDestinationPath: (path, exists, is_dir); the parent must exist."""
    try:
        os.stat(path)
        return path, True, os.path.isdir(path)
    except FileNotFoundError:
        pass
    parent = os.path.dirname(os.path.normpath(path)) or "."
    if not os.path.exists(parent):
        raise CopyError(f"stat {parent}: no such file or directory") from None
    if not os.path.isdir(parent):
        raise CopyError(f"stat {parent}: not a directory")
    return path, False, False


def prepare_copy(src_path: str, src_is_dir: bool, rebase_name: str, dst_path: str,
                 dst_exists: bool, dst_is_dir: bool) -> tuple[str, str, str]:
    """archive.PrepareArchiveCopy: (directory to extract into, old top name, new one)."""
    dst_dir, dst_base = split_dir_entry(dst_path)
    _, src_base = split_dir_entry(src_path)
    if rebase_name:
        src_base = rebase_name
    if dst_exists and dst_is_dir:
        return dst_path, src_base, src_base
    if dst_exists and src_is_dir:
        raise CopyError("cannot copy directory")
    if not dst_exists and not src_is_dir and _asserts_directory(dst_path):
        raise CopyError("no such directory")
    return dst_dir, src_base, dst_base


class _Counter:
    """Counts the bytes read through it (docker reports the tar's size)."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._buf = b""
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buf += chunk
        if size < 0:
            size = len(self._buf)
        data, self._buf = self._buf[:size], self._buf[size:]
        self.total += len(data)
        return data


def _extract_local(stream: IO[bytes], dst_dir: str, old: str, new: str) -> None:
    """Untar the daemon's stream into ``dst_dir``, top entry renamed; names that would
    leave ``dst_dir`` are refused."""
    import tarfile

    base = os.path.abspath(dst_dir)
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        for member in tar:
            member.name = _rebase(member.name, old, new)
            target = os.path.normpath(os.path.join(base, member.name.lstrip("/")))
            if target != base and not target.startswith(base.rstrip("/") + "/"):
                raise CopyError(f"{member.name!r} is outside of {dst_dir!r}")
            if member.islnk():
                member.linkname = _rebase(member.linkname, old, new)
            if os.path.lexists(target) and not (member.isdir() and os.path.isdir(target)):
                if os.path.isdir(target) and not os.path.islink(target):
                    raise CopyError(f"cannot overwrite directory {target!r} with non-directory")
                os.unlink(target)
            tar.extract(member, base, numeric_owner=os.geteuid() == 0, filter="fully_trusted")


def _report(cli: Cli, args: Namespace, size: int, where: str) -> None:
    if args.quiet or not (cli.stdout.isatty() and cli.stderr.isatty()):
        return
    from .units import human_size

    cli.err(f"Successfully copied {human_size(size)} to {where}")


def _copy_from(cli: Cli, args: Namespace, container: str, src: str, dst: str) -> int:
    rebase = ""
    if args.follow_link:
        from ..client.errors import APIError

        try:
            stat = cli.client.stat_container_path(container, src)
        except APIError:
            stat = {}
        if int(stat.get("mode", 0)) & _GO_SYMLINK:
            target = stat.get("linkTarget") or ""
            if not target.startswith("/"):
                target = os.path.join(split_dir_entry(src)[0], target)
            if src.endswith("/.") and not target.endswith("/."):
                target += "/."
            elif src.endswith("/") and not target.endswith("/"):
                target += "/"
            if os.path.basename(src.rstrip("/")) != os.path.basename(target.rstrip("/")):
                rebase = os.path.basename(src.rstrip("/"))
            src = target
    stream, stat = cli.client.get_archive(container, src)
    try:
        if dst == "-":
            out = sys.stdout.buffer
            for chunk in stream:
                out.write(chunk)
            out.flush()
            return 0
        if dst.endswith("/."):
            dst = os.path.abspath(dst) + "/."
        elif dst.endswith("/"):
            dst = os.path.abspath(dst).rstrip("/") + "/"
        else:
            dst = os.path.abspath(dst)
        src_is_dir = bool(int(stat.get("mode", 0)) & _GO_DIR)
        _, served_name = split_dir_entry(src)  # the daemon names the tar's top entry so
        _, exists, is_dir = _local_destination(dst)
        dst_dir, _from, to_name = prepare_copy(src, src_is_dir, rebase, dst, exists, is_dir)
        counter = _Counter(stream)
        # tarfile reads an "r|*" stream through read() alone, all _Counter has
        _extract_local(counter, dst_dir, served_name, to_name)  # type: ignore[arg-type]
        _report(cli, args, counter.total, dst)
    finally:
        stream.close()
    return 0


def _tar_local(src: str, arcname: str) -> IO[bytes]:
    """The local source as a tar in a temp file, its top entry named ``arcname``; ended
    as Go's writer ends it (no padding to 10 KiB), so byte counts match docker's."""
    import tarfile
    import tempfile

    out = tempfile.TemporaryFile()
    tar = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)

    def strip(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uname = info.gname = ""
        info.mtime = int(info.mtime)
        return info

    tar.add(src, arcname=arcname, filter=strip)
    end = tar.offset + 2 * tarfile.BLOCKSIZE
    tar.close()
    out.truncate(end)
    out.seek(0)
    return out


def _copy_to(cli: Cli, args: Namespace, src: str, container: str, dst: str) -> int:
    from ..client.errors import APIError

    dst_path = dst
    try:
        stat = cli.client.stat_container_path(container, dst)
    except APIError as exc:
        if exc.status != 404 or "No such container" in exc.message:
            raise
        stat = None
    if stat is not None and int(stat.get("mode", 0)) & _GO_SYMLINK:
        target = stat.get("linkTarget") or ""
        if not target.startswith("/"):
            target = os.path.join(split_dir_entry(dst)[0], target)
        dst_path = target
        try:
            stat = cli.client.stat_container_path(container, target)
        except APIError:
            stat = None
    if stat is not None and int(stat.get("mode", 0)) & _GO_NOT_REGULAR:
        raise CopyError(f'destination "{container}:{dst}" must be a directory or a regular file')
    exists = stat is not None
    is_dir = exists and bool(int(stat.get("mode", 0)) & _GO_DIR)
    if src == "-":
        if not is_dir:
            raise CopyError(f'destination "{container}:{dst}" must be a directory')
        cli.client.put_archive(container, dst_path, sys.stdin.buffer, True, args.archive)
        return 0
    local = os.path.abspath(src) + ("/." if src.endswith("/.") else "")
    rebase = ""
    if args.follow_link:
        resolved = os.path.realpath(local)
        if os.path.basename(resolved) != os.path.basename(local):
            rebase = os.path.basename(local)
        local = resolved
    try:
        src_st = os.lstat(local)
    except FileNotFoundError:
        raise CopyError(f"lstat {local}: no such file or directory") from None
    import stat as stat_module

    src_is_dir = stat_module.S_ISDIR(src_st.st_mode)
    dst_dir, _from, to_name = prepare_copy(local, src_is_dir, rebase, dst_path, exists, is_dir)
    source_dir, source_base = split_dir_entry(local)
    with _tar_local(os.path.join(source_dir, source_base), to_name) as tar:
        size = tar.seek(0, 2)
        tar.seek(0)
        cli.client.put_archive(container, dst_dir, tar, True, args.archive)
    _report(cli, args, size, f"{container}:{dst_path}")
    return 0


def cp(args: Namespace, cli: Cli) -> int:
    src, dst = args.args
    src_container, src_path = split_cp_arg(src)
    dst_container, dst_path = split_cp_arg(dst)
    try:
        if src_container and dst_container:
            raise CopyError("copying between containers is not supported")
        if not src_container and not dst_container:
            raise CopyError("must specify at least one container source")
        if not src_path:
            raise CopyError("source can not be empty")
        if not dst_path:
            raise CopyError("destination can not be empty")
        if src_container:
            return _copy_from(cli, args, src_container, src_path, dst_path)
        return _copy_to(cli, args, src_path, dst_container, dst_path)
    except CopyError as exc:
        raise CommandFailed(str(exc)) from exc


def export(args: Namespace, cli: Cli) -> int:
    if not args.output and sys.stdout.isatty():
        raise CommandFailed("cowardly refusing to save to a terminal. Use the -o flag or "
                            "redirect")
    from .images import write_stream

    write_stream(cli.client.export_container(args.args[0]), args.output)
    return 0


def diff(args: Namespace, cli: Cli) -> int:
    letters = {0: "C", 1: "A", 2: "D"}
    for change in cli.client.container_changes(args.args[0]) or []:
        cli.out(f"{letters.get(change.get('Kind'), '?')} {change.get('Path', '')}")
    return 0


def commit(args: Namespace, cli: Cli) -> int:
    container, *rest = args.args
    repo = tag = None
    if rest:
        from .images import split_reference

        reference = rest[0]
        last = reference.rsplit("/", 1)[-1]
        repo, tag = split_reference(reference) if ":" in last else (reference, None)
    result = cli.client.commit(container, repo, tag, args.message or None,
                               args.author or None, args.pause, args.change)
    cli.out(str(result.get("Id", "")))
    return 0


def _cp_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--archive", action="store_true",
                        help="Archive mode (copy all uid/gid information)")
    parser.add_argument("-L", "--follow-link", action="store_true",
                        help="Always follow symbol link in SRC_PATH")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="Suppress progress output during copy. Progress output is "
                             "automatically suppressed if no terminal is attached")


def _export_flags(parser: FlagParser) -> None:
    parser.add_argument("-o", "--output", default=None, help="Write to a file, instead of STDOUT")


def _commit_flags(parser: FlagParser) -> None:
    parser.add_argument("-a", "--author", default="",
                        help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    parser.add_argument("-c", "--change", action="append", default=[],
                        help="Apply Dockerfile instruction to the created image")
    parser.add_argument("-m", "--message", default="", help="Commit message")
    parser.add_argument("-p", "--pause", action="store_true", default=True,
                        help="Pause container during commit")


_CP_USAGE = ("[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
             "\tcove cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH")
COMMANDS = {
    "cp": Command("cp", _CP_USAGE, "Copy files/folders between a container and the local "
                  "filesystem", cp, _cp_flags, min_args=2, max_args=2),
    "export": Command("export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a "
                      "tar archive", export, _export_flags, min_args=1, max_args=1),
    "diff": Command("diff", "CONTAINER", "Inspect changes to files or directories on a "
                    "container's filesystem", diff, min_args=1, max_args=1),
    "commit": Command("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image "
                      "from a container's changes", commit, _commit_flags, min_args=1,
                      max_args=2),
}
