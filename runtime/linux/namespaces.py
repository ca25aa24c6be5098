"""Entering namespaces: new ones for a container's init, the init's ones for an exec.

A new PID namespace applies to children only, so both callers fork afterwards; the
mount namespace is joined last because it changes the root and /proc under us.
"""

from __future__ import annotations

import os

from cove.runtime.linux.syscalls import (
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    KernelError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.runtime.linux.kernel_interface import Kernel

NAMESPACE_FLAGS = {
    "ipc": CLONE_NEWIPC, "uts": CLONE_NEWUTS, "net": CLONE_NEWNET, "pid": CLONE_NEWPID,
    "cgroup": CLONE_NEWCGROUP, "mnt": CLONE_NEWNS,
}

# What a container init unshares after the shim has put it in a new PID namespace.
CONTAINER_NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP

# The order an exec joins them: mnt last (it swaps our root), pid applies to children.
EXEC_JOIN_ORDER = ("ipc", "uts", "net", "pid", "cgroup", "mnt")


def join_cgroups(procs_files: list[str]) -> None:
    """Move the calling process into each cgroup by writing "0" to its cgroup.procs."""
    for path in procs_files:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise KernelError(exc.errno or 0, "open cgroup", path) from exc
        try:
            os.write(fd, b"0")
        except OSError as exc:
            raise KernelError(exc.errno or 0, "join cgroup", path) from exc
        finally:
            os.close(fd)


def join_namespaces(kernel: Kernel, pid: int, kinds: tuple[str, ...] = EXEC_JOIN_ORDER) -> None:
    """setns into ``/proc/<pid>/ns/<kind>`` for each kind, opening them all first.

    All are opened before the first setns because after joining the mount
    namespace the host's /proc (and with it the target pid) is out of sight.
    Kinds the kernel lacks (no cgroup namespaces) are skipped.
    """
    opened: list[tuple[int, str, str]] = []
    try:
        for kind in kinds:
            path = f"/proc/{pid}/ns/{kind}"
            try:
                opened.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), kind, path))
            except FileNotFoundError as exc:
                if kind == "cgroup":
                    continue
                if not os.path.exists(f"/proc/{pid}"):
                    raise KernelError(3, "open namespace", path) from exc
                raise KernelError(exc.errno or 0, "open namespace", path) from exc
            except OSError as exc:
                raise KernelError(exc.errno or 0, "open namespace", path) from exc
        for fd, kind, path in opened:
            kernel.setns(fd, NAMESPACE_FLAGS[kind], path)
    finally:
        for fd, _kind, _path in opened:
            os.close(fd)
