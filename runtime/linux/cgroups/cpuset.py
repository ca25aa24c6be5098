"""cpuset lists (``0-2,5``): parsed as the kernel and dockerd read them, and the CPUs and
memory nodes this host's cgroups offer a container (``--cpuset-cpus``/``--cpuset-mems``)."""

from __future__ import annotations

import os

from cove.runtime.linux.cgroups.common import read_optional


def parse_list(text: str) -> set[int]:
    """The numbers a cpuset list names; ``ValueError`` for anything else, as dockerd's
    ``parsers.ParseUintList`` refuses it. An empty list names none."""
    found: set[int] = set()
    if not text:
        return found
    for item in text.split(","):
        low, sep, high = item.partition("-")
        if not low.isdigit() or (sep and not high.isdigit()):
            raise ValueError(f"invalid format: {text}")
        first, last = int(low), int(high) if sep else int(low)
        if last < first:
            raise ValueError(f"invalid format: {text}")
        found.update(range(first, last + 1))
    return found


def available(root: str = "/sys/fs/cgroup", unified: bool | None = None) -> tuple[str, str]:
    """(cpus, mems) the host lets containers use: the root cpuset's lists on v1, the
    effective ones of the root on v2 (where dockerd's sysinfo reads them)."""
    if unified is None:
        unified = os.path.exists(os.path.join(root, "cgroup.controllers"))
    if unified:
        names = (os.path.join(root, "cpuset.cpus.effective"),
                 os.path.join(root, "cpuset.mems.effective"))
    else:
        names = (os.path.join(root, "cpuset", "cpuset.cpus"),
                 os.path.join(root, "cpuset", "cpuset.mems"))
    cpus, mems = (read_optional(name) for name in names)
    if not cpus:
        cpus = f"0-{(os.cpu_count() or 1) - 1}"
    return cpus.strip(), (mems or "0").strip()
