"""Overlay mounts, for every caller: a container's rootfs, and the read-only views of an
image or a stopped container that build, volume copy-up and ``docker cp`` read through.

One helper so that each of them gets the same rules: how many lower dirs the kernel
wants, and what to do when the layer list outgrows the one page of mount data.
Stdlib only: the container init mounts its rootfs with this.
"""

from __future__ import annotations

import os
import stat

from cove.runtime.linux.syscalls import CLONE_FS, MS_RDONLY, KernelError, make_dirs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.runtime.linux.kernel_interface import Kernel

# The kernel copies mount data into one page; leave room for the option names.
MAX_OVERLAY_DATA = 3000


def overlay_options(lower: list[str], upper: str | None, work: str | None,
                    links_dir: str) -> tuple[str, list[tuple[str, str]]]:
    """(mount data, short symlinks to create in ``links_dir`` first).

    Mount data must fit in one page. Past that, each layer is reached through a
    symlink named by its index in ``links_dir`` (Docker's ``overlay2/l`` idea);
    the kernel resolves them at mount time, so the caller chdirs there to mount.
    Without ``upper`` the options are those of a read-only overlay.
    """
    writable = f",upperdir={upper},workdir={work}" if upper is not None else ""
    data = f"lowerdir={':'.join(lower)}{writable}"
    if len(data) <= MAX_OVERLAY_DATA:
        return data, []
    links = [(str(i), path) for i, path in enumerate(lower)]
    data = f"lowerdir={':'.join(name for name, _ in links)}{writable}"
    if len(data) > MAX_OVERLAY_DATA:
        raise KernelError(7, "mount overlay: too many layers", links_dir)  # E2BIG
    return data, links


def mount_overlay(kernel: Kernel, lower: list[str], target: str, scratch: str,
                  upper: str | None = None, work: str | None = None) -> None:
    """Mount the overlay of ``lower`` (topmost first) at ``target``: read-write into
    ``upper`` and ``work``, or read-only without them.

    ``scratch`` is the caller's directory for what the mount may need: ``empty``, the
    layer that completes too short a ``lower`` (the kernel wants two lower dirs for a
    read-only overlay, one otherwise), and ``layers``, the links of long options.
    """
    lower = list(lower)
    if len(lower) < (1 if upper is not None else 2):
        empty = os.path.join(scratch, "empty")
        make_dirs(empty)
        lower.append(empty)
    flags = 0 if upper is not None else MS_RDONLY
    links_dir = os.path.join(scratch, "layers")
    data, links = overlay_options(lower, upper, work, links_dir)
    if not links:
        kernel.mount("overlay", target, "overlay", flags, data)
        return
    make_dirs(links_dir)
    for name, path in links:
        link = os.path.join(links_dir, name)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(path, link)
    _mount_from(kernel, links_dir, target, flags, data)


def _mount_from(kernel: Kernel, links_dir: str, target: str, flags: int, data: str) -> None:
    """Mount with ``links_dir`` as the directory the kernel resolves the short names in.

    The thread takes its own working directory first (``CLONE_FS``), so the daemon's
    other threads never see theirs move.
    """
    kernel.unshare(CLONE_FS)
    previous = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(links_dir)
        kernel.mount("overlay", target, "overlay", flags, data)
    finally:
        os.fchdir(previous)
        os.close(previous)


def make_whiteout(kernel: Kernel, path: str) -> None:
    """The 0/0 character device by which an upper or lower dir hides ``path`` below it."""
    kernel.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))
