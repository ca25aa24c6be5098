"""Paths inside a directory tree that may hold hostile symlinks (an image, a clone)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable


def follow_links(path: str, read_link: Callable[[str], str | None],
                 max_links: int = 40) -> list[str]:
    """The parts of ``path`` with every link followed, never above the top.

    ``read_link(parts_so_far)`` gives a link's target, or None for what is not a link.
    Like moby's ``symlink.FollowSymlinkInScope``: ".." and absolute targets are taken
    relative to the top, so a hostile tree cannot point outside it. Too many links raise
    ``OSError(ELOOP)``.
    """
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
        target = read_link("/".join(resolved + [part]))
        if target is None:
            resolved.append(part)
            continue
        links += 1
        if links > max_links:
            raise OSError(errno.ELOOP, f"resolve path {path}: {os.strerror(errno.ELOOP)}")
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p] + pending
    return resolved


def resolve_in_root(root: str, path: str, max_links: int = 40) -> str:
    """The host path of ``path`` inside ``root``, following symlinks without leaving root
    (a hostile image or git repository cannot point a mount or a build context outside)."""
    root = root.rstrip("/") or "/"

    def read_link(relative: str) -> str | None:
        try:
            return os.readlink(root + "/" + relative)
        except OSError:
            return None

    resolved = follow_links(path, read_link, max_links)
    return root + ("/" + "/".join(resolved) if resolved else "")
