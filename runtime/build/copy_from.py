"""COPY --from: the files of another stage's (or any local) image, read through a
temporary read-only overlay mount of its layers."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from cove.common.paths import resolve_in_root
from cove.runtime import errors
from cove.runtime.build import globs
from cove.runtime.linux.overlay import mount_overlay
from cove.runtime.linux.syscalls import MNT_DETACH, kernel


class ImageSources(list[tuple[str, str]]):
    """(path, name) pairs inside a mounted image; ``release()`` unmounts it."""

    def __init__(self, mountpoint: str, scratch: str) -> None:
        super().__init__()
        self.mountpoint = mountpoint
        self.scratch = scratch

    def release(self) -> None:
        try:
            kernel().umount2(self.mountpoint, MNT_DETACH)
        except OSError:
            pass
        shutil.rmtree(self.scratch, ignore_errors=True)


def _followed(mountpoint: str, rel: str) -> str:
    """The host path of image path ``rel``, its links followed inside the image (never
    out to the host's files), the last one too, as dockerd follows a source link."""
    try:
        return resolve_in_root(mountpoint, rel)
    except OSError as exc:  # a link loop
        raise errors.InvalidParameter(f"COPY failed: {rel}: {exc.strerror or exc}") from exc


def select_from_image(lower_dirs: list[str], image_id: str, patterns: list[str],
                      tmp_root: str) -> tuple[ImageSources, str]:
    scratch = tempfile.mkdtemp(prefix="copy-from-", dir=tmp_root)
    mountpoint = os.path.join(scratch, "root")
    os.mkdir(mountpoint)
    mount_overlay(kernel(), lower_dirs, mountpoint, scratch)
    sources = ImageSources(mountpoint, scratch)
    try:
        for pattern in patterns:
            if globs.has_wildcards(pattern):
                matched = list(globs.walk_matches(mountpoint, globs.source_pattern(pattern)))
                if not matched:
                    raise errors.InvalidParameter("COPY failed: no source files were specified")
                sources.extend((_followed(mountpoint, rel), rel) for rel in matched)
                continue
            clean = os.path.normpath(pattern.lstrip("/"))
            if clean.startswith(".."):
                raise errors.InvalidParameter(f"COPY --from: path escapes the image: {pattern}")
            if clean == ".":
                sources.append((mountpoint, "/"))
                continue
            path = _followed(mountpoint, clean)
            if not os.path.lexists(path):
                raise errors.InvalidParameter(f"COPY failed: stat {clean}: file does not exist")
            sources.append((path, clean))
    except BaseException:
        sources.release()
        raise
    key = hashlib.sha256(f"{image_id}\n{patterns}".encode()).hexdigest()
    return sources, key
