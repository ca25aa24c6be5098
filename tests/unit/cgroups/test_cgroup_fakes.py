"""Both cgroup managers against a fake cgroup filesystem laid out in a temp dir.

A plain directory stands in for cgroupfs: control files are ordinary files the test
pre-creates or reads back. The one thing a plain fs does differently (rmdir of a dir
holding files) is patched to a recursive delete.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cove.runtime.errors import SystemError_
from cove.runtime.linux import cgroups
from cove.runtime.linux.cgroups import (
    CgroupV1Manager,
    CgroupV2Manager,
    Resources,
    common,
    devices,
    manager_for,
    v1,
    v2,
)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(autouse=True)
def plain_rmdir(monkeypatch: pytest.MonkeyPatch) -> None:
    def remove(path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)

    monkeypatch.setattr(v1, "remove_cgroup_dir", remove)
    monkeypatch.setattr(v2, "remove_cgroup_dir", remove)


@pytest.fixture
def v1_root(tmp_path: Path) -> Path:
    for controller in ("cpu", "cpuacct", "memory", "pids", "freezer", "devices", "blkio"):
        (tmp_path / controller).mkdir()
    write(tmp_path / "cpuset" / "cpuset.cpus", "0-3\n")
    write(tmp_path / "cpuset" / "cpuset.mems", "0\n")
    write(tmp_path / "memory" / "memory.memsw.limit_in_bytes", "9223372036854771712\n")
    (tmp_path / "unified").mkdir()
    return tmp_path


@pytest.fixture
def v2_root(tmp_path: Path) -> Path:
    write(tmp_path / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma\n")
    write(tmp_path / "cgroup.subtree_control", "")
    return tmp_path


def test_detection_picks_v2_only_when_root_has_cgroup_controllers(v1_root: Path,
                                                                  tmp_path_factory) -> None:
    assert isinstance(manager_for("c1", root=str(v1_root)), CgroupV1Manager)
    unified = tmp_path_factory.mktemp("v2")
    write(unified / "cgroup.controllers", "memory\n")
    assert isinstance(manager_for("c1", root=str(unified)), CgroupV2Manager)
    assert cgroups.is_unified(str(unified)) and not cgroups.is_unified(str(v1_root))


def test_v1_create_writes_docker_limits_in_every_hierarchy(v1_root: Path) -> None:
    mgr = CgroupV1Manager("abc", "cove", root=str(v1_root))
    mgr.create(Resources(memory=64 << 20, nano_cpus=1_500_000_000, cpu_shares=512,
                         pids_limit=100))
    base = "cove/abc"
    assert (v1_root / "memory" / base / "memory.limit_in_bytes").read_text() == str(64 << 20)
    assert (v1_root / "memory" / base / "memory.memsw.limit_in_bytes").read_text() == str(
        128 << 20)
    assert (v1_root / "cpu" / base / "cpu.cfs_period_us").read_text() == "100000"
    assert (v1_root / "cpu" / base / "cpu.cfs_quota_us").read_text() == "150000"
    assert (v1_root / "cpu" / base / "cpu.shares").read_text() == "512"
    assert (v1_root / "pids" / base / "pids.max").read_text() == "100"
    for controller in ("freezer", "cpuacct", "devices", "blkio"):
        assert (v1_root / controller / base).is_dir()
    assert not (v1_root / "unified" / "cove").exists()
    assert (v1_root / "cpuset" / "cove" / "cpuset.cpus").read_text() == "0-3"
    assert (v1_root / "cpuset" / base / "cpuset.mems").read_text() == "0"
    assert sorted(mgr.join_paths()) == sorted(
        str(v1_root / c / base / "cgroup.procs")
        for c in ("cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "pids", "blkio"))


def test_v1_swap_follows_docker_rules_and_is_skipped_without_swap_accounting(
        v1_root: Path) -> None:
    mgr = CgroupV1Manager("s", root=str(v1_root))
    mgr.create(Resources(memory=32 << 20, memory_swap=-1))
    memsw = v1_root / "memory" / "cove" / "s" / "memory.memsw.limit_in_bytes"
    assert memsw.read_text() == "-1"
    mgr.update(Resources(memory=32 << 20, memory_swap=48 << 20))
    assert memsw.read_text() == str(48 << 20)
    (v1_root / "memory" / "memory.memsw.limit_in_bytes").unlink()
    other = CgroupV1Manager("t", root=str(v1_root))
    other.create(Resources(memory=32 << 20))
    assert not (v1_root / "memory" / "cove" / "t" / "memory.memsw.limit_in_bytes").exists()


def test_v1_unlimited_pids_and_update_leaves_unset_fields(v1_root: Path) -> None:
    mgr = CgroupV1Manager("u", root=str(v1_root))
    mgr.create(Resources(pids_limit=10, cpu_shares=256))
    mgr.update(Resources(pids_limit=0))
    assert (v1_root / "pids" / "cove" / "u" / "pids.max").read_text() == "max"
    assert (v1_root / "cpu" / "cove" / "u" / "cpu.shares").read_text() == "256"


def test_v1_reads_pids_oom_and_stats(v1_root: Path) -> None:
    mgr = CgroupV1Manager("r", root=str(v1_root))
    mgr.create(Resources())
    base = "cove/r"
    write(v1_root / "memory" / base / "cgroup.procs", "10\n11\n")
    write(v1_root / "pids" / base / "nested" / "cgroup.procs", "12\n")
    assert mgr.pids() == [10, 11, 12]
    write(v1_root / "memory" / base / "memory.oom_control",
          "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert mgr.oom_killed() is False
    write(v1_root / "memory" / base / "memory.oom_control",
          "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert mgr.oom_killed() is True
    write(v1_root / "memory" / base / "memory.usage_in_bytes", "4096\n")
    write(v1_root / "cpuacct" / base / "cpuacct.usage", "123456789\n")
    write(v1_root / "cpuacct" / base / "cpuacct.usage_percpu", "100 200 \n")
    write(v1_root / "cpuacct" / base / "cpuacct.stat", "user 3\nsystem 1\n")
    write(v1_root / "pids" / base / "pids.current", "3\n")
    stats = mgr.stats()
    assert stats["memory_stats"]["usage"] == 4096
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] == 123456789
    assert stats["cpu_stats"]["cpu_usage"]["percpu_usage"] == [100, 200]
    assert stats["cpu_stats"]["cpu_usage"]["usage_in_usermode"] == 30_000_000
    assert stats["pids_stats"]["current"] == 3


def test_v1_freeze_and_thaw_write_freezer_state(v1_root: Path) -> None:
    mgr = CgroupV1Manager("f", root=str(v1_root))
    mgr.create(Resources())
    state = v1_root / "freezer" / "cove" / "f" / "freezer.state"
    mgr.freeze()
    assert state.read_text() == "FROZEN"
    mgr.thaw()
    assert state.read_text() == "THAWED"


def test_v1_destroy_removes_every_dir_and_is_idempotent(v1_root: Path) -> None:
    mgr = CgroupV1Manager("d", root=str(v1_root))
    mgr.create(Resources(memory=1 << 20))
    assert mgr.exists()
    mgr.destroy()
    assert not mgr.exists()
    assert not any((v1_root / c / "cove" / "d").exists() for c in v1.CONTROLLERS)
    mgr.destroy()


def test_v1_kernel_errors_carry_path_and_cause(v1_root: Path) -> None:
    mgr = CgroupV1Manager("e", root=str(v1_root))
    mgr.create(Resources())
    (v1_root / "freezer" / "cove" / "e").rename(v1_root / "freezer" / "cove" / "gone")
    with pytest.raises(SystemError_) as info:
        mgr.freeze()
    assert "freezer.state" in info.value.message
    assert isinstance(info.value.__cause__, OSError)


def test_v2_create_enables_controllers_down_the_tree_and_writes_limits(v2_root: Path) -> None:
    write(v2_root / "cove" / "cgroup.controllers", "cpu memory pids\n")
    mgr = CgroupV2Manager("abc", "cove", root=str(v2_root))
    mgr.create(Resources(memory=64 << 20, nano_cpus=500_000_000, cpu_shares=1024,
                         pids_limit=20))
    assert (v2_root / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert (v2_root / "cove" / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    base = v2_root / "cove" / "abc"
    assert (base / "memory.max").read_text() == str(64 << 20)
    assert (base / "cpu.max").read_text() == "50000 100000"
    assert (base / "cpu.weight").read_text() == "39"
    assert (base / "pids.max").read_text() == "20"
    assert mgr.join_paths() == [str(base / "cgroup.procs")]


def test_v2_does_not_reenable_controllers_already_delegated(v2_root: Path) -> None:
    write(v2_root / "cgroup.subtree_control", "cpu memory pids\n")
    (v2_root / "cove").mkdir()
    CgroupV2Manager("x", root=str(v2_root)).create(Resources())
    assert (v2_root / "cgroup.subtree_control").read_text() == "cpu memory pids\n"


def test_v2_swap_max_is_swap_only_and_unlimited_values_are_max(v2_root: Path) -> None:
    mgr = CgroupV2Manager("s", root=str(v2_root))
    mgr.create(Resources())
    base = v2_root / "cove" / "s"
    write(base / "memory.swap.max", "max\n")
    mgr.update(Resources(memory=32 << 20))
    assert (base / "memory.swap.max").read_text() == str(32 << 20)
    mgr.update(Resources(memory=32 << 20, memory_swap=40 << 20))
    assert (base / "memory.swap.max").read_text() == str(8 << 20)
    mgr.update(Resources(memory=0, memory_swap=-1, nano_cpus=0, pids_limit=-1))
    assert (base / "memory.max").read_text() == "max"
    assert (base / "memory.swap.max").read_text() == "max"
    assert (base / "cpu.max").read_text() == "max 100000"
    assert (base / "pids.max").read_text() == "max"


def test_v2_freeze_waits_for_cgroup_events(v2_root: Path) -> None:
    mgr = CgroupV2Manager("f", root=str(v2_root))
    mgr.create(Resources())
    base = v2_root / "cove" / "f"
    write(base / "cgroup.events", "populated 1\nfrozen 1\n")
    mgr.freeze()
    assert (base / "cgroup.freeze").read_text() == "1"
    with pytest.raises(SystemError_, match="frozen 0"):
        mgr._set_frozen(False, timeout=0.05)
    write(base / "cgroup.events", "populated 1\nfrozen 0\n")
    mgr.thaw()
    assert (base / "cgroup.freeze").read_text() == "0"


def test_v2_reads_oom_pids_and_stats(v2_root: Path) -> None:
    mgr = CgroupV2Manager("r", root=str(v2_root))
    mgr.create(Resources())
    base = v2_root / "cove" / "r"
    write(base / "cgroup.procs", "5\n")
    write(base / "init" / "cgroup.procs", "6\n7\n")
    assert mgr.pids() == [5, 6, 7]
    write(base / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert mgr.oom_killed() is False
    write(base / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert mgr.oom_killed() is True
    write(base / "memory.current", "8192\n")
    write(base / "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
    write(base / "pids.current", "3\n")
    stats = mgr.stats()
    assert stats["memory_stats"]["usage"] == 8192
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] == 1_500_000
    assert stats["pids_stats"] == {"current": 3, "limit": 0}


def test_v2_destroy_is_idempotent(v2_root: Path) -> None:
    mgr = CgroupV2Manager("d", root=str(v2_root))
    mgr.create(Resources())
    mgr.destroy()
    assert not mgr.exists()
    mgr.destroy()


def test_docker_unit_conversions() -> None:
    assert common.cpu_quota_us(1_000_000_000) == 100_000
    assert common.cpu_quota_us(10_000) == 1000
    assert v2.shares_to_weight(2) == 1
    assert v2.shares_to_weight(262144) == 10000
    assert common.swap_total(Resources(memory=10)) == 20
    assert common.swap_total(Resources(memory=10, memory_swap=15)) == 15
    assert common.swap_total(Resources()) is None


def test_v1_cpuset_is_written_in_the_cpuset_hierarchy_under_a_nested_parent(
        v1_root: Path) -> None:
    (v1_root / "cpuset" / "cpuset.cpus").write_text("0-3\n")
    mgr = CgroupV1Manager("n", "my/parent", root=str(v1_root))
    mgr.create(Resources(cpuset_cpus="1-2", cpuset_mems="0"))
    base = v1_root / "cpuset" / "my" / "parent" / "n"
    assert (base / "cpuset.cpus").read_text() == "1-2"
    assert (base / "cpuset.mems").read_text() == "0"
    assert (v1_root / "cpuset" / "my" / "cpuset.cpus").read_text() == "0-3"
    assert (v1_root / "memory" / "my" / "parent" / "n").is_dir()
    mgr.update(Resources(cpuset_cpus="3"))
    assert (base / "cpuset.cpus").read_text() == "3"


def test_v2_delegates_cpuset_only_to_containers_that_ask(v2_root: Path) -> None:
    write(v2_root / "cove" / "cgroup.controllers", "cpuset cpu memory pids\n")
    CgroupV2Manager("plain", root=str(v2_root)).create(Resources())
    assert (v2_root / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    for level in (v2_root, v2_root / "cove"):  # as the kernel lists what is enabled
        (level / "cgroup.subtree_control").write_text("cpu memory pids\n")
    mgr = CgroupV2Manager("pinned", root=str(v2_root))
    write(v2_root / "cove" / "pinned" / "cpuset.cpus", "")
    write(v2_root / "cove" / "pinned" / "cpuset.mems", "")
    mgr.create(Resources(cpuset_cpus="0-1", cpuset_mems="0"))
    assert (v2_root / "cgroup.subtree_control").read_text() == "+cpuset"
    assert (v2_root / "cove" / "cgroup.subtree_control").read_text() == "+cpuset"
    assert (v2_root / "cove" / "pinned" / "cpuset.cpus").read_text() == "0-1"
    assert (v2_root / "cove" / "pinned" / "cpuset.mems").read_text() == "0"


def test_v2_cpuset_without_the_controller_is_an_error_not_ignored(v2_root: Path) -> None:
    write(v2_root / "cgroup.controllers", "cpu memory pids\n")
    mgr = CgroupV2Manager("c", root=str(v2_root))
    with pytest.raises(SystemError_, match="cpuset controller is not available"):
        mgr.create(Resources(cpuset_cpus="0"))


def test_cpuset_available_reads_v1_root_and_v2_effective(v1_root: Path, tmp_path: Path) -> None:
    from cove.runtime.linux.cgroups import cpuset

    assert cpuset.available(str(v1_root), unified=False) == ("0-3", "0")
    v2 = tmp_path / "v2"
    write(v2 / "cpuset.cpus.effective", "0-7\n")
    write(v2 / "cpuset.mems.effective", "0-1\n")
    assert cpuset.available(str(v2), unified=True) == ("0-7", "0-1")


def test_v1_devices_deny_all_then_allow_the_list(v1_root: Path, monkeypatch) -> None:
    written: list[tuple[str, str]] = []
    real_write = v1.write_text

    def record(path: str, value: str | int, op: str = "write") -> None:
        if "devices." in path:
            written.append((Path(path).name, str(value)))
        real_write(path, value, op)

    monkeypatch.setattr(v1, "write_text", record)
    rules = devices.DEFAULT_RULES[:2] + (devices.DeviceRule("c", 10, 229, "r"),)
    CgroupV1Manager("d", root=str(v1_root)).create(Resources(devices=rules))
    assert written == [("devices.deny", "a"), ("devices.allow", "c *:* m"),
                       ("devices.allow", "b *:* m"), ("devices.allow", "c 10:229 r")]
    written.clear()
    CgroupV1Manager("p", root=str(v1_root)).create(Resources(devices=devices.ALLOW_ALL))
    assert written == [("devices.allow", "a *:* rwm")]


def test_v2_attaches_the_device_program_unless_all_is_allowed(v2_root: Path,
                                                             monkeypatch) -> None:
    attached: list[tuple[str, tuple]] = []
    monkeypatch.setattr(devices, "attach_device_program",
                        lambda path, rules: attached.append((path, rules)))
    CgroupV2Manager("d", root=str(v2_root)).create(Resources(devices=devices.DEFAULT_RULES))
    CgroupV2Manager("p", root=str(v2_root)).create(Resources(devices=devices.ALLOW_ALL))
    CgroupV2Manager("n", root=str(v2_root)).create(Resources())
    assert attached == [(str(v2_root / "cove" / "d"), devices.DEFAULT_RULES)]


def test_device_program_checks_type_access_major_minor_then_denies() -> None:
    import struct

    code = devices.device_program([devices.DeviceRule("c", 10, 229, "r")])
    insns = [struct.unpack("<BBhi", code[i:i + 8]) for i in range(0, len(code), 8)]
    # 6 loads, then: type != c, access outside r, major, minor -> skip; allow; then deny
    assert insns[6] == (0x55, 2, 7, 2)
    assert insns[7][0] == 0xBC and insns[8] == (0x54, 1, 0, ~2)
    assert insns[9] == (0x55, 1, 4, 0)
    assert insns[10] == (0x55, 4, 3, 10) and insns[11] == (0x55, 5, 2, 229)
    assert insns[12:14] == [(0xB7, 0, 0, 1), (0x95, 0, 0, 0)]
    assert insns[14:] == [(0xB7, 0, 0, 0), (0x95, 0, 0, 0)]
    assert len(devices.device_program([devices.DeviceRule("a", -1, -1, "rwm")])) == 8 * 10


def test_cfs_quota_and_period_v1_and_v2(v1_root: Path, v2_root: Path) -> None:
    CgroupV1Manager("q", root=str(v1_root)).create(Resources(cpu_quota=50000, cpu_period=200000))
    base = v1_root / "cpu" / "cove" / "q"
    assert (base / "cpu.cfs_quota_us").read_text() == "50000"
    assert (base / "cpu.cfs_period_us").read_text() == "200000"
    mgr = CgroupV2Manager("q", root=str(v2_root))
    mgr.create(Resources(cpu_quota=50000))
    assert (v2_root / "cove" / "q" / "cpu.max").read_text() == "50000 100000"
    mgr.update(Resources(cpu_period=200000))  # the quota stays
    assert (v2_root / "cove" / "q" / "cpu.max").read_text() == "50000 200000"
    mgr.update(Resources(cpu_quota=-1))
    assert (v2_root / "cove" / "q" / "cpu.max").read_text() == "max 200000"
