"""A machine's saved state: its VM as it was at the guest init's hold point.

After the first cold boot, ``machine start`` saves the VM there (QMP ``migrate`` to a file
while the guest waits at its control port, see ``cove.vm.control``): kernel, init, the
agent and a loaded engine are up, and the data disk is not mounted. Later starts restore
that file with ``-incoming`` instead of booting; the guest then sets its clock, reseeds its
RNG, mounts the data disk and starts the engine. The data disk was never mounted in the
saved RAM, so no stale page cache of it can come back (init also drops the blocks the
kernel's partition scan cached).

A saved state is only valid for the exact machine it was taken from: the key is a hash of
the QEMU command line (CPUs, memory, accelerator, devices, the guest image's files and
kernel arguments), QEMU's version, the guest image's own key, the seed disk and the data
disk's size. Any change, an upgrade of either side included, makes the next start a cold
boot that saves a new state.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from cove.vm.paths import MachinePaths

FORMAT = 1  # bumped when what init does at its hold point changes


def key(argv: Sequence[str], qemu_version: str, image_key: str, seed: bytes,
        disk_gib: int) -> str:
    """What a saved state is valid for; ``argv`` as built with no per-start values (the
    SSH port is 0: it is the host's side of the user network, not the guest's)."""
    described = json.dumps({"format": FORMAT, "argv": list(argv), "qemu": qemu_version,
                            "image": image_key, "seed": hashlib.sha256(seed).hexdigest(),
                            "disk_gib": disk_gib}, sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()


def valid(paths: MachinePaths, wanted: str) -> bool:
    try:
        return paths.saved_state_key.read_text().strip() == wanted and paths.saved_state.is_file()
    except OSError:
        return False


def discard(paths: MachinePaths) -> None:
    """The key goes first: a state without its key is never restored."""
    for path in (paths.saved_state_key, paths.saved_state, pending_path(paths)):
        with suppress(FileNotFoundError):
            path.unlink()


def pending_file(paths: MachinePaths) -> int:
    """A new, empty file for QEMU to save into (handed over as a descriptor)."""
    discard(paths)
    return os.open(pending_path(paths), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def commit(paths: MachinePaths, fd: int | None, wanted: str) -> None:
    """The saved file made durable and put in place, then its key: a crash at any point
    leaves either no valid state or a whole one."""
    pending = pending_path(paths)
    if fd is not None:
        os.fsync(fd)
    else:
        with open(pending, "rb") as f:
            os.fsync(f.fileno())
    os.replace(pending, paths.saved_state)
    tmp = paths.saved_state_key.with_name(".saved-state.key.tmp")
    with open(tmp, "w") as f:
        f.write(wanted + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, paths.saved_state_key)
    _fsync_dir(paths.root)


def pending_path(paths: MachinePaths) -> Path:
    return paths.root / ".saved-state.tmp"


def _fsync_dir(directory: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows: directories cannot be opened for fsync
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
