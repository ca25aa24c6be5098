"""The OOM-kill counter the shim reads when its container exits."""

from __future__ import annotations

from cove.runtime.linux.cgroups import CgroupV1Manager, CgroupV2Manager
from cove.runtime.linux.oom import oom_kills


def test_the_counter_is_read_from_v1_and_v2_files(tmp_path):
    (tmp_path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert oom_kills(str(tmp_path / "memory.oom_control")) == 2
    assert oom_kills(str(tmp_path / "memory.events")) == 1


def test_a_missing_or_garbled_file_counts_no_kills(tmp_path):
    (tmp_path / "events").write_text("oom_kill many\n")
    assert oom_kills(str(tmp_path / "absent")) == 0
    assert oom_kills(str(tmp_path / "events")) == 0


def test_each_manager_names_its_versions_file(tmp_path):
    assert CgroupV2Manager("c1", "cove", str(tmp_path)).oom_events_file() == \
        f"{tmp_path}/cove/c1/memory.events"
    assert CgroupV1Manager("c1", "cove", str(tmp_path)).oom_events_file() == \
        f"{tmp_path}/memory/cove/c1/memory.oom_control"
