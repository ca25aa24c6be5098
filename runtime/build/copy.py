"""COPY and ADD as a layer: the selected files laid out at their destination in a tar.

Docker's rules: a directory source copies its *contents*; several sources need a
destination directory ending in ``/``; a file copied onto an existing directory lands
inside it; missing parent directories are created; ``--chown``/``--chmod`` apply to
what is copied; ADD unpacks local tar archives instead of copying them (not fetched ones).
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import time
from collections.abc import Callable
from typing import BinaryIO

from cove.runtime import errors


class Owner:
    def __init__(self, uid: int = 0, gid: int = 0) -> None:
        self.uid, self.gid = uid, gid


ImageStat = Callable[[str], os.stat_result | None]


def _dir_entry(tar: tarfile.TarFile, name: str, owner: Owner, made: set[str],
               existing: os.stat_result | None = None) -> None:
    """A directory the copy passes through: one the image has keeps its mode and owner
    (the layer only repeats it); a new one is 0755, owned as ``--chown`` asks, and dated
    now, as dockerd's ``MkdirAllAndChownNew`` makes it."""
    if not name or name in made:
        return
    if existing is not None and not stat.S_ISDIR(existing.st_mode):
        raise errors.InvalidParameter(f"failed to copy files: mkdir /{name}: not a directory")
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    if existing is not None:
        info.mode = stat.S_IMODE(existing.st_mode)
        info.uid, info.gid = existing.st_uid, existing.st_gid
        info.mtime = int(existing.st_mtime)
    else:
        info.mode = 0o755
        info.uid, info.gid = owner.uid, owner.gid
        info.mtime = int(time.time())
    tar.addfile(info)
    made.add(name)


def _parents(tar: tarfile.TarFile, rel: str, owner: Owner, made: set[str],
             image_stat: ImageStat) -> None:
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        name = "/".join(parts[:i])
        if name not in made:
            _dir_entry(tar, name, owner, made, image_stat("/" + name))


def directory_layer(path: str, out: BinaryIO, image_stat: ImageStat) -> None:
    """A layer making directory ``path`` and its missing parents (0755, root's), as
    dockerd's WORKDIR makes the working directory."""
    rel = posixpath.normpath(path).lstrip("/")
    made: set[str] = set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _parents(tar, rel, Owner(), made, image_stat)
        _dir_entry(tar, rel, Owner(), made, image_stat("/" + rel))


def _add_path(tar: tarfile.TarFile, src: str, rel: str, owner: Owner, chmod: int | None,
              made: set[str]) -> None:
    info = tar.gettarinfo(src, arcname=rel)
    info.uid, info.gid = owner.uid, owner.gid
    info.uname = info.gname = ""
    if chmod is not None and not info.issym():
        info.mode = chmod
    if info.isdir():
        if rel in made:
            return
        made.add(rel)
        tar.addfile(info)
    elif info.isreg():
        with open(src, "rb") as f:
            tar.addfile(info, f)
    else:
        tar.addfile(info)


def _fetched(given: str) -> bool:
    """Whether a source was given as a URL: ADD fetched it, its file is named for it, and
    a fetched archive stays packed."""
    return given.startswith(("http://", "https://"))


def _is_archive(path: str) -> bool:
    try:
        return os.path.isfile(path) and tarfile.is_tarfile(path)
    except OSError:
        return False


def copy_layer(sources: list[tuple[str, str]], dest: str, out: BinaryIO, *,
               image_stat: ImageStat, dest_is_dir: Callable[[str], bool], owner: Owner,
               chmod: int | None, extract_archives: bool, keyword: str = "COPY") -> None:
    """Write the layer. ``sources`` are (host path, name as given); ``dest`` is absolute
    and keeps the trailing ``/`` it was written with (dockerd's ``normalizeDest``).

    As dockerd's classic builder: a directory source copies its contents into ``dest``;
    a file lands inside ``dest`` when ``dest`` ends in ``/`` or is a directory
    (``dest_is_dir``), else it becomes ``dest``; several sources need the ``/``.
    """
    if len(sources) > 1 and not dest.endswith("/"):
        raise errors.InvalidParameter(
            f"When using {keyword} with more than one source file, the destination must be "
            "a directory and end with a /")
    root = posixpath.normpath(dest).lstrip("/")
    dir_dest = dest.endswith("/") or dest_is_dir("/" + root)
    made: set[str] = set()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for src, given in sources:
            if os.path.isdir(src) and not os.path.islink(src):
                target = root
                if target:  # only the directory itself is chowned, as dockerd's fixPermissions
                    _parents(tar, target, Owner(), made, image_stat)
                    _dir_entry(tar, target, owner, made, image_stat("/" + target))
                for walk_root, dirs, files in os.walk(src):
                    dirs.sort()
                    for name in sorted(dirs + files):
                        full = os.path.join(walk_root, name)
                        rel = posixpath.join(target, os.path.relpath(full, src).replace(os.sep, "/"))
                        _add_path(tar, full, rel.lstrip("/"), owner, chmod, made)
            elif extract_archives and not _fetched(given) and _is_archive(src):
                if root:  # unpacked as dockerd's UntarPath: made by root, not --chown
                    _parents(tar, root, Owner(), made, image_stat)
                    _dir_entry(tar, root, Owner(), made, image_stat("/" + root))
                with tarfile.open(src, mode="r:*") as archive:
                    for member in archive:
                        name = posixpath.normpath(member.name).lstrip("/")
                        if name.startswith(".."):
                            raise errors.InvalidParameter(
                                f"ADD: archive member escapes the destination: {member.name}")
                        member.name = posixpath.join(root, name) if root else name
                        data = archive.extractfile(member) if member.isreg() else None
                        tar.addfile(member, data)
            else:  # named as given (a followed link keeps its own name), or as fetched
                name = os.path.basename(src) if _fetched(given) else \
                    posixpath.basename(given.rstrip("/"))
                rel = posixpath.join(root, name) if dir_dest else root
                if not rel:
                    raise errors.InvalidParameter("cannot copy a file onto /")
                _parents(tar, rel, owner, made, image_stat)
                _add_path(tar, src, rel, owner, chmod, made)
