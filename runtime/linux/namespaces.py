"""Entering namespaces: new ones for a container's init, the init's ones for an exec.

A new PID namespace applies to children only, so both callers fork afterwards; the
mount namespace is joined last because it changes the root and /proc under us.
A container may also keep the host's PID, IPC or UTS namespace (``--pid host``: it is
simply not unshared) or join another container's (``--ipc container:X``: setns on
``/proc/<X's init>/ns/ipc``); ``container_flags`` and ``enter_shared`` do that.
The host-side tmpfs a shareable IPC namespace's /dev/shm lives on is made here too.
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
    MNT_DETACH,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    KernelError,
    make_dirs,
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

HOST = "host"
"""A namespace setting that keeps the creator's (the host's) namespace."""


def container_flags(shared: dict[str, str], has_cgroup_ns: bool = True) -> int:
    """The unshare flags of a container init: ``CONTAINER_NAMESPACES`` minus the kinds that
    ``shared`` maps to the host's namespace or to one to join."""
    flags = CONTAINER_NAMESPACES
    if not has_cgroup_ns:
        flags &= ~CLONE_NEWCGROUP
    for kind, setting in shared.items():
        if setting:
            flags &= ~NAMESPACE_FLAGS[kind]
    return flags


def enter_shared(kernel: Kernel, shared: dict[str, str], kinds: tuple[str, ...]) -> None:
    """setns into each of ``kinds`` that ``shared`` maps to a namespace file (a
    ``/proc/<pid>/ns/<kind>`` path); "host" needs nothing, the namespace is kept."""
    _enter(kernel, [(kind, shared[kind]) for kind in kinds
                    if shared.get(kind) and shared[kind] != HOST])


def _enter(kernel: Kernel, targets: list[tuple[str, str]], pid: int | None = None) -> None:
    """Open every (kind, namespace file) first, then setns into each in order: after the
    mount namespace the host's /proc (and the files) are out of sight. With ``pid``, a
    missing cgroup namespace is skipped and a gone process is ESRCH."""
    opened: list[tuple[int, str, str]] = []
    try:
        for kind, path in targets:
            try:
                opened.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), kind, path))
            except FileNotFoundError as exc:
                if pid is not None and kind == "cgroup":
                    continue
                if pid is not None and not os.path.exists(f"/proc/{pid}"):
                    raise KernelError(3, "open namespace", path) from exc
                raise KernelError(exc.errno or 0, "open namespace", path) from exc
            except OSError as exc:
                raise KernelError(exc.errno or 0, "open namespace", path) from exc
        for fd, kind, path in opened:
            kernel.setns(fd, NAMESPACE_FLAGS[kind], path)
    finally:
        for fd, _kind, _path in opened:
            os.close(fd)


def mount_shareable_shm(kernel: Kernel, path: str, size: int) -> None:
    """A tmpfs for a shareable IPC namespace's /dev/shm, mounted where the engine runs (as
    dockerd's containers/<id>/mounts/shm), so containers that join bind the same one."""
    make_dirs(path, 0o1777)
    kernel.mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 f"mode=1777,size={size}")


def unmount_shareable_shm(kernel: Kernel, path: str) -> None:
    """Detach the shareable /dev/shm (containers that bound it keep their copy); a path
    that is not mounted is already done."""
    if os.path.ismount(path):
        kernel.umount2(path, MNT_DETACH)


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

    Kinds the kernel lacks (no cgroup namespaces) are skipped.
    """
    _enter(kernel, [(kind, f"/proc/{pid}/ns/{kind}") for kind in kinds], pid)
