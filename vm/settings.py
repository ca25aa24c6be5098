"""A machine's settings: what ``cove machine init`` and ``set`` write, and ``start`` reads.

``set`` changes the file only; a running machine keeps what it booted with until its
next start, and ``status`` shows both when they differ. Units are podman machine's:
memory in MiB, disk size in GiB.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_CPUS = 2
DEFAULT_MEMORY_MIB = 2048
DEFAULT_DISK_GIB = 100
MIN_MEMORY_MIB = 256


class SettingsError(ValueError):
    """A setting out of range, or a settings file that cannot be read."""


@dataclass(frozen=True)
class MachineSettings:
    cpus: int = DEFAULT_CPUS
    memory_mib: int = DEFAULT_MEMORY_MIB
    disk_gib: int = DEFAULT_DISK_GIB
    ssh_port: int = 0  # chosen at init: a free port on 127.0.0.1

    def validated(self, host_cpus: int | None = None) -> MachineSettings:
        if self.cpus < 1:
            raise SettingsError(f"--cpus must be at least 1, not {self.cpus}")
        if host_cpus is not None and self.cpus > host_cpus:
            raise SettingsError(f"--cpus {self.cpus} exceeds the host's {host_cpus} CPUs")
        if self.memory_mib < MIN_MEMORY_MIB:
            raise SettingsError(
                f"--memory must be at least {MIN_MEMORY_MIB} MiB, not {self.memory_mib}")
        if self.disk_gib < 1:
            raise SettingsError(f"--disk-size must be at least 1 GiB, not {self.disk_gib}")
        if not 0 <= self.ssh_port < 65536:
            raise SettingsError(f"invalid SSH port {self.ssh_port}")
        return self

    def changed(self, **values: int | None) -> MachineSettings:
        """These settings with the given ones replaced (None: keep)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def load(path: Path) -> MachineSettings:
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"cannot read {path}: not a JSON object")
    known = {f.name for f in fields(MachineSettings)}
    try:
        return MachineSettings(**{k: int(v) for k, v in data.items() if k in known})
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc


def save(path: Path, settings: MachineSettings) -> None:
    """Write, fsync, rename: a crash leaves the old settings or the new ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(asdict(settings), f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
