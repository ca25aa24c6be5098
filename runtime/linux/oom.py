"""A cgroup's OOM-kill counter, readable where the cgroups package is too heavy to import.

The shim reads it when its container exits: v1 keeps the counter in ``memory.oom_control``,
v2 in ``memory.events``, both as an ``oom_kill N`` line; ``CgroupManager.oom_events_file``
names the file. Stdlib only: the shim runs in a fresh ``python -I -S``.
"""

from __future__ import annotations


def oom_kills(events_file: str) -> int:
    """The ``oom_kill`` count in ``events_file``; 0 when it is missing or unreadable."""
    try:
        with open(events_file, "rb") as f:
            for line in f.read().decode().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value or 0)
    except (OSError, ValueError):
        pass
    return 0
