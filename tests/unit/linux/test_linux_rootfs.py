"""Rootfs construction, checked against a recording fake of the kernel."""

from __future__ import annotations

import os

import pytest

from cove.runtime.linux import rootfs
from cove.runtime.linux.syscalls import MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT


class RecordingKernel:
    """Records mount calls instead of making them (youki's test Syscall, in Python)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mount(self, source, target, fstype, flags=0, data=None):
        self.calls.append(("mount", source, target, fstype, flags, data))

    def umount2(self, target, flags=0):
        self.calls.append(("umount2", target, flags))

    def pivot_root(self, new_root, put_old):
        self.calls.append(("pivot_root", new_root, put_old))


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


def test_short_overlay_options_use_absolute_paths():
    data, links = rootfs.overlay_options(["/l/2", "/l/1"], "/c/upper", "/c/work", "/b/layers")
    assert data == "lowerdir=/l/2:/l/1,upperdir=/c/upper,workdir=/c/work"
    assert links == []


def test_long_overlay_options_go_through_short_links():
    lower = [f"/var/lib/cove/image/layers/{i:064x}/diff" for i in range(120)]
    data, links = rootfs.overlay_options(lower, "/c/upper", "/c/work", "/b/layers")
    assert len(data) <= rootfs.MAX_OVERLAY_DATA
    assert data.startswith("lowerdir=0:1:2:")
    assert data.endswith(":119,upperdir=/c/upper,workdir=/c/work")
    assert links[5] == ("5", lower[5])


def test_long_overlay_mount_creates_links_and_mounts_from_their_dir(tmp_path):
    kernel = RecordingKernel()
    lower = [str(tmp_path / f"{'x' * 100}{i}") for i in range(40)]
    seen = []
    kernel.mount = lambda *args: seen.append((os.getcwd(), args))  # type: ignore[method-assign]
    rootfs.mount_overlay(kernel, lower, "/u", "/w", "/target", str(tmp_path / "layers"))
    assert seen[0][0] == str(tmp_path / "layers")
    assert os.readlink(tmp_path / "layers" / "39") == lower[39]
    assert os.getcwd() != str(tmp_path / "layers")


def test_prepare_rootfs_mounts_in_order(tmp_path):
    kernel = RecordingKernel()
    target = str(tmp_path / "rootfs")
    hosts = tmp_path / "hosts"
    hosts.write_text("x")
    rootfs.prepare_rootfs(kernel, {"lower": [], "upper": "/u", "work": "/w"},
                          [{"source": str(hosts), "destination": "/etc/hosts",
                            "readonly": True}], target, str(tmp_path / "scratch"))
    kinds = [(c[3] or c[1]) for c in kernel.calls]
    assert kinds[:4] == [None, "overlay", "proc", "sysfs"]
    assert kernel.calls[1][5] == f"lowerdir={tmp_path}/scratch/empty,upperdir=/u,workdir=/w"
    assert ["tmpfs", "devpts", "tmpfs", "mqueue"] == kinds[4:8]
    assert kernel.calls[3][4] & MS_RDONLY
    assert kernel.calls[8] == ("mount", str(hosts), f"{target}/etc/hosts", None, MS_BIND | MS_REC, None)
    assert kernel.calls[9][4] == MS_BIND | MS_REMOUNT | MS_RDONLY
    assert os.path.isfile(f"{target}/etc/hosts")
    assert os.readlink(f"{target}/dev/ptmx") == "pts/ptmx"
    assert os.stat(f"{target}/dev/null").st_rdev == os.makedev(1, 3)
