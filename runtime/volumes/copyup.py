"""Fill an empty volume with what the image has at the mount's destination.

dockerd does this when a container is created (``populateVolumes``): a new volume at
``/data`` starts with the image's ``/data``. The image is read through a temporary
read-only overlay of its layers (so whiteouts and opaque dirs count), and the copy
keeps what ``cp -a`` keeps: ownership, modes, symlinks, hard links, device nodes,
extended attributes and times. The volume directory itself takes the owner and
mode of the image's directory, as dockerd's ``copyOwnership``.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile

from cove.common.paths import resolve_in_root
from cove.runtime import errors
from cove.runtime.linux.overlay import mount_overlay
from cove.runtime.linux.syscalls import MNT_DETACH, kernel

_SKIPPED_XATTR_ERRORS = (errno.ENOTSUP, errno.EPERM, errno.ENODATA, errno.EOPNOTSUPP)


def copy_image_path(lower_dirs: list[str], destination: str, volume_dir: str,
                    tmp_root: str) -> bool:
    """Copy the image's ``destination`` into ``volume_dir`` if the volume is empty.

    True when something was copied. A destination the image lacks (or that is not a
    directory) copies nothing, as with dockerd."""
    if os.listdir(volume_dir) or not lower_dirs:
        return False
    scratch = tempfile.mkdtemp(prefix="volume-copyup-", dir=tmp_root)
    root = os.path.join(scratch, "root")
    os.mkdir(root)
    mounted = False
    try:
        mount_overlay(kernel(), lower_dirs, root, scratch)
        mounted = True
        source = resolve_in_root(root, destination)
        if not os.path.isdir(source) or os.path.islink(source):
            return False
        copy_tree(source, volume_dir)
        return True
    except OSError as exc:
        raise errors.SystemError_(
            f"copying the image's {destination} into the volume: {exc}") from exc
    finally:
        if mounted:
            try:
                kernel().umount2(root, MNT_DETACH)
            except OSError:
                pass
        shutil.rmtree(scratch, ignore_errors=True)


def copy_tree(source: str, target: str) -> None:
    """``cp -a source/. target/`` (target exists); the target dir gets source's metadata."""
    links: dict[tuple[int, int], str] = {}
    _copy_children(source, target, links)
    _copy_metadata(source, target, os.lstat(source))


def _copy_children(source: str, target: str, links: dict[tuple[int, int], str]) -> None:
    with os.scandir(source) as entries:
        children = sorted(entries, key=lambda e: e.name)
    for entry in children:
        src = entry.path
        dst = os.path.join(target, entry.name)
        info = os.lstat(src)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(dst, 0o700)
            _copy_children(src, dst, links)
        else:
            key = (info.st_dev, info.st_ino)
            if info.st_nlink > 1 and key in links:
                os.link(links[key], dst)
                continue
            if stat.S_ISLNK(mode):
                os.symlink(os.readlink(src), dst)
            elif stat.S_ISREG(mode):
                _copy_file(src, dst)
            elif stat.S_ISFIFO(mode):
                os.mkfifo(dst, 0o600)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                kernel().mknod(dst, stat.S_IFMT(mode) | 0o600, info.st_rdev)
            else:
                continue  # sockets are not copied (dockerd skips them too)
            if info.st_nlink > 1:
                links[key] = dst
        _copy_metadata(src, dst, info)


def _copy_file(src: str, dst: str) -> None:
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


def _copy_metadata(src: str, dst: str, info: os.stat_result) -> None:
    is_link = stat.S_ISLNK(info.st_mode)
    os.chown(dst, info.st_uid, info.st_gid, follow_symlinks=False)
    if not is_link:  # after chown, which clears setuid/setgid bits
        os.chmod(dst, stat.S_IMODE(info.st_mode))
    _copy_xattrs(src, dst)
    os.utime(dst, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _SKIPPED_XATTR_ERRORS:
            return
        raise
    for name in names:
        if name.startswith("trusted.overlay."):
            continue  # the overlay's own bookkeeping, meaningless in a plain directory
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False),
                        follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _SKIPPED_XATTR_ERRORS:
                raise
