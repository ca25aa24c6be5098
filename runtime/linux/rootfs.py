"""Build a container's root filesystem and move into it (the mount-namespace half of init).

Runs in the container init after ``unshare(CLONE_NEWNS)``: overlay at the bundle's
rootfs, the API filesystems Docker gives every container (/proc, read-only /sys,
a tmpfs /dev with the standard nodes, devpts, shm, mqueue), the spec's bind mounts,
then ``pivot_root`` and Docker's masked and read-only paths. Every kernel call goes
through a ``Kernel`` so unit tests can record the sequence instead of mounting.
"""

from __future__ import annotations

import os
import posixpath
import stat

from cove.common.paths import resolve_in_root
from cove.runtime.linux.overlay import mount_overlay
from cove.runtime.linux.syscalls import (
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SLAVE,
    KernelError,
    make_dirs,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cove.runtime.linux.kernel_interface import Kernel

DEVICES = (  # name, major, minor
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
    ("tty", 5, 0),
)
DEV_SYMLINKS = (
    ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore"), ("ptmx", "pts/ptmx"),
)
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def _ensure_file(path: str) -> None:
    if os.path.lexists(path):
        return
    make_dirs(os.path.dirname(path))
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    except OSError as exc:
        raise KernelError(exc.errno or 0, "create mount point", path) from exc


# dockerd's init layer: what every container's root has whatever its image holds; made in the
# container's own layer, where diff, commit and build know them as the engine's
INIT_LAYER_DIRS = ("dev", "dev/pts", "dev/shm", "proc", "sys", "etc")
INIT_LAYER_FILES = ("dev/console", "etc/hostname", "etc/hosts", "etc/resolv.conf", ".dockerenv")
INIT_LAYER_LINKS = (("etc/mtab", "/proc/mounts"),)


def make_init_layer(rootfs: str) -> None:
    """Create the init layer's entries the image lacks (``/.dockerenv`` tells programs they
    run in a container; ``/etc/mtab`` is what ``mount`` and ``df`` read)."""
    for rel in INIT_LAYER_DIRS:
        path = resolve_in_root(rootfs, "/" + rel)
        if not os.path.lexists(path):
            make_dirs(path)
    for rel in INIT_LAYER_FILES:
        _ensure_file(resolve_in_root(rootfs, "/" + rel))
    for rel, target in INIT_LAYER_LINKS:
        # the link itself is not followed: it may be there already, pointing into a /proc
        parent, name = posixpath.split(rel)
        path = os.path.join(resolve_in_root(rootfs, "/" + parent), name)
        if not os.path.lexists(path):
            try:
                os.symlink(target, path)
            except OSError as exc:
                raise KernelError(exc.errno or 0, "create link", path) from exc


DEFAULT_SHM_SIZE = 64 * 1024 * 1024
# host /dev entries a privileged container does not get copies of (moby's HostDevices)
_SKIPPED_HOST_DEVICES = frozenset(("pts", "shm", "mqueue", "fd", ".lxc", ".udev", "console"))


def copy_host_devices(kernel: Kernel, dev: str, host_dev: str = "/dev") -> None:
    """``--privileged``: a node for every character and block device of the host's /dev
    (same numbers, mode and owner), subdirectories included, as dockerd creates them."""
    for root, dirs, files in os.walk(host_dev):
        rel = os.path.relpath(root, host_dev)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in _SKIPPED_HOST_DEVICES]
        for name in files:
            if rel == "." and name in _SKIPPED_HOST_DEVICES:
                continue
            source = os.path.join(root, name)
            try:
                st = os.lstat(source)
            except OSError:
                continue
            if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
                continue
            node = os.path.normpath(os.path.join(dev, rel, name))
            if os.path.lexists(node):
                continue
            make_dirs(os.path.dirname(node))
            kernel.mknod(node, st.st_mode, st.st_rdev)
            try:
                os.chown(node, st.st_uid, st.st_gid)
            except OSError as exc:
                raise KernelError(exc.errno or 0, "chown", node) from exc


def mount_dev(kernel: Kernel, rootfs: str, shm_size: int = DEFAULT_SHM_SIZE,
              privileged: bool = False, private_shm: bool = True) -> None:
    """A fresh tmpfs /dev with the nodes, devpts instance, shm (``--shm-size`` bytes) and
    mqueue Docker provides; a privileged container also gets the host's devices. Without
    ``private_shm`` there is no /dev/shm of its own (``--ipc none``, or one bound later)."""
    dev = rootfs + "/dev"
    make_dirs(dev)
    kernel.mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=755,size=65536k")
    for name, major, minor in DEVICES:
        kernel.mknod(f"{dev}/{name}", stat.S_IFCHR | 0o666, os.makedev(major, minor))
    make_dirs(dev + "/pts")
    kernel.mount("devpts", dev + "/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=0620,gid=5")
    if private_shm:
        make_dirs(dev + "/shm", 0o1777)
        kernel.mount("shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     f"mode=1777,size={shm_size or DEFAULT_SHM_SIZE}")
    make_dirs(dev + "/mqueue")
    kernel.mount("mqueue", dev + "/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name, target in DEV_SYMLINKS:
        os.symlink(target, f"{dev}/{name}")
    if privileged:
        copy_host_devices(kernel, dev)


def make_device_nodes(kernel: Kernel, rootfs: str, devices: list[dict[str, Any]]) -> None:
    """The ``--device`` nodes: each at its path in the container (resolved inside it), with
    the host node's type, numbers, permission bits and owner, replacing what was there."""
    for device in devices:
        target = resolve_in_root(rootfs, device["path"])
        make_dirs(os.path.dirname(target))
        if os.path.lexists(target):
            os.unlink(target)
        kind = stat.S_IFBLK if device["kind"] == "b" else stat.S_IFCHR
        kernel.mknod(target, kind | device["mode"],
                     os.makedev(device["major"], device["minor"]))
        os.chown(target, device["uid"], device["gid"], follow_symlinks=False)


_PROPAGATION_FLAGS = {"private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
                      "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC}


def mount_spec_mounts(kernel: Kernel, rootfs: str, mounts: list[dict[str, Any]]) -> None:
    """Bind mounts (hosts, hostname, resolv.conf, the user's) or typed mounts (tmpfs).

    Targets are resolved inside ``rootfs`` at mount time, after the mounts before them,
    so a symlink in the image (or in a parent mount) cannot lead a mount outside it.
    A bind is recursive unless ``recursive`` is false; ``propagation`` (private,
    rprivate, slave, rslave) is applied to it after mounting.
    """
    for entry in mounts:
        target = resolve_in_root(rootfs, entry["destination"])
        kind = entry.get("type") or "bind"
        source = entry.get("source") or kind
        flags = MS_RDONLY if entry.get("readonly") else 0
        if kind == "bind":
            if os.path.isdir(source):
                make_dirs(target)
            else:
                _ensure_file(target)
            recursive = MS_REC if entry.get("recursive", True) else 0
            kernel.mount(source, target, None, MS_BIND | recursive)
            if flags:  # keep the source's nosuid/nodev/noexec: they may be locked
                kept = os.statvfs(target).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
                kernel.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept)
            propagation = _PROPAGATION_FLAGS.get(entry.get("propagation") or "")
            if propagation:
                kernel.mount(None, target, None, propagation)
        else:
            make_dirs(target)
            kernel.mount(source, target, kind, flags | entry.get("flags", 0),
                         entry.get("data"))


def prepare_rootfs(kernel: Kernel, rootfs_spec: dict[str, Any], mounts: list[dict[str, Any]],
                   target: str, scratch: str, privileged: bool = False,
                   shm_size: int = DEFAULT_SHM_SIZE, private_shm: bool = True) -> None:
    """Everything before pivot_root: propagation, overlay, API filesystems, spec mounts.

    ``scratch`` is a directory of the bundle for the empty lower dir and layer links.
    A privileged container gets /sys and its cgroups read-write, and the host's devices.
    """
    readonly = 0 if privileged else MS_RDONLY
    kernel.mount(None, "/", None, MS_REC | MS_SLAVE)
    make_dirs(target)
    mount_overlay(kernel, list(rootfs_spec.get("lower") or []), target, scratch,
                  rootfs_spec["upper"], rootfs_spec["work"])
    make_init_layer(target)
    make_dirs(target + "/proc")
    kernel.mount("proc", target + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    make_dirs(target + "/sys")
    kernel.mount("sysfs", target + "/sys", "sysfs", readonly | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount_cgroups(kernel, target, readonly)
    mount_dev(kernel, target, shm_size, privileged, private_shm)
    mount_spec_mounts(kernel, target, mounts)


_CGROUP_V1_OPTIONS = frozenset(("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
                                "blkio", "pids", "net_cls", "net_prio", "perf_event",
                                "hugetlb", "rdma", "misc"))


def host_cgroup_v1_hierarchies(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str]]:
    """(name under /sys/fs/cgroup, mount data) of each v1 hierarchy the host mounts."""
    found = []
    with open(mountinfo) as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] != "cgroup" or not fields[4].startswith("/sys/fs/cgroup/"):
                continue
            options = [o for o in fields[sep + 3].split(",")
                       if o in _CGROUP_V1_OPTIONS or o.startswith("name=")]
            if options:
                found.append((fields[4][len("/sys/fs/cgroup/"):], ",".join(options)))
    return found


# kernel pseudo filesystems: their files are the kernel's, not the container's
_VIRTUAL_FILESYSTEMS = frozenset(("proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2",
                                  "securityfs", "debugfs", "tracefs", "pstore", "bpf",
                                  "configfs", "fusectl", "binfmt_misc", "efivarfs"))


def virtual_mount_points(pid: int) -> list[str]:
    """Where process ``pid`` sees a kernel pseudo filesystem (proc, sysfs, devpts, mqueue,
    cgroup...), as paths under its own root: what ``docker cp`` of a running container
    archives as the empty directories they are in the image. Empty if the process is gone."""
    points = []
    try:
        with open(f"/proc/{pid}/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        sep = fields.index("-")
        if fields[sep + 1] in _VIRTUAL_FILESYSTEMS:
            points.append(_unescape_mount_path(fields[4]))
    return points


def mount_points_under(root: str, mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Where something is mounted at or below ``root`` in our mount namespace, deepest
    first (the order to unmount them in)."""
    prefix = root.rstrip("/") + "/"
    with open(mountinfo) as f:
        points = [_unescape_mount_path(line.split()[4]) for line in f if line.strip()]
    inside = [p for p in points if p == root.rstrip("/") or p.startswith(prefix)]
    return sorted(set(inside), key=len, reverse=True)


def _unescape_mount_path(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash in a path as octal escapes."""
    import re

    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mount_cgroups(kernel: Kernel, target: str, readonly: int = MS_RDONLY) -> None:
    """A read-only (``readonly=0``: privileged, read-write) /sys/fs/cgroup showing the
    container's own cgroup as the root (the cgroup namespace is already unshared), so
    runtimes inside can read their limits: cgroup2 on a v2 host, a tmpfs of v1
    hierarchies otherwise, as Docker mounts it."""
    where = target + "/sys/fs/cgroup"
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    if not os.path.isdir(where):
        return
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        kernel.mount("cgroup", where, "cgroup2", flags | readonly)
        return
    kernel.mount("tmpfs", where, "tmpfs", flags, "mode=755")
    for name, data in host_cgroup_v1_hierarchies():
        make_dirs(where + "/" + name)
        kernel.mount("cgroup", where + "/" + name, "cgroup", flags | readonly, data)
    for entry in os.listdir("/sys/fs/cgroup"):  # aliases such as cpu -> cpu,cpuacct
        link = "/sys/fs/cgroup/" + entry
        if os.path.islink(link) and not os.path.lexists(where + "/" + entry):
            os.symlink(os.readlink(link), where + "/" + entry)
    if readonly:
        kernel.mount(None, where, None, MS_BIND | MS_REMOUNT | MS_RDONLY | flags)


def pivot_into(kernel: Kernel, new_root: str) -> None:
    """Make ``new_root`` "/" and detach the old root (runc's pivot_root(".", ".") trick)."""
    os.chdir(new_root)
    kernel.pivot_root(".", ".")
    kernel.mount(None, ".", None, MS_SLAVE | MS_REC)
    kernel.umount2(".", MNT_DETACH)
    os.chdir("/")


def mask_paths(kernel: Kernel, masked: tuple[str, ...] = MASKED_PATHS,
               readonly: tuple[str, ...] = READONLY_PATHS) -> None:
    """After pivot: hide host-revealing /proc and /sys entries, freeze the tunable ones."""
    for path in masked:
        try:
            is_dir = os.path.isdir(path)
            if not is_dir and not os.path.lexists(path):
                continue
            if is_dir:
                kernel.mount("tmpfs", path, "tmpfs", MS_RDONLY)
            else:
                kernel.mount("/dev/null", path, None, MS_BIND)
        except KernelError as exc:
            if exc.errno != 2:
                raise
    for path in readonly:
        if not os.path.lexists(path):
            continue
        kernel.mount(path, path, None, MS_BIND | MS_REC)
        kernel.mount(path, path, None,
                     MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def remount_root_readonly(kernel: Kernel) -> None:
    kernel.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY)
