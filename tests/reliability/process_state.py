"""What a daemon process holds, and what a container left behind, read from /proc and the
cgroup tree: the counts the leak and load tests compare before and after."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Holdings:
    fds: int
    threads: int
    children: int
    rss_kib: int


def holdings(pid: int) -> Holdings:
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return Holdings(
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        threads=int(fields["Threads"]),
        children=len(children_of(pid)),
        rss_kib=int(fields["VmRSS"].split()[0]),
    )


def children_of(pid: int) -> list[int]:
    kids: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as f:
                kids.extend(int(p) for p in f.read().split())
        except OSError:
            pass
    return kids


def traces_of(container_id: str, root: str) -> list[str]:
    """Every cgroup, mount and file under ``root`` that still names the container."""
    found = glob.glob(f"/sys/fs/cgroup/*/cove/{container_id}")
    found += glob.glob(f"/sys/fs/cgroup/cove/{container_id}")
    with open("/proc/self/mountinfo") as f:
        found += [line.split()[4] for line in f if container_id in line]
    for dirpath, dirnames, filenames in os.walk(root):
        found += [os.path.join(dirpath, n) for n in dirnames + filenames if container_id in n]
    return found


def settle(read: Callable[[], Holdings], baseline: Holdings, rss_slack_kib: int,
           timeout: float = 10.0) -> Holdings:
    """Poll until fds, threads and children are back to ``baseline`` and RSS within the
    slack; return the last reading (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    while True:
        now = read()
        back = (now.fds <= baseline.fds and now.threads <= baseline.threads
                and now.children <= baseline.children
                and now.rss_kib <= baseline.rss_kib + rss_slack_kib)
        if back or time.monotonic() > deadline:
            return now
        time.sleep(0.1)
