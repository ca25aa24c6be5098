"""The HostConfig fields that say where a container runs, checked at create with dockerd's
words: namespace modes, runtime, network mode, cgroup parent, cpuset, devices, volume
driver and platform. Nothing here is stored and then ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from cove.runtime import errors
from cove.runtime.engine import host_modes
from cove.runtime.engine.create_config import (
    merge_image_config,
    normalize_host_config,
    validate,
)
from cove.runtime.linux.cgroups import cpuset, devices


def _refused(host: dict, config: dict | None = None) -> str:
    with pytest.raises(errors.EngineError) as info:
        validate({"Image": "busybox", **(config or {}), "HostConfig": host})
    return info.value.message


@pytest.mark.parametrize("host", [
    {"Runtime": "runc"}, {"PidMode": "host"}, {"PidMode": "container:x"}, {"IpcMode": "none"},
    {"IpcMode": "shareable"}, {"IpcMode": "private"}, {"IpcMode": "host"},
    {"IpcMode": "container:x"}, {"UTSMode": "host"}, {"NetworkMode": "none"},
    {"NetworkMode": "bridge"}, {"NetworkMode": "default"}, {"NetworkMode": "host"},
    {"VolumeDriver": "local"},
    {"CgroupParent": "/my/parent"},
])
def test_modes_cove_runs_are_accepted(host: dict) -> None:
    validate({"Image": "busybox", "HostConfig": host})


def test_dockerd_words_for_what_it_refuses() -> None:
    assert _refused({"Runtime": "nosuch"}) == "Unknown runtime specified nosuch"
    assert _refused({"IpcMode": "bogus"}) == "Invalid IPC mode: bogus"
    assert _refused({"UTSMode": "host"}, {"Hostname": "h"}) == \
        "conflicting options: hostname and the UTS mode"
    assert _refused({"VolumeDriver": "nosuch", "Binds": ["vv:/x"]}) == \
        'create vv: error looking up volume plugin nosuch: plugin "nosuch" not found'


def test_a_container_network_refuses_what_the_donor_decides() -> None:
    validate({"Image": "busybox", "HostConfig": {"NetworkMode": "container:x"}})
    assert _refused({"NetworkMode": "container:x"}, {"Hostname": "h"}) == \
        "conflicting options: hostname and the network mode"
    assert _refused({"NetworkMode": "container:x", "Dns": ["192.0.2.1"]}) == \
        "conflicting options: dns and the network mode"


def test_an_unknown_network_fails_at_start_as_in_dockerd(tmp_path: Path) -> None:
    from cove.runtime.engine.container_network import ContainerNetworks
    from cove.runtime.store.layout import Layout

    validate({"Image": "busybox", "HostConfig": {"NetworkMode": "nosuch"}})
    networks = ContainerNetworks(Layout(tmp_path / "data", tmp_path / "exec"))
    with pytest.raises(errors.NotFound, match="^network nosuch not found$"):
        networks.find("nosuch")
    assert networks.find("none").driver == "null"


def test_defaults_as_dockerd_shows_them_in_inspect() -> None:
    host = normalize_host_config({})
    assert (host["Runtime"], host["IpcMode"], host["PidMode"], host["UTSMode"]) == \
        ("runc", "private", "", "")
    assert (host["CgroupParent"], host["CpusetCpus"], host["CpusetMems"], host["Devices"]) == \
        ("", "", "", [])


def test_an_empty_entrypoint_clears_the_images() -> None:
    image = {"Entrypoint": ["/entry"], "Cmd": ["default"]}
    merged = merge_image_config({"Image": "x", "Entrypoint": [""], "Cmd": ["echo", "hi"]}, image)
    assert (merged["Entrypoint"], merged["Cmd"]) == (None, ["echo", "hi"])


def test_cgroup_parent_is_a_path_under_each_hierarchy_root() -> None:
    assert host_modes.cgroup_parent({}) == "cove"
    assert host_modes.cgroup_parent({"CgroupParent": "/a/b/"}) == "a/b"
    assert host_modes.cgroup_parent({"CgroupParent": "../../a"}) == "a"


def test_cpuset_lists_parse_as_the_kernel_reads_them() -> None:
    assert cpuset.parse_list("0-2,5") == {0, 1, 2, 5}
    assert cpuset.parse_list("") == set()
    for bad in ("abc", "1-", "3-1", "1,,2"):
        with pytest.raises(ValueError, match="invalid format"):
            cpuset.parse_list(bad)


def test_cpuset_checked_against_the_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpuset, "available", lambda root: ("0-1", "0"))
    assert host_modes.cpuset_values({"CpusetCpus": "1", "CpusetMems": "0"}) == ("1", "0")
    assert _refused({"CpusetCpus": "7"}) == \
        "Requested CPUs are not available - requested 7, available: 0-1"
    assert _refused({"CpusetMems": "1"}) == \
        "Requested memory nodes are not available - requested 1, available: 0"
    assert _refused({"CpusetCpus": "abc"}) == \
        "Invalid value abc for cpuset cpus: invalid format: abc"


def test_platform_other_than_the_hosts_is_refused() -> None:
    host_modes.check_platform(None, "busybox", "linux/amd64", "linux/amd64")
    host_modes.check_platform("linux/amd64", "busybox", "linux/amd64", "linux/amd64")
    host_modes.check_platform("x86_64", "busybox", "linux/amd64", "linux/amd64")
    with pytest.raises(errors.InvalidParameter, match="invalid platform"):
        host_modes.check_platform("linux//", "busybox", "linux/amd64", "linux/amd64")
    with pytest.raises(errors.InvalidParameter, match="wanted linux/arm64, actual: linux/amd64"):
        host_modes.check_platform("linux/arm64", "busybox", "linux/amd64", "linux/amd64")
    with pytest.raises(errors.InvalidParameter, match="no emulation"):
        host_modes.check_platform("linux/arm64", "x", "linux/arm64", "linux/amd64")


def test_devices_are_the_hosts_nodes_added_to_runcs_allow_list() -> None:
    host = {"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mine",
                         "CgroupPermissions": "r"}]}
    validate({"Image": "busybox", "HostConfig": host})
    nodes, rules = host_modes.device_access(host)
    assert [(n["path"], n["kind"], n["major"], n["minor"], n["access"]) for n in nodes] == \
        [("/dev/mine", "c", 1, 3, "r")]
    assert rules[:len(devices.DEFAULT_RULES)] == devices.DEFAULT_RULES
    assert rules[-1] == devices.DeviceRule("c", 1, 3, "r")
    assert host_modes.device_access({**host, "Privileged": True})[1] == devices.ALLOW_ALL
    assert _refused({"Devices": [{"PathOnHost": "/dev/null", "CgroupPermissions": "rwx"}]}) \
        == "invalid device mode: rwx"


def test_a_path_that_is_no_device_fails_the_start_with_dockerds_words(tmp_path) -> None:
    for path, reason in ((tmp_path / "nosuch", "no such file or directory"),
                         (tmp_path, None)):
        host = {"Devices": [{"PathOnHost": str(path)}]}
        if reason is None:  # a directory: its devices one by one (none here)
            assert host_modes.device_access(host)[0] == []
            continue
        with pytest.raises(errors.SystemError_) as info:
            host_modes.device_access(host)
        assert info.value.message == ("error gathering device information while adding "
                                      f'custom device "{path}": {reason}')
    (tmp_path / "file").write_text("")
    with pytest.raises(errors.SystemError_, match="not a device node"):
        host_modes.device_access({"Devices": [{"PathOnHost": str(tmp_path / "file")}]})


def test_device_cgroup_rules_join_the_allow_list() -> None:
    host = {"DeviceCgroupRules": ["c 10:237 r", "b *:* rw"]}
    validate({"Image": "busybox", "HostConfig": host})
    assert host_modes.device_access(host)[1][-2:] == (
        devices.DeviceRule("c", 10, 237, "r"), devices.DeviceRule("b", -1, -1, "rw"))
    assert _refused({"DeviceCgroupRules": ["bogus"]}) == \
        "invalid device cgroup rule format: 'bogus'"


def test_cfs_period_and_quota_in_the_kernels_range() -> None:
    validate({"Image": "busybox", "HostConfig": {"CpuQuota": 50000, "CpuPeriod": 100000}})
    assert _refused({"CpuPeriod": 500}) == ("CPU cfs period can not be less than 1ms (i.e. "
                                            "1000) or larger than 1s (i.e. 1000000)")
    assert _refused({"CpuQuota": 10}) == "CPU cfs quota can not be less than 1ms (i.e. 1000)"


@pytest.mark.parametrize("host", [
    {"BlkioWeight": 300}, {"MemoryReservation": 10 << 20}, {"OomKillDisable": True},
    {"MemorySwappiness": 10}, {"CgroupnsMode": "host"}, {"UsernsMode": "private"},
    {"CpuRealtimeRuntime": 100}, {"DeviceRequests": [{"Count": -1}]},
    {"StorageOpt": {"size": "1G"}}, {"Links": ["x:y"]},
    {"KernelMemory": 10 << 20}, {"Cgroup": "container:x"},
])
def test_fields_cove_does_not_act_on_are_refused_when_set(host: dict) -> None:
    assert "is not supported by Cove yet" in _refused(host)


def test_unset_values_as_clients_send_them_are_accepted() -> None:
    validate({"Image": "busybox", "HostConfig": {
        "BlkioWeight": 0, "OomKillDisable": False, "MemorySwappiness": None,
        "CgroupnsMode": "", "UsernsMode": "", "Isolation": "", "Links": None,
        "DeviceRequests": None, "PublishAllPorts": False}})
    validate({"Image": "busybox", "HostConfig": {"MemorySwappiness": -1, "UsernsMode": "host",
                                                 "CgroupnsMode": "private",
                                                 "Isolation": "default"}})
    assert _refused({"Isolation": "process"}) == \
        'Invalid isolation: "process" - linux only supports \'default\''


def test_per_network_settings_are_checked_at_start_but_ipv6_and_links_refused() -> None:
    for networking in ({"EndpointsConfig": {"bridge": {"IPAMConfig": {
                            "IPv4Address": "172.17.0.9"}}}},
                       {"EndpointsConfig": {"default": {"Aliases": ["web"]}}}):
        validate({"Image": "busybox", "NetworkingConfig": networking})
    validate({"Image": "busybox", "MacAddress": "02:42:ac:11:00:09"})
    with pytest.raises(errors.InvalidParameter, match="not supported by Cove yet"):
        validate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"n": {
            "IPAMConfig": {"IPv6Address": "2001:db8::9"}}}}})
    with pytest.raises(errors.InvalidParameter,
                       match="^Container cannot be connected to network endpoints: a, b$"):
        validate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"a": {},
                                                                               "b": {}}}})
    validate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {
        "default": {"IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": ""}}}})
