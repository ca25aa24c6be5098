"""Paths inside a directory tree that may hold hostile symlinks (an image, a clone)."""

from __future__ import annotations

import errno
import os


def resolve_in_root(root: str, path: str, max_links: int = 40) -> str:
    """The host path of ``path`` inside ``root``, following symlinks without leaving root.

    Like moby's ``symlink.FollowSymlinkInScope``: ".." and absolute link targets are
    taken relative to ``root``, so a hostile image (or git repository) cannot point a
    mount or a build context outside it. Too many links raise ``OSError(ELOOP)``.
    """
    root = root.rstrip("/") or "/"
    pending = [p for p in path.split("/") if p]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root + "/" + "/".join(resolved + [part])
        try:
            target = os.readlink(candidate)
        except OSError:
            resolved.append(part)
            continue
        links += 1
        if links > max_links:
            raise OSError(errno.ELOOP, f"resolve path {path}: {os.strerror(errno.ELOOP)}")
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p] + pending
    return root + ("/" + "/".join(resolved) if resolved else "")
