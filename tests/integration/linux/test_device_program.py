"""The cgroup v2 device program on the real kernel: attached to a v2 cgroup (the unified
mount of a hybrid host, or the root of a v2 one), it lets a process in that cgroup open
what the rules allow, with the access they allow, and nothing else."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from cove.runtime.linux.cgroups import devices


def _v2_root() -> str | None:
    for root in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(root, "cgroup.procs")) and \
                os.path.exists(os.path.join(root, "cgroup.subtree_control")):
            return root
    return None


def _opens_in(cgroup: str, attempts: list[tuple[str, int]]) -> list[str]:
    """Fork a child into ``cgroup`` and report how each open went."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        results = []
        try:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
                f.write("0")
            for path, flags in attempts:
                try:
                    os.close(os.open(path, flags))
                    results.append("ok")
                except OSError as exc:
                    results.append(os.strerror(exc.errno or 0))
        finally:
            os.write(write_end, json.dumps(results).encode())
            os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 4096):
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    return list(json.loads(data))


def test_only_the_allowed_devices_and_access_get_through(tmp_path) -> None:
    root = _v2_root()
    if root is None:
        pytest.skip("no cgroup v2 hierarchy mounted")
    cgroup = os.path.join(root, f"cove-devtest-{uuid.uuid4().hex[:8]}")
    os.mkdir(cgroup)
    try:
        os.mknod(tmp_path / "kmsg", 0o020600, os.makedev(1, 11))
        os.mknod(tmp_path / "null", 0o020600, os.makedev(1, 3))
        rules = devices.DEFAULT_RULES + (devices.DeviceRule("c", 1, 11, "w"),)
        devices.attach_device_program(cgroup, rules)
        results = _opens_in(cgroup, [(str(tmp_path / "null"), os.O_RDWR),
                                     (str(tmp_path / "kmsg"), os.O_WRONLY),
                                     (str(tmp_path / "kmsg"), os.O_RDONLY)])
        assert results == ["ok", "ok", "Operation not permitted"]
    finally:
        os.rmdir(cgroup)
