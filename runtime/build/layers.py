"""Layers a build makes: from a container's overlay upper dir, or from copied files.

An overlay upper dir records deletions as whiteouts (0/0 character devices) and
opaque directories (``trusted.overlay.opaque``); an image layer records them as
``.wh.<name>`` and ``.wh..wh..opq`` entries. ``diff_tar`` translates one to the other.

The files the engine mounts in every container (dockerd keeps them in an init layer under
the container's own: /etc/hosts, /etc/hostname, ...) are never the container's changes.
"""

from __future__ import annotations

import os
import stat
import tarfile
from dataclasses import dataclass
from enum import IntEnum
from typing import BinaryIO

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"


class ChangeKind(IntEnum):
    """A change as ``GET /containers/{id}/changes`` numbers it."""
    MODIFIED = 0
    ADDED = 1
    DELETED = 2


MODIFIED, ADDED, DELETED = ChangeKind.MODIFIED, ChangeKind.ADDED, ChangeKind.DELETED

# what the engine makes in every container (dockerd keeps it in its init layer, under the
# container's own): an empty file, a link, or a directory holding nothing else, at one of
# these paths the image does not have, is the engine's, not a change
ENGINE_STUBS = frozenset((
    "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab", ".dockerenv",
    "proc", "sys", "dev", "dev/pts", "dev/shm", "dev/console", "etc"))


@dataclass(frozen=True)
class Change:
    """One changed path of an upper dir: ``rel`` without a leading slash."""
    rel: str
    kind: ChangeKind
    opaque: bool = False


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def _capability(path: str) -> bytes | None:
    try:
        return os.getxattr(path, "security.capability", follow_symlinks=False)
    except OSError:
        return None


def _in_image(lower_dirs: list[str], rel: str) -> tuple[str, os.stat_result] | None:
    """The path's host path and stat in the image (the topmost layer mentioning it
    decides), or None when the image has no such path."""
    for lower in lower_dirs:
        path = os.path.join(lower, rel)
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        return None if _is_whiteout(st) else (path, st)
    return None


def _same(old: os.stat_result, new: os.stat_result) -> bool:
    """dockerd's ``statDifferent`` negated: size and mtime count for files, not dirs."""
    if (old.st_mode, old.st_uid, old.st_gid, old.st_rdev) != \
            (new.st_mode, new.st_uid, new.st_gid, new.st_rdev):
        return False
    return stat.S_ISDIR(new.st_mode) or (
        old.st_mtime_ns == new.st_mtime_ns and old.st_size == new.st_size)


def _is_stub_file(rel: str, st: os.stat_result) -> bool:
    if rel not in ENGINE_STUBS:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_size == 0) or stat.S_ISLNK(st.st_mode)


def upper_changes(upper: str, lower_dirs: list[str], *, for_layer: bool = False) -> list[Change]:
    """The paths a container changed, parents before children, names sorted.

    dockerd answers ``docker diff`` from a comparison with the image (a directory is
    changed only if its mode or owner is, or something under it), but its layers are the
    upper dir as it is. ``for_layer`` asks for the latter: everything but the engine's
    mount points, and the directories overlay copied up only to hold them.
    """

    def walk(directory: str, rel_dir: str) -> tuple[list[Change], bool]:
        """The changes under ``directory``, and whether it held an engine stub."""
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return [], False
        found: list[Change] = []
        held_stub = False
        for name in names:
            path = os.path.join(directory, name)
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if _is_whiteout(st):
                found.append(Change(rel, DELETED))
                continue
            found_old = _in_image(lower_dirs, rel)
            old_path, old = found_old if found_old else ("", None)
            if old is None and _is_stub_file(rel, st):
                held_stub = True
                continue
            kind = ADDED if old is None else MODIFIED
            if stat.S_ISDIR(st.st_mode):
                opaque = _is_opaque(path)
                below, stub_below = walk(path, rel)
                held_stub = held_stub or stub_below
                if old is None and rel in ENGINE_STUBS and not below:
                    held_stub = True  # made by the engine, holding only what it made
                    continue
                changed = old is None or opaque or not _same(old, st) or \
                    _capability(path) != _capability(old_path)
                if for_layer:  # kept unless it held nothing but the engine's stubs
                    changed = changed or not stub_below
                if changed or below:
                    found.append(Change(rel, kind, opaque))
                    found.extend(below)
            elif for_layer or old is None or not _same(old, st) or \
                    not stat.S_ISREG(st.st_mode) or _capability(path) != _capability(old_path):
                found.append(Change(rel, kind))
        return found, held_stub

    return walk(upper, "")[0]


def diff_tar(upper: str, out: BinaryIO, lower_dirs: list[str]) -> None:
    """Write the changes recorded in an overlay upper dir (over the image in
    ``lower_dirs``) as an image layer tar."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for change in upper_changes(upper, lower_dirs, for_layer=True):
            path = os.path.join(upper, change.rel)
            parent, name = os.path.split(change.rel)
            st = os.lstat(path)
            if change.kind == DELETED:
                info = tarfile.TarInfo(os.path.join(parent, WHITEOUT_PREFIX + name))
                info.mtime = int(st.st_mtime)
                tar.addfile(info)
                continue
            info = tar.gettarinfo(path, arcname=change.rel)
            info.uname = info.gname = ""
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            if change.opaque:
                marker = tarfile.TarInfo(os.path.join(change.rel, OPAQUE))
                marker.mtime = int(st.st_mtime)
                tar.addfile(marker)
