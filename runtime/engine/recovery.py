"""Start-up recovery: what a crash or a kill left in the data root, cleared before the
daemon serves.

Everything under ``tmp/`` is work in progress (build contexts, loads, pulls, commits'
layers, scratch mounts of ``cp``), so at start, with the data root locked, none of it is
anyone's: it is unmounted where something is still mounted there, then removed. So are
the temp files ``atomic_write`` left next to the records it replaces (container, layer,
volume and image records). What a commit left paused
is thawed by the containers' adoption (``containers.adopt``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from cove.runtime.linux.rootfs import mount_points_under
from cove.runtime.linux.syscalls import MNT_DETACH, kernel
from cove.runtime.store.layout import Layout

log = logging.getLogger(__name__)
ATOMIC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}$")  # atomic_write's mkstemp(prefix=".name.")


def interrupted_work(layout: Layout) -> list[Path]:
    """What ``remove_interrupted_work`` would remove: ``tmp/``'s entries and the temp files
    of interrupted record writes (``coved --check`` reports them without a repair)."""
    found = sorted(layout.tmp_dir.iterdir()) if layout.tmp_dir.is_dir() else []
    for directory in _record_dirs(layout):
        found += [entry for entry in sorted(directory.iterdir())
                  if ATOMIC_TEMP.match(entry.name) and entry.is_file()
                  and not entry.is_symlink()]
    return found


def remove_interrupted_work(layout: Layout) -> list[Path]:
    """Empty ``tmp/`` and drop the temp files of interrupted record writes; returns what
    was removed."""
    tmp = layout.tmp_dir
    if tmp.is_dir():
        for point in mount_points_under(str(tmp)):
            try:
                kernel().umount2(point, MNT_DETACH)
            except OSError as exc:
                log.warning("cannot unmount %s left under %s: %s", point, tmp, exc)
    still_mounted = mount_points_under(str(tmp)) if tmp.is_dir() else []
    removed: list[Path] = []
    for entry in interrupted_work(layout):
        if any(p == str(entry) or p.startswith(f"{entry}/") for p in still_mounted):
            continue  # never delete through a mount into someone's files
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    if removed:
        log.info("removed %d leftovers of interrupted work: %s", len(removed),
                 ", ".join(os.fspath(p) for p in removed[:10]))
    return removed


def _record_dirs(layout: Layout) -> list[Path]:
    """Where the engine writes records with ``atomic_write`` (never into a container's,
    a layer's or a volume's own files, which are one level further down)."""
    fixed = [layout.data_root, layout.image_dir, layout.configs_dir,
             layout.pushed_layers.parent]
    per_object = [child for parent in (layout.containers_dir, layout.layers_dir,
                                       layout.volumes_dir) if parent.is_dir()
                  for child in parent.iterdir()]
    return [d for d in fixed + per_object if d.is_dir() and not d.is_symlink()]
