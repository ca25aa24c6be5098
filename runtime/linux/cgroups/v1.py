"""cgroup v1: one directory per controller hierarchy, all named <root>/<controller>/<parent>/<id>.

Used on legacy and hybrid hosts (cgroup2 may be mounted at <root>/unified without
controllers; it is ignored). Controllers that share a mount (cpu,cpuacct) resolve
to the same directory and are written once.
"""

from __future__ import annotations

import os
from typing import Any

from cove.runtime.errors import SystemError_
from cove.runtime.linux.cgroups.common import (
    CPU_PERIOD_US,
    SETTLE_TIMEOUT,
    Resources,
    cpu_quota_us,
    kill_until_empty,
    make_dir,
    parse_blkio_v1,
    parse_int,
    parse_keyed,
    read_optional,
    read_procs,
    read_text,
    remove_cgroup_dir,
    signal_all,
    swap_total,
    wait_for,
    write_text,
)
from cove.runtime.linux.cgroups.devices import ALLOW_ALL, DeviceRule
from cove.runtime.linux.oom import oom_kills

CONTROLLERS = ("cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "pids", "blkio")
"""The hierarchies a container joins; those not mounted on the host are skipped."""

UNLIMITED = -1
USER_HZ_NS = 1_000_000_000 // 100
"""cpuacct.stat counts USER_HZ (100 on Linux) ticks."""


class CgroupV1Manager:
    """A container's cgroups on a v1 host; ``root`` is a parameter so tests can fake it."""

    def __init__(self, container_id: str, parent: str = "cove", root: str = "/sys/fs/cgroup"):
        self.container_id = container_id
        self.parent = parent.strip("/")
        self.root = root

    # paths
    def _mounts(self) -> dict[str, str]:
        """controller -> its hierarchy's mount directory, for mounted controllers."""
        found: dict[str, str] = {}
        for name in CONTROLLERS:
            mount = os.path.join(self.root, name)
            if os.path.isdir(mount):
                found[name] = mount
        return found

    def path(self, controller: str) -> str:
        return os.path.join(self.root, controller, self.parent, self.container_id)

    def _dirs(self) -> dict[str, str]:
        """controller -> container dir, one entry per distinct hierarchy."""
        seen: set[str] = set()
        out: dict[str, str] = {}
        for name, mount in self._mounts().items():
            real = os.path.realpath(mount)
            if real in seen:
                continue
            seen.add(real)
            out[name] = os.path.join(mount, self.parent, self.container_id)
        return out

    def _file(self, controller: str, name: str) -> str:
        return os.path.join(self.path(controller), name)

    # lifecycle
    def create(self, resources: Resources) -> None:
        for controller, directory in self._dirs().items():
            if controller == "cpuset":
                self._make_cpuset_dirs(directory)
            else:
                make_dir(directory)
        self.update(resources)

    def _make_cpuset_dirs(self, directory: str) -> None:
        """A new cpuset cgroup starts with no CPUs or memory nodes; copy them down."""
        mount = os.path.join(self.root, "cpuset")
        parent = mount
        relative = os.path.relpath(directory, mount)
        for part in relative.split(os.sep):
            child = os.path.join(parent, part)
            make_dir(child)
            for name in ("cpuset.cpus", "cpuset.mems"):
                current = read_optional(os.path.join(child, name))
                if current is None or not current.strip():
                    inherited = read_optional(os.path.join(parent, name))
                    if inherited is not None and inherited.strip():
                        write_text(os.path.join(child, name), inherited.strip())
            parent = child

    def update(self, resources: Resources) -> None:
        dirs = self._dirs()
        if "memory" in dirs:
            self._set_memory(resources)
        if "cpu" in dirs:
            if resources.nano_cpus is not None:
                if resources.nano_cpus > 0:
                    write_text(self._file("cpu", "cpu.cfs_period_us"), CPU_PERIOD_US)
                    write_text(self._file("cpu", "cpu.cfs_quota_us"),
                               cpu_quota_us(resources.nano_cpus))
                else:
                    write_text(self._file("cpu", "cpu.cfs_quota_us"), UNLIMITED)
            if resources.cpu_shares:
                write_text(self._file("cpu", "cpu.shares"), resources.cpu_shares)
            if resources.cpu_period:
                write_text(self._file("cpu", "cpu.cfs_period_us"), resources.cpu_period)
            if resources.cpu_quota:
                write_text(self._file("cpu", "cpu.cfs_quota_us"), resources.cpu_quota)
        if "pids" in dirs and resources.pids_limit is not None:
            limit = resources.pids_limit
            write_text(self._file("pids", "pids.max"), limit if limit > 0 else "max")
        if resources.devices is not None and "devices" in dirs:
            self._set_devices(resources.devices)
        for name, value in (("cpuset.cpus", resources.cpuset_cpus),
                            ("cpuset.mems", resources.cpuset_mems)):
            if value:
                if "cpuset" not in dirs:
                    raise SystemError_(f"cgroup: {name}: the cpuset controller is not mounted")
                write_text(self._file("cpuset", name), value)

    def _set_devices(self, rules: tuple[DeviceRule, ...]) -> None:
        """Deny every device, then allow the rules (all of them for ALLOW_ALL), as runc."""
        if rules != ALLOW_ALL:
            write_text(self._file("devices", "devices.deny"), "a", op="deny devices")
        for rule in rules:
            write_text(self._file("devices", "devices.allow"), rule.v1_line(),
                       op="allow device")

    def _set_memory(self, resources: Resources) -> None:
        """Write memory and memory+swap in the order the kernel accepts.

        The kernel refuses memory.limit_in_bytes above memory.memsw.limit_in_bytes and
        the reverse, so when the new total grows past the current one, memsw goes first.
        """
        memory = resources.memory
        memsw = swap_total(resources)
        limit_file = self._file("memory", "memory.limit_in_bytes")
        memsw_file = self._file("memory", "memory.memsw.limit_in_bytes")
        has_swap_accounting = os.path.exists(
            os.path.join(self.root, "memory", "memory.memsw.limit_in_bytes"))
        if memsw is None or not has_swap_accounting:
            if memory is not None:
                write_text(limit_file, memory if memory > 0 else UNLIMITED)
            return
        current_memsw = parse_int(read_optional(memsw_file))
        grows = memsw == UNLIMITED or (current_memsw is not None and memsw > current_memsw)
        if grows:
            write_text(memsw_file, memsw)
        if memory is not None:
            write_text(limit_file, memory if memory > 0 else UNLIMITED)
        if not grows:
            write_text(memsw_file, memsw)

    def add_process(self, pid: int) -> None:
        for directory in self._dirs().values():
            write_text(os.path.join(directory, "cgroup.procs"), pid, op="add process")

    def join_paths(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self._dirs().values()]

    def freeze(self) -> None:
        self._set_freezer("FROZEN")

    def thaw(self) -> None:
        self._set_freezer("THAWED")

    def _set_freezer(self, state: str, timeout: float = SETTLE_TIMEOUT) -> None:
        """Ask for ``state`` and wait until the kernel reports it (FREEZING is transient)."""
        path = self._file("freezer", "freezer.state")

        def settled() -> bool:
            current = read_text(path).strip()
            if current != state:
                write_text(path, state, op="set freezer state")
                return False
            return True

        write_text(path, state, op="set freezer state")
        wait_for(settled, f"{path} to become {state}", timeout)

    def pids(self) -> list[int]:
        found: set[int] = set()
        for directory in self._dirs().values():
            found |= read_procs(directory)
        return sorted(found)

    def oom_killed(self) -> bool:
        return oom_kills(self.oom_events_file()) > 0

    def oom_events_file(self) -> str:
        return self._file("memory", "memory.oom_control")

    def stats(self) -> dict[str, Any]:
        """Raw usage in the shape of Docker's stats (memory_stats, cpu_stats, pids_stats)."""
        mem_stat = parse_keyed(read_optional(self._file("memory", "memory.stat")))
        limit = parse_int(read_optional(self._file("memory", "memory.limit_in_bytes")))
        percpu = read_optional(self._file("cpuacct", "cpuacct.usage_percpu")) or ""
        cpuacct = parse_keyed(read_optional(self._file("cpuacct", "cpuacct.stat")))
        throttling = parse_keyed(read_optional(self._file("cpu", "cpu.stat")))
        return {
            "memory_stats": {
                "usage": parse_int(read_optional(
                    self._file("memory", "memory.usage_in_bytes"))) or 0,
                "max_usage": parse_int(read_optional(
                    self._file("memory", "memory.max_usage_in_bytes"))) or 0,
                "failcnt": parse_int(read_optional(self._file("memory", "memory.failcnt"))) or 0,
                "limit": limit or 0,
                "stats": mem_stat,
            },
            "cpu_stats": {
                "cpu_usage": {
                    "total_usage": parse_int(read_optional(
                        self._file("cpuacct", "cpuacct.usage"))) or 0,
                    "percpu_usage": [int(v) for v in percpu.split()],
                    "usage_in_usermode": cpuacct.get("user", 0) * USER_HZ_NS,
                    "usage_in_kernelmode": cpuacct.get("system", 0) * USER_HZ_NS,
                },
                "throttling_data": {
                    "periods": throttling.get("nr_periods", 0),
                    "throttled_periods": throttling.get("nr_throttled", 0),
                    "throttled_time": throttling.get("throttled_time", 0),
                },
            },
            "pids_stats": {
                "current": parse_int(read_optional(self._file("pids", "pids.current"))) or 0,
                "limit": parse_int(read_optional(self._file("pids", "pids.max"))) or 0,
            },
            "blkio_stats": {"io_service_bytes_recursive": parse_blkio_v1(read_optional(
                self._file("blkio", "blkio.throttle.io_service_bytes_recursive")))},
        }

    def destroy(self) -> None:
        """Kill what is left, then remove every hierarchy's directory; safe to repeat.

        A frozen cgroup is thawed first: v1 delivers SIGKILL to frozen tasks only
        once they thaw.
        """
        if not self.exists():
            return
        state = read_optional(self._file("freezer", "freezer.state"))
        if state is not None and state.strip() != "THAWED":
            signal_all(self.pids())
            self._set_freezer("THAWED")
        kill_until_empty(self.pids, self.container_id)
        for directory in self._dirs().values():
            remove_cgroup_dir(directory)

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self._dirs().values())
