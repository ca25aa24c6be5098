"""Layers a build makes: from a container's overlay upper dir, or from copied files.

An overlay upper dir records deletions as whiteouts (0/0 character devices) and
opaque directories (``trusted.overlay.opaque``); an image layer records them as
``.wh.<name>`` and ``.wh..wh..opq`` entries. ``diff_tar`` translates one to the other.
"""

from __future__ import annotations

import os
import stat
import tarfile
from typing import BinaryIO

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def diff_tar(upper: str, out: BinaryIO) -> None:
    """Write the changes recorded in an overlay upper dir as an image layer tar."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(upper):
            dirs.sort()
            rel_root = os.path.relpath(root, upper)
            if rel_root != "." and _is_opaque(root):
                info = tarfile.TarInfo(os.path.join(rel_root, OPAQUE))
                info.mtime = int(os.lstat(root).st_mtime)
                tar.addfile(info)
            for name in sorted(dirs + files):
                path = os.path.join(root, name)
                rel = os.path.normpath(os.path.join(rel_root, name))
                st = os.lstat(path)
                if _is_whiteout(st):
                    info = tarfile.TarInfo(os.path.join(os.path.dirname(rel), WHITEOUT_PREFIX + name))
                    info.mtime = int(st.st_mtime)
                    tar.addfile(info)
                    continue
                info = tar.gettarinfo(path, arcname=rel)
                info.uname = info.gname = ""
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
