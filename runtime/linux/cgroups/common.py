"""What both cgroup versions share: the resource record, the manager interface, file I/O.

Every kernel call here is wrapped so a failure says which file and which operation
failed (youki's ``WrappedIoError``) and surfaces as ``SystemError_`` with the
``OSError`` kept as its cause.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from cove.runtime.errors import SystemError_
from cove.runtime.linux.cgroups.devices import DeviceRule

CPU_PERIOD_US = 100_000
"""The CFS period Docker uses; ``--cpus`` becomes a quota over this period."""

SETTLE_TIMEOUT = 5.0
"""How long freeze/thaw and destroy wait for the kernel before giving up."""


@dataclass(frozen=True)
class Resources:
    """The limits of one container, in Docker's units (HostConfig field semantics).

    ``memory_swap`` is memory+swap as in Docker: None/0 means twice ``memory``,
    -1 means unlimited swap. ``pids_limit`` <= 0 means unlimited. ``cpuset_cpus`` and
    ``cpuset_mems`` are cpuset lists ("0-1,3"). ``cpu_quota``/``cpu_period`` are the CFS
    values in microseconds (a quota of -1: unlimited). ``devices`` is the whole allow
    list (set at create only). On ``update`` a None field is left as it is.
    """

    memory: int | None = None
    memory_swap: int | None = None
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    devices: tuple[DeviceRule, ...] | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None


class CgroupManager(Protocol):
    """One container's cgroup, whatever the hierarchy looks like underneath."""

    def create(self, resources: Resources) -> None: ...

    def add_process(self, pid: int) -> None: ...

    def join_paths(self) -> list[str]: ...

    def update(self, resources: Resources) -> None: ...

    def freeze(self) -> None: ...

    def thaw(self) -> None: ...

    def pids(self) -> list[int]: ...

    def oom_killed(self) -> bool: ...

    def oom_events_file(self) -> str:
        """The file whose ``oom_kill`` line counts the cgroup's OOM kills (``linux.oom``)."""
        ...

    def stats(self) -> dict[str, Any]: ...

    def destroy(self) -> None: ...

    def exists(self) -> bool: ...


def swap_total(resources: Resources) -> int | None:
    """Memory+swap in bytes as Docker derives it, -1 for unlimited, None if not set."""
    if resources.memory is None or resources.memory <= 0:
        return -1 if resources.memory_swap == -1 else None
    if resources.memory_swap == -1:
        return -1
    if resources.memory_swap:
        return resources.memory_swap
    return 2 * resources.memory


def cpu_quota_us(nano_cpus: int) -> int:
    """The CFS quota for ``--cpus``: nano_cpus is CPUs * 1e9."""
    return max(1000, nano_cpus * CPU_PERIOD_US // 1_000_000_000)


def read_text(path: str, op: str = "read") -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        raise SystemError_(f"cgroup: {op} {path}: {exc.strerror or exc}") from exc


def read_optional(path: str) -> str | None:
    """The file's text, or None when the controller does not provide it."""
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise SystemError_(f"cgroup: read {path}: {exc.strerror or exc}") from exc


def write_text(path: str, value: str | int, op: str = "write") -> None:
    """Write one value in a single write(2), as cgroupfs parses each write on its own."""
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as exc:
        raise SystemError_(f"cgroup: {op} {value!s} to {path}: {exc.strerror or exc}") from exc


def make_dir(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise SystemError_(f"cgroup: mkdir {path}: {exc.strerror or exc}") from exc


def parse_keyed(text: str | None) -> dict[str, int]:
    """Parse ``key value`` lines (memory.stat, cpu.stat, memory.events, oom_control)."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_blkio_v1(text: str | None) -> list[dict[str, Any]]:
    """``blkio.throttle.io_service_bytes_recursive`` ("8:0 Read 4096" lines) as Docker's
    BlkioStatEntry list; the "Total" lines without a device are left out, as dockerd does."""
    entries: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) != 3 or ":" not in fields[0]:
            continue
        major, _, minor = fields[0].partition(":")
        try:
            entries.append({"major": int(major), "minor": int(minor), "op": fields[1],
                            "value": int(fields[2])})
        except ValueError:
            continue
    return entries


def parse_io_stat_v2(text: str | None) -> list[dict[str, Any]]:
    """cgroup v2 ``io.stat`` ("8:0 rbytes=1 wbytes=2 ...") as dockerd reports it: the
    rbytes and wbytes of each device as "read" and "write" entries."""
    entries: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        device, *pairs = line.split()
        if ":" not in device:
            continue
        major, _, minor = device.partition(":")
        values = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
        for key, op in (("rbytes", "read"), ("wbytes", "write")):
            if key in values:
                try:
                    entries.append({"major": int(major), "minor": int(minor), "op": op,
                                    "value": int(values[key])})
                except ValueError:
                    continue
    return entries


def parse_int(text: str | None) -> int | None:
    """An integer file; "max" (v2 unlimited) and absent files give None."""
    if text is None:
        return None
    text = text.strip()
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def read_procs(directory: str) -> set[int]:
    """PIDs in ``directory`` and every cgroup below it (nested cgroups are still ours)."""
    found: set[int] = set()
    for dirpath, _dirs, _files in os.walk(directory):
        text = read_optional(os.path.join(dirpath, "cgroup.procs"))
        found.update(int(tok) for tok in (text or "").split() if tok.isdigit())
    return found


def remove_cgroup_dir(path: str) -> None:
    """rmdir a cgroup and its children, deepest first; a missing dir is already done.

    cgroupfs lets a cgroup go with its control files inside, so plain rmdir is right;
    EBUSY right after the last process died is retried until the deadline.
    """
    if not os.path.isdir(path):
        return
    children = [d for d in os.scandir(path) if d.is_dir(follow_symlinks=False)]
    for child in children:
        remove_cgroup_dir(child.path)
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno == errno.EBUSY and time.monotonic() < deadline:
                time.sleep(0.01)
                continue
            raise SystemError_(f"cgroup: rmdir {path}: {exc.strerror or exc}") from exc


def kill_until_empty(list_pids: Callable[[], Iterable[int]], what: str) -> None:
    """SIGKILL everything in the cgroup until it is empty, or fail after the deadline.

    Loops because a process can fork between our read of cgroup.procs and the kill.
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        pids = list(list_pids())
        if not pids:
            return
        if time.monotonic() >= deadline:
            raise SystemError_(f"cgroup: {what}: processes still running after SIGKILL: {pids}")
        signal_all(pids)
        time.sleep(0.01)


def signal_all(pids: Iterable[int], signum: int = signal.SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
        except OSError as exc:
            raise SystemError_(f"cgroup: kill {pid}: {exc.strerror}") from exc


def wait_for(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise SystemError_(f"cgroup: timed out waiting for {what}")
        time.sleep(0.005)
