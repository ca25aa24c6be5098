"""The seed disk the host writes for the guest: a plain tar on a raw, read-only disk.

Its members and the disk's serial are the guest agent's (``cove.guest_agent.seed`` reads
it); this side only writes. A tar needs no tool on macOS or Windows and no filesystem driver
in the guest.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from cove.guest_agent.seed import MEMBERS

SECTOR = 512


def write_seed(path: Path, files: dict[str, bytes]) -> None:
    """Write the archive (whole sectors, as a raw disk must be) atomically."""
    unknown = set(files) - MEMBERS
    if unknown:
        raise ValueError(f"not seed members: {sorted(unknown)}")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(data))
    data = out.getvalue()
    data += b"\0" * (-len(data) % SECTOR)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
