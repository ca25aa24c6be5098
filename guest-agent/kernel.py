"""The few system calls PID 1 makes itself (mount, umount, reboot), through libc.

Each one would otherwise cost an exec of a helper, and an exec is slow under TCG.
"""

from __future__ import annotations

import ctypes
import os

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
RB_POWER_OFF = 0x4321FEDC

_libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    """mount(2); an error names the operation and the target."""
    rc: int = _libc.mount(source.encode(), target.encode(), fstype.encode(), ctypes.c_ulong(flags),
                          data.encode() if data else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype} on {target}: {os.strerror(err)}")


def umount(target: str) -> None:
    rc: int = _libc.umount2(target.encode(), 0)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def power_off() -> None:
    """Turns the machine off at once (the caller has synced and unmounted)."""
    _libc.sync()
    _libc.reboot(RB_POWER_OFF)
