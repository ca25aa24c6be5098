"""cgroup v2: one unified directory <root>/<parent>/<id> with the controllers enabled from above.

A controller's files appear in a cgroup only when every ancestor lists it in
``cgroup.subtree_control``, so ``create`` enables memory, cpu and pids on the way down.
"""

from __future__ import annotations

import os
from typing import Any

from cove.runtime.errors import SystemError_
from cove.runtime.linux.cgroups import devices
from cove.runtime.linux.cgroups.common import (
    CPU_PERIOD_US,
    SETTLE_TIMEOUT,
    Resources,
    cpu_quota_us,
    kill_until_empty,
    make_dir,
    parse_int,
    parse_io_stat_v2,
    parse_keyed,
    read_optional,
    read_procs,
    read_text,
    remove_cgroup_dir,
    swap_total,
    wait_for,
    write_text,
)
from cove.runtime.linux.oom import oom_kills

WANTED_CONTROLLERS = ("cpu", "memory", "pids")
CPUSET = "cpuset"
"""Delegated only to containers that ask for a cpuset (runc enables it the same way)."""


def shares_to_weight(shares: int) -> int:
    """Map v1 cpu.shares (2..262144, default 1024) onto v2 cpu.weight (1..10000), as runc."""
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


class CgroupV2Manager:
    """A container's cgroup on a unified (v2) host; ``root`` is a parameter so tests can fake it."""

    def __init__(self, container_id: str, parent: str = "cove", root: str = "/sys/fs/cgroup"):
        self.container_id = container_id
        self.parent = parent.strip("/")
        self.root = root

    @property
    def path(self) -> str:
        return os.path.join(self.root, self.parent, self.container_id)

    def _file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def create(self, resources: Resources) -> None:
        wanted: tuple[str, ...] = WANTED_CONTROLLERS
        if resources.cpuset_cpus or resources.cpuset_mems:
            wanted += (CPUSET,)
        self._delegate(wanted)
        make_dir(self.path)
        if resources.devices is not None and resources.devices != devices.ALLOW_ALL:
            devices.attach_device_program(self.path, resources.devices)
        self.update(resources)

    def _delegate(self, controllers: tuple[str, ...]) -> None:
        """Enable ``controllers`` from the root down to the container's parent."""
        directory = self.root
        for part in self.parent.split("/") if self.parent else []:
            self._enable_controllers(directory, controllers)
            directory = os.path.join(directory, part)
            make_dir(directory)
        self._enable_controllers(directory, controllers)

    def _enable_controllers(self, directory: str,
                            controllers: tuple[str, ...] = WANTED_CONTROLLERS) -> None:
        """Delegate the controllers we need to ``directory``'s children, those it has."""
        available = (read_optional(os.path.join(directory, "cgroup.controllers")) or "").split()
        enabled = (read_optional(os.path.join(directory, "cgroup.subtree_control")) or "").split()
        missing = [c for c in controllers if c in available and c not in enabled]
        if missing:
            write_text(os.path.join(directory, "cgroup.subtree_control"),
                       " ".join("+" + c for c in missing), op="enable controllers")

    def update(self, resources: Resources) -> None:
        if resources.memory is not None:
            memory = resources.memory
            write_text(self._file("memory.max"), memory if memory > 0 else "max")
        total = swap_total(resources)
        if total is not None and os.path.exists(self._file("memory.swap.max")):
            if total == -1 or not resources.memory or resources.memory <= 0:
                swap: int | str = "max"
            else:
                swap = max(0, total - resources.memory)
            write_text(self._file("memory.swap.max"), swap)
        if resources.nano_cpus is not None:
            quota = cpu_quota_us(resources.nano_cpus) if resources.nano_cpus > 0 else "max"
            write_text(self._file("cpu.max"), f"{quota} {CPU_PERIOD_US}")
        if resources.cpu_quota or resources.cpu_period:  # cpu.max holds both: keep the other
            current = (read_optional(self._file("cpu.max")) or "").split() or ["max"]
            cfs_quota: int | str = resources.cpu_quota or current[0]
            period = resources.cpu_period or (current[1] if len(current) > 1 else CPU_PERIOD_US)
            write_text(self._file("cpu.max"),
                       f"{'max' if cfs_quota == -1 else cfs_quota} {period}")
        if resources.cpu_shares:
            write_text(self._file("cpu.weight"), shares_to_weight(resources.cpu_shares))
        if resources.pids_limit is not None:
            limit = resources.pids_limit
            write_text(self._file("pids.max"), limit if limit > 0 else "max")
        for name, value in (("cpuset.cpus", resources.cpuset_cpus),
                            ("cpuset.mems", resources.cpuset_mems)):
            if value:
                if not os.path.exists(self._file(name)):  # docker update on a running one
                    self._delegate((CPUSET,))
                if not os.path.exists(self._file(name)):
                    raise SystemError_(f"cgroup: {name}: the cpuset controller is not "
                                       f"available in {self.path}")
                write_text(self._file(name), value)

    def add_process(self, pid: int) -> None:
        write_text(self._file("cgroup.procs"), pid, op="add process")

    def join_paths(self) -> list[str]:
        return [self._file("cgroup.procs")]

    def freeze(self) -> None:
        self._set_frozen(True)

    def thaw(self) -> None:
        self._set_frozen(False)

    def _set_frozen(self, frozen: bool, timeout: float = SETTLE_TIMEOUT) -> None:
        """Write cgroup.freeze and wait for cgroup.events to report the new state."""
        want = 1 if frozen else 0
        write_text(self._file("cgroup.freeze"), want, op="set freeze")
        events = self._file("cgroup.events")
        wait_for(lambda: parse_keyed(read_text(events)).get("frozen") == want,
                 f"{events} to report frozen {want}", timeout)

    def pids(self) -> list[int]:
        if not os.path.isdir(self.path):
            return []
        return sorted(read_procs(self.path))

    def oom_killed(self) -> bool:
        return oom_kills(self.oom_events_file()) > 0

    def oom_events_file(self) -> str:
        return self._file("memory.events")

    def stats(self) -> dict[str, Any]:
        """Raw usage in the shape of Docker's stats (memory_stats, cpu_stats, pids_stats)."""
        cpu = parse_keyed(read_optional(self._file("cpu.stat")))
        return {
            "memory_stats": {
                "usage": parse_int(read_optional(self._file("memory.current"))) or 0,
                "limit": parse_int(read_optional(self._file("memory.max"))) or 0,
                "stats": parse_keyed(read_optional(self._file("memory.stat"))),
            },
            "cpu_stats": {
                "cpu_usage": {
                    "total_usage": cpu.get("usage_usec", 0) * 1000,
                    "usage_in_usermode": cpu.get("user_usec", 0) * 1000,
                    "usage_in_kernelmode": cpu.get("system_usec", 0) * 1000,
                },
                "throttling_data": {
                    "periods": cpu.get("nr_periods", 0),
                    "throttled_periods": cpu.get("nr_throttled", 0),
                    "throttled_time": cpu.get("throttled_usec", 0) * 1000,
                },
            },
            "pids_stats": {
                "current": parse_int(read_optional(self._file("pids.current"))) or 0,
                "limit": parse_int(read_optional(self._file("pids.max"))) or 0,
            },
            "blkio_stats": {"io_service_bytes_recursive": parse_io_stat_v2(
                read_optional(self._file("io.stat")))},
        }

    def destroy(self) -> None:
        """Kill what is left (cgroup.kill where the kernel has it), then rmdir; safe to repeat."""
        if not self.exists():
            return
        kill_file = self._file("cgroup.kill")
        if os.path.exists(kill_file) and self.pids():
            write_text(kill_file, 1, op="kill")
        kill_until_empty(self.pids, self.container_id)
        remove_cgroup_dir(self.path)

    def exists(self) -> bool:
        return os.path.isdir(self.path)
