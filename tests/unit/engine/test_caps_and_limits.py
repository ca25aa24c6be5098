"""Capabilities, ulimits, sysctls, extra hosts, DNS, shm, groups and OOM score: how the
engine checks them, what it hands the shim, what the shim applies, and what the CLI sends."""

from __future__ import annotations

import pytest

from cove.desktop.cli import container_run, run_options
from cove.desktop.cli.command import parse
from cove.desktop.cli.errors import UsageError
from cove.runtime import errors
from cove.runtime.engine import create_config
from cove.runtime.linux import caps, process, rootfs
from cove.runtime.linux.syscalls import MS_RDONLY
from cove.runtime.linux.users import ExecUser
from tests.support.kernel import RecordingKernel

LAST = 40
NET_ADMIN, CHOWN = 1 << 12, 1 << 0


# capabilities
@pytest.mark.parametrize("adds, drops, expected", [
    ([], [], caps.DEFAULT_MASK),
    (["net_admin"], ["CAP_CHOWN"], (caps.DEFAULT_MASK | NET_ADMIN) & ~CHOWN),
    (["chown"], ["all"], CHOWN),
    (["chown"], ["chown"], caps.DEFAULT_MASK),  # add is applied after drop
    (["ALL"], ["chown"], caps.all_mask(LAST) & ~CHOWN),
    (["all"], ["all"], caps.all_mask(LAST)),  # ALL added wins, as in dockerd
])
def test_cap_add_and_drop_follow_dockerd_order(adds, drops, expected):
    assert caps.tweak_capabilities(adds, drops, LAST) == expected


def test_capability_names_are_normalized_and_unknown_ones_refused_with_dockerd_text():
    assert caps.normalize_names(["net_admin", "Cap_Chown", "all"], LAST) == [
        "CAP_NET_ADMIN", "CAP_CHOWN", "ALL"]
    with pytest.raises(ValueError, match='unknown capability: "CAP_FOO"'):
        caps.normalize_names(["foo"], LAST)
    with pytest.raises(ValueError, match='"CAP_BPF"'):  # newer than this kernel
        caps.normalize_names(["bpf"], 37)
    with pytest.raises(errors.InvalidParameter,
                       match='^invalid CapDrop: unknown capability: "CAP_FOO"$'):
        create_config.validate({"Image": "x", "HostConfig": {"CapDrop": ["foo"]}})


def test_everything_means_what_the_engine_holds_but_named_caps_must_be_held():
    held = caps.all_mask(LAST) & ~(1 << 24)  # an engine without CAP_SYS_RESOURCE
    assert create_config.capability_set({"Privileged": True}, LAST, held) == held
    assert create_config.capability_set({"CapAdd": ["ALL"]}, LAST, held) == held
    with pytest.raises(errors.SystemError_, match="CAP_SYS_RESOURCE"):
        create_config.capability_set({"CapAdd": ["SYS_RESOURCE"]}, LAST, held)


def test_held_capabilities_read_the_bounding_set(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapBnd:\t00000000a80425fb\n")
    assert caps.held_capabilities(str(status)) == caps.DEFAULT_MASK


# ulimits
def test_ulimits_become_rlimit_numbers_with_negative_meaning_unlimited():
    host = {"Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048},
                        {"Name": "core", "Soft": -1, "Hard": -1}]}
    assert create_config.rlimits(host) == [[7, 1024, 2048], [4, -1, -1]]


@pytest.mark.parametrize("limit, message", [
    ({"Name": "foo", "Soft": 1, "Hard": 2}, "^invalid ulimit type: foo$"),
    ({"Name": "nofile", "Soft": 3, "Hard": 2},
     "^ulimit soft limit must be less than or equal to hard limit: 3 > 2$"),
    ({"Name": "nofile", "Soft": "a", "Hard": 2},
     "^json: cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Soft "
     "of type int64$"),
])
def test_bad_ulimits_are_refused_at_create(limit, message):
    with pytest.raises(errors.InvalidParameter, match=message):
        create_config.validate({"Image": "x", "HostConfig": {"Ulimits": [limit]}})


# other HostConfig checks
@pytest.mark.parametrize("host, kind, message", [
    ({"ShmSize": -1}, errors.InvalidParameter, "^SHM size can not be less than 0$"),
    ({"OomScoreAdj": 1001}, errors.InvalidParameter,
     r"^Invalid value 1001, range for oom score adj is \[-1000, 1000\]$"),
    ({"ExtraHosts": ["foo"]}, errors.InvalidParameter, '^bad format for add-host: "foo"$'),
    ({"ExtraHosts": ["foo:bar"]}, errors.InvalidParameter,
     '^invalid IP address in add-host: "bar"$'),
    ({"Sysctls": {"vm.swappiness": "1"}}, errors.InvalidParameter,
     '^sysctl "vm.swappiness" is not in a separate kernel namespace$'),
    ({"Sysctls": {"kernel.shmmax": 5}}, errors.InvalidParameter, "of type string"),
    ({"GroupAdd": [10]}, errors.InvalidParameter, "HostConfig.GroupAdd"),
])
def test_bad_host_settings_are_refused_with_dockerd_words(host, kind, message):
    with pytest.raises(kind, match=message):
        create_config.validate({"Image": "x", "HostConfig": host})


def test_good_host_settings_pass_and_shm_zero_means_the_default():
    create_config.validate({"Image": "x", "HostConfig": {
        "ExtraHosts": ["a:1.2.3.4", "b:::1"], "Sysctls": {"net.ipv4.ip_forward": "1",
                                                            "kernel.sem": "1 2 3 4"},
        "OomScoreAdj": -1000, "ShmSize": 0}})
    assert create_config.normalize_host_config({"ShmSize": 0})["ShmSize"] == 64 << 20


# /etc/hosts and /etc/resolv.conf
def test_hosts_file_appends_extra_hosts_tab_separated():
    text = create_config.hosts_file({"ExtraHosts": ["foo:1.2.3.4", "bar:::1"]})
    assert text == create_config.HOSTS + "1.2.3.4\tfoo\n::1\tbar\n"


HOST_RESOLV = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\noptions edns0\n"


def test_resolv_conf_without_flags_is_the_hosts_minus_loopback():
    assert create_config.resolv_conf({}, HOST_RESOLV) == (
        "# generated\nnameserver 10.0.0.2\nsearch lan\noptions edns0\n")
    assert create_config.resolv_conf({}, "nameserver 127.0.0.1\n") == (
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\n")


def test_resolv_conf_flags_replace_each_part_as_libnetwork_builds_it():
    full = {"Dns": ["9.9.9.9", "1.1.1.1"], "DnsSearch": ["a.com", "b.org"],
            "DnsOptions": ["ndots:2", "timeout:1"]}
    assert create_config.resolv_conf(full, HOST_RESOLV) == (
        "search a.com b.org\nnameserver 9.9.9.9\nnameserver 1.1.1.1\noptions ndots:2 timeout:1\n")
    assert create_config.resolv_conf({"DnsOptions": ["ndots:3"]}, HOST_RESOLV) == (
        "search lan\nnameserver 10.0.0.2\noptions ndots:3\n")
    assert create_config.resolv_conf({"DnsSearch": ["."]}, HOST_RESOLV) == (
        "nameserver 10.0.0.2\noptions edns0\n")


# what the shim applies
def test_extra_groups_resolve_names_in_the_group_file_and_keep_numbers(tmp_path):
    group = tmp_path / "group"
    group.write_text("root:x:0:\ndaemon:x:1:\n")
    assert process.resolve_extra_groups(["daemon", "10"], str(group)) == [1, 10]
    with pytest.raises(process.ExecError,
                       match="^Unable to find group wheel: no matching entries in group file$"):
        process.resolve_extra_groups(["wheel"], str(group))
    user = process.with_extra_groups(ExecUser(0, 0, [0], "/root"), [1, 0, 10])
    assert user.groups == [0, 1, 10]


def test_oom_score_adj_and_sysctls_are_written_to_proc_files(tmp_path):
    oom = tmp_path / "oom_score_adj"
    oom.write_text("0\n")
    process.set_oom_score_adj(500, str(oom))
    assert oom.read_text() == "500"
    (tmp_path / "kernel").mkdir()
    (tmp_path / "kernel" / "shmmax").write_text("")
    process.write_sysctls({"kernel.shmmax": "1234"}, str(tmp_path))
    assert (tmp_path / "kernel" / "shmmax").read_text() == "1234"
    with pytest.raises(process.ExecError, match="write sysctl key net.nope: it does not exist"):
        process.write_sysctls({"net.nope": "1"}, str(tmp_path))


def test_shm_size_and_privileged_sysfs_reach_the_mounts(tmp_path, monkeypatch):
    copied = []
    monkeypatch.setattr(rootfs, "copy_host_devices",
                        lambda kernel, dev: copied.append(dev))
    kernel = RecordingKernel()
    rootfs.prepare_rootfs(kernel, {"lower": [], "upper": "/u", "work": "/w"}, [],
                          str(tmp_path / "rootfs"), str(tmp_path / "scratch"),
                          privileged=True, shm_size=128 << 20)
    by_type = {mount.fstype: mount for mount in kernel.mounts() if mount.fstype}
    assert not by_type["sysfs"].flags & MS_RDONLY
    shm = [m for m in kernel.mounts() if m.source == "shm"][0]
    assert shm.data == f"mode=1777,size={128 << 20}"
    assert copied == [str(tmp_path / "rootfs" / "dev")]
    plain = RecordingKernel()
    rootfs.prepare_rootfs(plain, {"lower": [], "upper": "/u", "work": "/w"}, [],
                          str(tmp_path / "plain"), str(tmp_path / "scratch2"))
    assert [m for m in plain.mounts() if m.fstype == "sysfs"][0].flags & MS_RDONLY
    assert len(copied) == 1


# the CLI's body
def _host(argv: list[str]) -> dict:
    args, _parser = parse(container_run.COMMANDS["run"], "run", [*argv, "busybox"])
    return run_options.build_create_body(args, "busybox", [], run=True, environ={})["HostConfig"]


def test_cli_builds_the_host_config_docker_sends():
    host = _host(["--cap-add", "net_admin", "--cap-add", "all", "--cap-drop", "chown",
                  "--ulimit", "nproc=5", "--ulimit", "nofile=1024:2048", "--add-host",
                  "baz=5.6.7.8", "--add-host", "bar:::1", "--dns", "9.9.9.9",
                  "--dns-search", "ex.com", "--dns-opt", "ndots:2", "--shm-size", "128m",
                  "--group-add", "wheel", "--sysctl", "kernel.shmmax=1234",
                  "--oom-score-adj", "-500"])
    assert host["CapAdd"] == ["ALL", "CAP_NET_ADMIN"] and host["CapDrop"] == ["CAP_CHOWN"]
    assert host["Ulimits"] == [{"Name": "nofile", "Hard": 2048, "Soft": 1024},
                               {"Name": "nproc", "Hard": 5, "Soft": 5}]
    assert host["ExtraHosts"] == ["baz:5.6.7.8", "bar:::1"]
    assert (host["Dns"], host["DnsSearch"], host["DnsOptions"]) == (
        ["9.9.9.9"], ["ex.com"], ["ndots:2"])
    assert (host["ShmSize"], host["GroupAdd"], host["OomScoreAdj"]) == (128 << 20, ["wheel"], -500)
    assert host["Sysctls"] == {"kernel.shmmax": "1234"}


@pytest.mark.parametrize("argv, message", [
    (["--ulimit", "nofile=2048:1024"], "ulimit soft limit must be less than or equal to hard "
                                       "limit: 2048 > 1024"),
    (["--ulimit", "foo=1"], "invalid ulimit type: foo"),
    (["--ulimit", "nofile=abc"], 'strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--dns", "notanip"], "IP address is not correctly formatted: notanip"),
    (["--add-host", "foo"], 'bad format for add-host: "foo"'),
    (["--sysctl", "vm.swappiness=1"], "sysctl 'vm.swappiness=1' is not allowed"),
])
def test_cli_refuses_bad_values_like_docker(argv, message):
    with pytest.raises(UsageError) as info:
        _host(argv)
    assert message in str(info.value)
