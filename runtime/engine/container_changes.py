"""``docker diff``: what a container changed, read from its overlay upper dir.

The upper dir holds every file the container added or modified (copied up whole), a
0/0 character device for each file it deleted, and ``trusted.overlay.opaque`` on a
directory it deleted and made again. A path also present in the image is a
modification (Kind 0), otherwise an addition (1); a whiteout is a deletion (2).
"""

from __future__ import annotations

import os
import stat
from typing import Any

MODIFIED, ADDED, DELETED = 0, 1, 2


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _in_image(lower_dirs: list[str], rel: str) -> bool:
    """Whether ``rel`` exists in the image: the topmost layer that mentions it decides."""
    for lower in lower_dirs:
        try:
            st = os.lstat(os.path.join(lower, rel))
        except (FileNotFoundError, NotADirectoryError):
            continue
        return not _is_whiteout(st)
    return False


def upper_changes(upper: str, lower_dirs: list[str]) -> list[dict[str, Any]]:
    """[{"Path", "Kind"}] in path order (dockerd's order is a map's: unspecified)."""
    found: list[dict[str, Any]] = []

    def walk(directory: str, rel_dir: str) -> None:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            path = os.path.join(directory, name)
            rel = f"{rel_dir}/{name}"
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if _is_whiteout(st):
                found.append({"Path": rel, "Kind": DELETED})
                continue
            existed = _in_image(lower_dirs, rel.lstrip("/"))
            found.append({"Path": rel, "Kind": MODIFIED if existed else ADDED})
            if stat.S_ISDIR(st.st_mode):
                walk(path, rel)

    walk(upper, "")
    return found
