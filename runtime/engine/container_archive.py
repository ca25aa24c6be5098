"""Tar streams in and out of a container's root, made by a helper chrooted into that root.

A container owns its files, symlinks included: a link to ``/`` made inside it must not
let ``docker cp`` read or write the host. So, as dockerd's chrootarchive does, every tar
is made or unpacked by a fresh ``python -I -S`` running this file, chrooted into the
container's root (``/proc/<pid>/root`` or a temporary overlay mount) before it reads a
byte of the tar or a name of the container: there, ``/`` and ``..`` are the container's.
Everything the helper needs is imported before the chroot (the container's own
libraries, NSS modules included, are never loaded: owners stay numeric).

The helper imports nothing of Cove's but this module and the kernel layer
(``shim_launch.module_command`` runs ``main``), so it starts as fast as a script.
"""

from __future__ import annotations

import os
import stat
import sys
import tarfile

from cove.runtime.linux.syscalls import kernel

BREAKOUT = "breakout"

# Go's os.FileMode bits, which the X-Docker-Container-Path-Stat header carries
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_DEVICE = 1 << 26
_GO_PIPE = 1 << 25
_GO_SOCKET = 1 << 24
_GO_SETUID = 1 << 23
_GO_SETGID = 1 << 22
_GO_CHARDEV = 1 << 21
_GO_STICKY = 1 << 20
_GO_IRREGULAR = 1 << 19


def go_file_mode(mode: int) -> int:
    """A ``st_mode`` as Go's ``os.FileMode`` (the CLI decodes it with Go's rules)."""
    bits = mode & 0o777
    kind = stat.S_IFMT(mode)
    bits |= {stat.S_IFDIR: _GO_DIR, stat.S_IFLNK: _GO_SYMLINK, stat.S_IFIFO: _GO_PIPE,
             stat.S_IFSOCK: _GO_SOCKET, stat.S_IFBLK: _GO_DEVICE,
             stat.S_IFCHR: _GO_DEVICE | _GO_CHARDEV, stat.S_IFREG: 0}.get(kind, _GO_IRREGULAR)
    if mode & stat.S_ISUID:
        bits |= _GO_SETUID
    if mode & stat.S_ISGID:
        bits |= _GO_SETGID
    if mode & stat.S_ISVTX:
        bits |= _GO_STICKY
    return bits


def rfc3339_nano(ns: int) -> str:
    """Go's ``time.Time`` JSON form in UTC: nanoseconds, trailing zeros trimmed."""
    import time

    secs, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


# -- the helper (runs chrooted) ------------------------------------------------------

def _reset_owner_names(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uname = info.gname = ""
    return info


def write_tree(source_dir: str, source_base: str, rebase: str, out: object,
               empty_dirs: frozenset[str] = frozenset()) -> None:
    """Tar ``source_dir/source_base`` (not following links), its top renamed ``rebase``.

    The directories in ``empty_dirs`` (the mount points of proc, sysfs... in a running
    container) go in without their contents. A path that vanished while we walked is left
    out; any other error fails the tar: after a header its data is owed, and a stream that
    went on short would look whole to the client but be corrupt."""
    top = os.path.join(source_dir, source_base)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        def add(path: str, name: str) -> None:
            try:
                info = tar.gettarinfo(path)
            except FileNotFoundError:
                return  # vanished while we walked
            if info is None:  # a socket: tar has no type for it
                return
            _reset_owner_names(info)
            info.mtime = int(info.mtime)  # a float would cost a PAX header per entry
            info.name = name  # gettarinfo strips a leading "/", which dockerd keeps for "/"
            if info.isreg():
                try:
                    f = open(path, "rb")
                except FileNotFoundError:
                    return
                with f:
                    tar.addfile(info, f)  # a file that shrank fails here (end of data)
            else:
                tar.addfile(info)
            if info.isdir() and os.path.normpath(path) not in empty_dirs:
                try:
                    names = sorted(os.listdir(path))
                except FileNotFoundError:
                    return
                for child in names:
                    add(os.path.join(path, child), name.rstrip("/") + "/" + child)

        if source_base == "/":  # the whole root (export): its entries at the top
            for child in sorted(os.listdir("/")):
                add("/" + child, child)
        else:
            add(top, rebase)


class ExtractError(Exception):
    pass


def _inside(base: str, path: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def extract_tree(dest: str, stream: object, no_overwrite_dir_non_dir: bool,
                 owner: tuple[int, int] | None) -> None:
    """Unpack a tar into ``dest`` as dockerd's Untar: names and links may not leave dest,
    an existing non-directory is replaced, directory times are set last."""
    dest = os.path.normpath(dest)
    dirs: list[tuple[tarfile.TarInfo, str]] = []
    with tarfile.open(fileobj=stream, mode="r|*") as tar:  # type: ignore[call-overload]
        for member in tar:
            path = os.path.normpath(dest + "/" + os.path.normpath(member.name))
            if not _inside(dest, path):  # "../x" is refused, "/x" is dest/x (as dockerd)
                raise ExtractError(f"{member.name!r} is outside of {dest!r}")
            name = os.path.relpath(path, dest)
            if name == ".":
                continue
            if member.islnk():
                target = os.path.normpath(os.path.join(dest, member.linkname.lstrip("/")))
                if not _inside(dest, target):
                    raise ExtractError(f"invalid hardlink {member.name!r} -> {member.linkname!r}")
                member.linkname = os.path.relpath(target, dest)
            if member.issym():
                target = os.path.normpath(os.path.dirname(path) + "/" + member.linkname)
                if not _inside(dest, target):
                    raise ExtractError(f"invalid symlink {member.name!r} -> {member.linkname!r}")
            try:
                existing = os.lstat(path)
            except FileNotFoundError:
                existing = None
            if existing is not None:
                is_dir = stat.S_ISDIR(existing.st_mode)
                if no_overwrite_dir_non_dir and is_dir and not member.isdir():
                    raise ExtractError(
                        f"cannot overwrite directory {path!r} with non-directory {name!r}")
                if no_overwrite_dir_non_dir and not is_dir and member.isdir():
                    raise ExtractError(
                        f"cannot overwrite non-directory {path!r} with directory {name!r}")
                if not (is_dir and member.isdir()):
                    if is_dir:
                        import shutil

                        shutil.rmtree(path)
                    else:
                        os.unlink(path)
            if owner is not None:
                member.uid, member.gid = owner
            member.name = name
            member.uname = member.gname = ""
            if member.isdir():
                os.makedirs(path, exist_ok=True)
                dirs.append((member, path))
                continue
            tar.extract(member, dest, set_attrs=True, numeric_owner=True,
                        filter="fully_trusted")
        for member, path in reversed(dirs):
            tar.chown(member, path, numeric_owner=True)
            tar.chmod(member, path)
            tar.utime(member, path)


def main(argv: list[str]) -> int:
    """``tar ROOT DIR BASE REBASE [EMPTY_DIR...]`` writes a tar to stdout; ``untar ROOT DEST
    NOOVERWRITE [UID GID]`` reads one from stdin. Errors: one line on stderr, exit 1."""
    import bz2  # noqa: F401 - "r|*" imports these lazily: they must exist before the chroot
    import gzip  # noqa: F401
    import lzma  # noqa: F401
    import shutil  # noqa: F401

    tarfile.pwd = None  # type: ignore[attr-defined]  # never ask the container's NSS
    tarfile.grp = None  # type: ignore[attr-defined]
    mode, root = argv[0], argv[1]
    try:
        kernel().chroot(root)
        os.chdir("/")
        if mode == "tar":
            write_tree(argv[2], argv[3], argv[4], sys.stdout.buffer, frozenset(argv[5:]))
        elif mode == "untar":
            owner = (int(argv[4]), int(argv[5])) if len(argv) > 5 else None
            if not os.path.isdir(argv[2]):
                raise ExtractError("extraction point is not a directory")
            extract_tree(argv[2], sys.stdin.buffer, argv[3] == "1", owner)
        else:
            raise ExtractError(f"unknown mode {mode}")
    except (OSError, tarfile.TarError, ExtractError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.flush()
    return 0
