"""``GET /containers/{id}/stats``: a container's cgroup usage in dockerd's shape.

Each sample pairs the container's counters (from its cgroup, v1 or v2) with the host's
total CPU time from ``/proc/stat``, and carries the previous sample as ``precpu_stats``,
so that a client computes CPU % from one message as ``docker stats`` does. Streams send a
sample a second, as dockerd does. A container that is not running gets one zeroed
sample: there is nothing to measure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from cove.runtime.containers.record import Container

ZERO_TIME = "0001-01-01T00:00:00Z"
INTERVAL = 1.0
_NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _rfc3339(epoch: float) -> str:
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + \
        f".{int((epoch - whole) * 1e9):09d}Z"


def system_cpu_usage(proc_stat: str = "/proc/stat") -> int:
    """The host's CPU time in nanoseconds: user to softirq of the ``cpu`` line (dockerd)."""
    with open(proc_stat) as f:
        for line in f:
            if line.startswith("cpu "):
                return sum(int(v) for v in line.split()[1:8]) * _NS_PER_TICK
    return 0


def online_cpus() -> int:
    return len(os.sched_getaffinity(0)) or os.cpu_count() or 1


def _empty_cpu() -> dict[str, Any]:
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def _empty(container: Container) -> dict[str, Any]:
    return {"read": ZERO_TIME, "preread": ZERO_TIME, "pids_stats": {}, "blkio_stats": {
        "io_service_bytes_recursive": None}, "num_procs": 0, "storage_stats": {},
        "cpu_stats": _empty_cpu(), "precpu_stats": _empty_cpu(), "memory_stats": {},
        "name": "/" + container.name, "id": container.id}


def sample(manager: Any) -> dict[str, Any]:
    """One reading of the cgroup, with the host CPU time it is measured against.

    An unlimited cgroup reports a limit of "max" or ~2^63; like dockerd, the host's
    memory is the limit then, so that ``MEM %`` means something.
    """
    raw = manager.stats()
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    memory = raw["memory_stats"]
    if not memory.get("limit") or memory["limit"] > machine:
        memory["limit"] = machine
    cpu = raw["cpu_stats"]
    cpu["system_cpu_usage"] = system_cpu_usage()
    cpu["online_cpus"] = online_cpus()
    raw["read"] = _rfc3339(time.time())
    return raw


def stats(container: Container, manager: Any, stream: bool, one_shot: bool,
          client_gone: Callable[[], bool], is_running: Callable[[], bool]) -> Iterator[dict]:
    """Samples for ``container``: one (``stream=false``), or one a second while it runs.

    ``one_shot`` (with ``stream=false``) skips the second reading that fills
    ``precpu_stats``, as dockerd's ``one-shot`` does.
    """
    if not is_running():
        yield _empty(container)
        return
    previous: dict[str, Any] = {"read": ZERO_TIME, "cpu_stats": _empty_cpu()}
    if not stream and not one_shot:
        previous = sample(manager)
        time.sleep(INTERVAL)
    while True:
        current = sample(manager)
        message = {
            "read": current["read"], "preread": previous["read"],
            "pids_stats": current["pids_stats"], "blkio_stats": current["blkio_stats"],
            "num_procs": 0, "storage_stats": {}, "cpu_stats": current["cpu_stats"],
            "precpu_stats": previous["cpu_stats"], "memory_stats": current["memory_stats"],
            "name": "/" + container.name, "id": container.id,
        }
        yield message
        if not stream:
            return
        previous = current
        deadline = time.monotonic() + INTERVAL
        while time.monotonic() < deadline:
            if client_gone() or not is_running():
                return
            time.sleep(0.1)
