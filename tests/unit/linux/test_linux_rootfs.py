"""Rootfs construction, checked against a recording fake of the kernel."""

from __future__ import annotations

import os
import stat

import pytest

from cove.runtime.linux import rootfs
from cove.runtime.linux.syscalls import MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT
from tests.support.kernel import Mknod, Mount, RecordingKernel


def test_resolve_in_root_keeps_symlinks_inside(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/etc", root / "abs")
    os.symlink("../../../../..", root / "etc" / "up")
    assert rootfs.resolve_in_root(str(root), "/abs/hosts") == f"{root}/etc/hosts"
    assert rootfs.resolve_in_root(str(root), "/etc/up/passwd") == f"{root}/passwd"
    assert rootfs.resolve_in_root(str(root), "/../../x") == f"{root}/x"


def test_resolve_in_root_stops_symlink_loops(tmp_path):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(OSError, match="resolve path"):
        rootfs.resolve_in_root(str(tmp_path), "/a")


def test_prepare_rootfs_mounts_in_order(tmp_path):
    kernel = RecordingKernel()
    target = str(tmp_path / "rootfs")
    hosts = tmp_path / "hosts"
    hosts.write_text("x")
    rootfs.prepare_rootfs(kernel, {"lower": [], "upper": "/u", "work": "/w"},
                          [{"source": str(hosts), "destination": "/etc/hosts",
                            "readonly": True}], target, str(tmp_path / "scratch"))
    mounts = kernel.mounts()
    kinds = [m.fstype or m.source for m in mounts]
    assert kinds[:4] == [None, "overlay", "proc", "sysfs"]
    assert mounts[1].data == f"lowerdir={tmp_path}/scratch/empty,upperdir=/u,workdir=/w"
    assert ["tmpfs", "devpts", "tmpfs", "mqueue"] == kinds[4:8]
    assert mounts[3].flags & MS_RDONLY
    assert mounts[8] == Mount(str(hosts), f"{target}/etc/hosts", None, MS_BIND | MS_REC)
    assert mounts[9].flags == MS_BIND | MS_REMOUNT | MS_RDONLY
    assert os.path.isfile(f"{target}/etc/hosts")
    assert os.readlink(f"{target}/dev/ptmx") == "pts/ptmx"
    assert Mknod(f"{target}/dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3)) in kernel.nodes()
