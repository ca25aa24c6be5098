"""The app's own settings, one JSON file in Cove's config directory (``$COVE_CONFIG``, else
platformdirs' user config dir: the same place as the CLI's config.json), written whole
with write, fsync, rename so a crash leaves the old file or the new, never half.

The machine's CPUs, memory and disk are not here: they are the machine's, in the file
``cove machine set`` writes, and the settings page edits them through ``cove.vm``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from cove.desktop.client.credentials import cove_config_dir

FILE_NAME = "desktop.json"


@dataclass(frozen=True)
class AppSettings:
    start_at_login: bool = False  # mirrored by the OS's login item (see autostart)
    show_timestamps: bool = False  # the logs page's timestamps
    open_dashboard_at_start: bool = True  # when started by hand (login starts hidden)


def path() -> Path:
    return Path(cove_config_dir()) / FILE_NAME


def load(where: Path | None = None) -> AppSettings:
    """The saved settings; defaults for a missing file, and for an unreadable one (which the
    next save replaces): settings must never keep the app from starting."""
    try:
        data = json.loads((where or path()).read_text())
    except (OSError, ValueError):
        return AppSettings()
    if not isinstance(data, dict):
        return AppSettings()
    known = {f.name: f for f in fields(AppSettings)}
    values = {k: v for k, v in data.items() if k in known and isinstance(v, bool)}
    return AppSettings(**values)


def save(settings: AppSettings, where: Path | None = None) -> None:
    target = where or path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(asdict(settings), f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
