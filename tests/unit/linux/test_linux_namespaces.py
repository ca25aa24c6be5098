"""Shared namespaces on a recording kernel: what a container init unshares, what it joins
(``--pid/--ipc/--uts host`` or ``container:X``), and /dev/shm for the IPC modes."""

from __future__ import annotations

import os

import pytest

from cove.runtime.linux import namespaces, rootfs
from cove.runtime.linux.syscalls import (
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    KernelError,
)
from tests.support.kernel import RecordingKernel, Setns


def test_shared_kinds_are_not_unshared() -> None:
    assert namespaces.container_flags({}) == namespaces.CONTAINER_NAMESPACES
    flags = namespaces.container_flags({"ipc": "host", "uts": "/proc/7/ns/uts"})
    assert flags == CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWCGROUP
    assert not namespaces.container_flags({}, has_cgroup_ns=False) & CLONE_NEWCGROUP
    assert not namespaces.container_flags({}) & CLONE_NEWPID  # the shim's job, before fork


def test_joined_namespaces_are_entered_and_host_ones_kept() -> None:
    kernel = RecordingKernel()
    own = f"/proc/{os.getpid()}/ns"
    namespaces.enter_shared(kernel, {"ipc": f"{own}/ipc", "uts": "host", "pid": f"{own}/pid"},
                            ("ipc", "uts"))
    assert [(c.nstype, c.path) for c in kernel.calls if isinstance(c, Setns)] == \
        [(CLONE_NEWIPC, f"{own}/ipc")]
    namespaces.enter_shared(kernel, {"uts": f"{own}/uts"}, ("ipc", "uts"))
    assert kernel.calls[-1] == Setns(kernel.calls[-1].fd, CLONE_NEWUTS, f"{own}/uts")


def test_a_donor_that_is_gone_is_an_error_naming_the_file() -> None:
    with pytest.raises(KernelError, match="open namespace /proc/999999999/ns/ipc"):
        namespaces.enter_shared(RecordingKernel(), {"ipc": "/proc/999999999/ns/ipc"}, ("ipc",))


def test_without_a_private_shm_dev_has_no_shm_tmpfs(tmp_path) -> None:
    kernel = RecordingKernel()
    rootfs.mount_dev(kernel, str(tmp_path / "a"))
    assert f"{tmp_path}/a/dev/shm" in [m.target for m in kernel.mounts()]
    kernel = RecordingKernel()
    rootfs.mount_dev(kernel, str(tmp_path / "b"), private_shm=False)
    assert f"{tmp_path}/b/dev/shm" not in [m.target for m in kernel.mounts()]
    assert not os.path.exists(f"{tmp_path}/b/dev/shm")


def test_a_shareable_shm_is_a_tmpfs_on_the_engine_side(tmp_path) -> None:
    kernel = RecordingKernel()
    namespaces.mount_shareable_shm(kernel, str(tmp_path / "shm"), 1 << 20)
    mount = kernel.mounts()[0]
    assert (mount.target, mount.fstype, mount.data) == \
        (str(tmp_path / "shm"), "tmpfs", "mode=1777,size=1048576")
    namespaces.unmount_shareable_shm(kernel, str(tmp_path / "shm"))  # not mounted: no-op
    assert len(kernel.calls) == 1
