"""The shim's spec (runtime/containers/spec.py): what the engine writes is what the shim reads."""

from __future__ import annotations

import json

from cove.runtime.containers import shim_json
from cove.runtime.containers.record import Container
from cove.runtime.containers.spec import (
    ConsoleSize,
    ContainerSpec,
    LogSpec,
    ProcessPrivileges,
    ProcessSpec,
    RootfsSpec,
)
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.engine.containers.shim_spec import shim_spec
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.volumes import VolumeService
from cove.runtime.linux import caps
from cove.runtime.store.layout import Layout

# a spec.json as the engine wrote it before the spec was typed
PREVIOUS_SPEC = {
    "id": "c" * 64,
    "rootfs": {"lower": ["/l1", "/l2"], "upper": "/u", "work": "/w", "readonly": True},
    "process": {"args": ["sh", "-c", "true"], "env": ["A=1"], "cwd": "/srv", "user": "1:2",
                "tty": True, "open_stdin": True, "stdin_once": True,
                "console": {"height": 30, "width": 90}, "init": True, "capabilities": 5,
                "groups_add": ["audio"], "rlimits": [[7, 10, 20]], "oom_score_adj": -5,
                "no_new_privs": True},
    "hostname": "h", "domainname": "d", "privileged": True, "shm_size": 1 << 20,
    "sysctls": {"net.ipv4.ip_forward": "1"},
    "mounts": [{"type": "bind", "source": "/s", "destination": "/d", "readonly": True,
                "recursive": True, "propagation": "rprivate"}],
    "cgroup": {"join": ["/sys/fs/cgroup/cove/c"]},
    "log_path": "/log", "log_max_size": 100, "log_max_files": 3,
    "exit_file": "/exit.json", "oom_events_file": "/sys/fs/cgroup/cove/c/memory.events",
}


def test_a_spec_written_before_the_types_reads_back_field_for_field():
    spec = ContainerSpec.from_json(PREVIOUS_SPEC)
    assert spec.rootfs == RootfsSpec(["/l1", "/l2"], "/u", "/w", readonly=True)
    assert spec.process.console == ConsoleSize(30, 90)
    assert spec.process.privileges == ProcessPrivileges(5, ["audio"], [[7, 10, 20]], -5, True)
    assert spec.log == LogSpec("/log", 100, 3)
    assert spec.cgroup_join == ["/sys/fs/cgroup/cove/c"]
    assert (spec.namespaces, spec.private_shm) == ({}, True)  # new namespaces, own /dev/shm
    assert spec.devices == []
    assert spec.to_json() == {**PREVIOUS_SPEC, "namespaces": {}, "private_shm": True,
                              "devices": []}


def test_shared_namespaces_and_shm_round_trip():
    spec = ContainerSpec.from_json(PREVIOUS_SPEC)
    spec.namespaces = {"pid": "host", "ipc": "/proc/42/ns/ipc"}
    spec.private_shm = False
    spec.devices = [{"path": "/dev/x", "kind": "c", "major": 1, "minor": 3, "mode": 0o600,
                     "uid": 0, "gid": 0, "access": "r"}]
    again = ContainerSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec and again.namespaces["ipc"] == "/proc/42/ns/ipc"


def test_missing_keys_take_the_shims_defaults():
    spec = ContainerSpec.from_json({"rootfs": {"upper": "/u", "work": "/w"},
                                    "process": {"args": ["true"]}})
    assert spec.process == ProcessSpec(["true"], [])
    assert spec.process.cwd == "/" and spec.process.console == ConsoleSize(0, 0)
    assert spec.process.privileges.capabilities == caps.DEFAULT_MASK
    assert spec.process.privileges.oom_score_adj is None
    assert (spec.shm_size, spec.exit_file, spec.oom_events_file) == (0, "", "")
    assert spec.log == LogSpec("", 0, 1)


def test_the_engine_built_spec_survives_the_trip_through_the_shims_json(tmp_path):
    layout = Layout(tmp_path / "data", tmp_path / "exec")
    events = EventBus()

    class Images:
        def lower_dirs(self, image_id: str) -> list[str]:
            return [f"/layers/{image_id}/diff"]

    class Cgroup:
        def join_paths(self) -> list[str]:
            return ["/sys/fs/cgroup/cove/x"]

        def oom_events_file(self) -> str:
            return "/sys/fs/cgroup/cove/x/memory.events"

    ctx = ContainerContext(layout, Images(), events, VolumeService(layout, events))
    container = Container(layout, {
        "Id": "x" * 64, "Image": "img", "Path": "sh", "Args": ["-c", "echo hi"],
        "Config": {"Hostname": "x", "Env": ["A=1"], "Tty": True, "WorkingDir": "/srv"},
        "HostConfig": {"Init": True, "ShmSize": 1 << 20, "GroupAdd": ["audio"],
                       "Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 20}],
                       "Sysctls": {"net.ipv4.ip_forward": "1"}},
        "_cove": {"mount_points": [], "console": {"height": 40, "width": 120}},
    })
    spec = shim_spec(ctx, container, Cgroup())
    assert spec.process.env[-1] == "A=1" and "TERM=xterm" in spec.process.env
    assert spec.process.console == ConsoleSize(40, 120)
    assert [m["destination"] for m in spec.mounts] == ["/etc/hosts", "/etc/hostname",
                                                       "/etc/resolv.conf"]
    text = json.dumps(spec.to_json())
    assert ContainerSpec.from_json(shim_json.loads(text)) == spec


def test_the_seccomp_filter_travels_with_the_process_privileges_and_old_specs_have_none():
    assert ContainerSpec.from_json(PREVIOUS_SPEC).process.privileges.seccomp_filter == ""
    filtered = ProcessPrivileges(seccomp_filter="/var/lib/cove/seccomp/ab.bpf")
    data = filtered.to_json()
    assert data["seccomp_filter"] == "/var/lib/cove/seccomp/ab.bpf"  # what execs read too
    assert ProcessPrivileges.from_json(json.loads(json.dumps(data))) == filtered
    assert "seccomp_filter" not in ProcessPrivileges().to_json()
