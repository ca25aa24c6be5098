"""tmpfs mount options as dockerd reads them: ``--tmpfs /t:size=64m,exec`` and the
``TmpfsOptions`` of ``--mount type=tmpfs``, turned into mount flags and data.

Kept apart from ``mounts`` (which parses and lays out all of a container's mounts):
this is the table of mount(8) options and moby's merge rules for them.
"""

from __future__ import annotations

from typing import Any

from cove.runtime import errors
from cove.runtime.linux.syscalls import MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY

DEFAULT_PROPAGATION = "rprivate"
PROPAGATIONS = ("private", "rprivate", "slave", "rslave", "shared", "rshared")

# mount(8) option -> (clears the flag, MS_* flag), as moby/sys/mount's table; the values
# not in ``syscalls`` are Linux's MS_SYNCHRONOUS, MS_MANDLOCK, MS_DIRSYNC, MS_NOATIME,
# MS_NODIRATIME, MS_RELATIME and MS_STRICTATIME.
_FLAG_OPTIONS: dict[str, tuple[bool, int]] = {
    "ro": (False, MS_RDONLY), "rw": (True, MS_RDONLY),
    "suid": (True, MS_NOSUID), "nosuid": (False, MS_NOSUID),
    "dev": (True, MS_NODEV), "nodev": (False, MS_NODEV),
    "exec": (True, MS_NOEXEC), "noexec": (False, MS_NOEXEC),
    "sync": (False, 0x10), "async": (True, 0x10), "dirsync": (False, 0x80),
    "mand": (False, 0x40), "nomand": (True, 0x40),
    "atime": (True, 0x400), "noatime": (False, 0x400),
    "diratime": (True, 0x800), "nodiratime": (False, 0x800),
    "relatime": (False, 0x200000), "norelatime": (True, 0x200000),
    "strictatime": (False, 0x1000000), "nostrictatime": (True, 0x1000000),
}
_TMPFS_DATA_KEYS = ("", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")
_TMPFS_DEFAULTS = ["noexec", "nosuid", "nodev", DEFAULT_PROPAGATION]


def tmpfs_mount_data(options: Any, read_only: bool) -> str:
    """``TmpfsOptions`` as mount data (moby's ConvertTmpfsOptions): size gets k/m/g.

    Raises ValueError with moby's reason for a bad ``Options`` entry."""
    raw = ["ro"] if read_only else []
    options = options or {}
    mode = options.get("Mode") or 0
    if mode:
        raw.append(f"mode={mode:o}")
    size = options.get("SizeBytes") or 0
    if size:
        for suffix, divisor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % divisor == 0:
                raw.append(f"size={size // divisor}{suffix}")
                break
        else:
            raw.append(f"size={size}")
    for option in options.get("Options") or []:  # API 1.46: [["exec"]] lifts the noexec default
        if not isinstance(option, list) or not 1 <= len(option) <= 2:
            raise ValueError("invalid option array length")
        if option[0] not in ("exec", "noexec"):
            raise ValueError(f"invalid option: {option[0]}")
        raw.append("=".join(str(part) for part in option))
    return ",".join(raw)


def _go_quote_list(items: list[str]) -> str:
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "[" + " ".join(quoted) + "]"


def tmpfs_options(data: str) -> tuple[int, str]:
    """(MS_* flags, mount data) for a tmpfs: Docker's noexec,nosuid,nodev defaults, then
    the user's options, the last of each kind winning (moby's MergeTmpfsOptions)."""
    options = _TMPFS_DEFAULTS + (data.split(",") if data else [])
    seen_flags: set[int] = set()
    seen_keys: set[str] = set()
    merged: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        if option in _FLAG_OPTIONS or option in PROPAGATIONS:
            key = -1 if option in PROPAGATIONS else _FLAG_OPTIONS[option][1]
            if key not in seen_flags:
                merged.insert(0, option)
                seen_flags.add(key)
            continue
        pair = option.split("=", 1)
        if len(pair) != 2 or pair[0] not in _TMPFS_DATA_KEYS:
            raise errors.InvalidParameter(f"invalid tmpfs option {_go_quote_list(pair)}")
        if pair[0] not in seen_keys:
            merged.insert(0, option)
            seen_keys.add(pair[0])
    flags, kept = 0, []
    for option in merged:
        if option in PROPAGATIONS:
            continue
        if option in _FLAG_OPTIONS:
            clears, flag = _FLAG_OPTIONS[option]
            flags = flags & ~flag if clears else flags | flag
        else:
            kept.append(option)
    return flags, ",".join(kept)
