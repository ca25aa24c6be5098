"""The v1 manager against the real kernel: limits bite, freeze stops work, destroy cleans up.

Runs only as root on a v1 or hybrid host. Every cgroup lives under a parent unique
to this test run, removed in the fixture's finally.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cove.runtime.linux.cgroups import CGROUP_ROOT, CgroupV1Manager, Resources, is_unified
from cove.runtime.linux.cgroups.common import remove_cgroup_dir
from cove.runtime.linux.cgroups.v1 import CONTROLLERS

BUSYBOX = "/usr/bin/busybox"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or is_unified() or not os.path.isdir(f"{CGROUP_ROOT}/pids"),
    reason="needs root on a cgroup v1/hybrid host",
)


@pytest.fixture
def make_cgroup() -> Iterator:
    parent = f"cove-test-{uuid.uuid4().hex[:8]}"
    created: list[CgroupV1Manager] = []
    children: list[subprocess.Popen] = []

    def make(resources: Resources) -> CgroupV1Manager:
        mgr = CgroupV1Manager(f"c{len(created)}", parent)
        created.append(mgr)
        mgr.create(resources)
        return mgr

    make.children = children  # type: ignore[attr-defined]
    try:
        yield make
    finally:
        for mgr in created:
            mgr.destroy()
        for child in children:
            if child.poll() is None:
                child.kill()
            child.wait()
        for controller in CONTROLLERS:
            remove_cgroup_dir(os.path.join(CGROUP_ROOT, controller, parent))


def run_in(mgr: CgroupV1Manager, argv: list[str], **kwargs) -> subprocess.Popen:
    """Start ``argv`` already inside the cgroup, joining the way the shim's child does."""
    paths = mgr.join_paths()

    def join() -> None:
        for path in paths:
            with open(path, "w") as f:
                f.write("0")

    return subprocess.Popen(argv, preexec_fn=join, **kwargs)


def test_pids_limit_stops_a_fork_loop(make_cgroup) -> None:
    mgr = make_cgroup(Resources(pids_limit=5))
    script = 'i=0; while [ $i -lt 20 ]; do sleep 5 >/dev/null 2>&1 & i=$((i+1)); echo $i; done'
    proc = run_in(mgr, [BUSYBOX, "sh", "-c", script], stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    make_cgroup.children.append(proc)
    out, err = proc.communicate(timeout=20)
    started = out.split()
    assert started[-1] == "4", (out, err)  # the shell itself is the fifth process
    assert "can't fork" in err
    assert len(mgr.pids()) == 4
    assert mgr.stats()["pids_stats"] == {"current": 4, "limit": 5}


def test_memory_limit_oom_kills_a_large_allocation(make_cgroup) -> None:
    mgr = make_cgroup(Resources(memory=32 << 20))
    proc = run_in(mgr, [sys.executable, "-c", "x = b'a' * 100_000_000; print('survived')"],
                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    make_cgroup.children.append(proc)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == -9
    assert b"survived" not in out
    assert mgr.oom_killed() is True
    assert mgr.stats()["memory_stats"]["limit"] == 32 << 20


def test_small_process_is_not_reported_oom_killed(make_cgroup) -> None:
    mgr = make_cgroup(Resources(memory=64 << 20))
    proc = run_in(mgr, [BUSYBOX, "true"])
    make_cgroup.children.append(proc)
    assert proc.wait(timeout=10) == 0
    assert mgr.oom_killed() is False


def test_freeze_stops_a_counter_and_thaw_resumes_it(make_cgroup, tmp_path: Path) -> None:
    mgr = make_cgroup(Resources())
    counter = tmp_path / "n"
    script = f'i=0; while true; do i=$((i+1)); echo $i > {counter}.tmp; mv {counter}.tmp {counter}; done'
    proc = run_in(mgr, [BUSYBOX, "sh", "-c", script])
    make_cgroup.children.append(proc)

    def value() -> int:
        for _ in range(100):
            text = counter.read_text().strip() if counter.exists() else ""
            if text:
                return int(text)
            time.sleep(0.01)
        raise AssertionError("counter never written")

    value()
    mgr.freeze()
    frozen_at = value()
    # frozen: the counter holds still for a whole observation window
    window_end = time.monotonic() + 0.3
    while time.monotonic() < window_end:
        assert value() == frozen_at
        time.sleep(0.01)
    mgr.thaw()
    deadline = time.monotonic() + 10  # thawed: it counts again
    while value() == frozen_at:
        assert time.monotonic() < deadline, "the counter never moved after thaw"
        time.sleep(0.01)


def test_destroy_kills_processes_and_leaves_no_dirs(make_cgroup) -> None:
    mgr = make_cgroup(Resources(memory=64 << 20, pids_limit=50, nano_cpus=500_000_000))
    proc = run_in(mgr, [BUSYBOX, "sh", "-c", "sleep 60 & sleep 60 & wait"])
    make_cgroup.children.append(proc)
    deadline = time.monotonic() + 5
    while len(mgr.pids()) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.pid in mgr.pids() and len(mgr.pids()) == 3
    mgr.freeze()
    mgr.destroy()
    assert proc.wait(timeout=5) == -9
    assert not mgr.exists()
    assert all(not os.path.exists(os.path.dirname(p)) for p in mgr.join_paths())
    mgr.destroy()


def test_add_process_moves_a_running_process(make_cgroup) -> None:
    mgr = make_cgroup(Resources())
    proc = subprocess.Popen([BUSYBOX, "sleep", "30"])
    make_cgroup.children.append(proc)
    mgr.add_process(proc.pid)
    assert mgr.pids() == [proc.pid]
    cgroup_lines = Path(f"/proc/{proc.pid}/cgroup").read_text()
    assert f"memory:/{mgr.parent}/{mgr.container_id}" in cgroup_lines
