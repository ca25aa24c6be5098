"""Capabilities, --privileged, ulimits, hosts/DNS, shm size, groups, sysctls and OOM score:
each observed from inside a container started through the real docker CLI (and cove), with
dockerd's outputs and error texts (checked against the reference dockerd 20.10 of tests/support/dockerd.py)."""

from __future__ import annotations

import os
import uuid

import pytest

from cove.runtime.linux import caps
from tests.support import dockerd

pytestmark = pytest.mark.docker_cli

CAPS = "grep Cap /proc/self/status"


def _caps(output: str) -> dict[str, str]:
    return {line.split(":")[0]: line.split()[1] for line in output.splitlines()
            if line.startswith("Cap")}


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cap_add_and_drop_change_the_root_set_in_docker_order(docker):
    got = _caps(_ok(docker("run", "--rm", "--cap-add", "net_admin", "--cap-drop", "CAP_CHOWN",
                           "busybox", "sh", "-c", CAPS)))
    assert got["CapEff"] == got["CapPrm"] == got["CapBnd"] == "00000000a80435fa"
    assert got["CapInh"] == got["CapAmb"] == "0000000000000000"
    only_chown = _caps(_ok(docker("run", "--rm", "--cap-drop", "all", "--cap-add", "Chown",
                                  "busybox", "sh", "-c", CAPS)))
    assert only_chown["CapEff"] == only_chown["CapBnd"] == "0000000000000001"
    add_wins = _caps(_ok(docker("run", "--rm", "--cap-drop", "chown", "--cap-add", "chown",
                                "busybox", "sh", "-c", CAPS)))
    assert add_wins["CapEff"] == "00000000a80425fb"


def test_non_root_gets_added_caps_in_the_bounding_set_only(docker):
    got = _caps(_ok(docker("run", "--rm", "-u", "1000", "--cap-add", "NET_ADMIN", "busybox",
                           "sh", "-c", CAPS)))
    assert got["CapEff"] == got["CapPrm"] == "0000000000000000"
    assert got["CapBnd"] == "00000000a80435fb"


def test_execs_get_the_container_capabilities_groups_ulimits_and_oom_score(docker):
    name = "privs-exec"
    _ok(docker("run", "-d", "--name", name, "--cap-add", "net_admin", "--cap-drop", "chown",
               "--group-add", "1234", "--ulimit", "nofile=1000:1500", "--oom-score-adj", "300",
               "busybox", "sleep", "60"))
    try:
        out = _ok(docker("exec", name, "sh", "-c",
                         f"{CAPS}; id; ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj"))
        assert _caps(out)["CapEff"] == "00000000a80435fa"
        lines = out.splitlines()[5:]
        assert lines == ["uid=0(root) gid=0(root) groups=0(root),1234", "1000", "1500", "300"]
        user = _ok(docker("exec", "-u", "1000", name, "sh", "-c", f"{CAPS}; id"))
        assert _caps(user)["CapEff"] == "0000000000000000"
        assert _caps(user)["CapBnd"] == "00000000a80435fa"
        assert user.splitlines()[-1] == "uid=1000(user) gid=1000(user) groups=50(staff),1000(user),1234"
        privileged = _caps(_ok(docker("exec", "--privileged", name, "sh", "-c", CAPS)))
        assert int(privileged["CapEff"], 16) == caps.held_capabilities()
    finally:
        docker("rm", "-f", name)


@pytest.mark.parametrize("flag, message", [
    ("--cap-add", 'invalid CapAdd: unknown capability: "CAP_FOO"'),
    ("--cap-drop", 'invalid CapDrop: unknown capability: "CAP_FOO"'),
])
def test_unknown_capabilities_are_refused_at_create(docker, flag, message):
    result = docker("run", "--rm", flag, "foo", "busybox", "true")
    assert result.returncode == 125
    assert f"Error response from daemon: {message}" in result.stderr


def test_privileged_gets_every_capability_writable_sys_proc_and_host_devices(docker):
    script = (f"{CAPS}; grep -E ' /(sys|proc/sys|proc/kcore|proc/keys) ' /proc/mounts; "
              "ls /dev")
    out = _ok(docker("run", "--rm", "--privileged", "busybox", "sh", "-c", script))
    got = _caps(out)
    held = caps.held_capabilities()
    assert int(got["CapEff"], 16) == int(got["CapBnd"], 16) == held
    mounts = [line.split() for line in out.splitlines() if line.startswith(("sysfs", "proc"))]
    assert [(m[1], m[3].split(",")[0]) for m in mounts] == [("/sys", "rw")]  # nothing masked
    devices = set(out.split())
    host = {name for name in os.listdir("/dev")
            if os.path.exists(f"/dev/{name}") and not os.path.isdir(f"/dev/{name}")
            and os.stat(f"/dev/{name}").st_rdev and not os.path.islink(f"/dev/{name}")
            and name != "console"}
    assert host <= devices
    plain = set(_ok(docker("run", "--rm", "busybox", "ls", "/dev")).split())
    assert host - plain, "a plain container gets only the standard nodes"


def test_ulimits_are_applied_and_bad_ones_refused(docker, coved):
    out = _ok(docker("run", "--rm", "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=100",
                     "--ulimit", "core=-1", "busybox", "sh", "-c",
                     "ulimit -n; ulimit -Hn; ulimit -u; ulimit -c"))
    assert out.split() == ["1024", "2048", "100", "unlimited"]
    cli = docker("run", "--rm", "--ulimit", "nofile=2048:1024", "busybox", "true")
    assert cli.returncode == 125
    for limit, message in (({"Name": "foo", "Soft": 1, "Hard": 2}, "invalid ulimit type: foo"),
                           ({"Name": "nofile", "Soft": 3, "Hard": 2},
                            "ulimit soft limit must be less than or equal to hard limit: 3 > 2")):
        status, body = coved.request("POST", "/containers/create",
                                     {"Image": "busybox", "HostConfig": {"Ulimits": [limit]}})
        assert (status, body["message"]) == (400, message)


HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
         "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")


def test_add_host_and_dns_flags_shape_hosts_and_resolv_conf(docker):
    hosts = _ok(docker("run", "--rm", "--add-host", "foo:1.2.3.4", "--add-host", "bar:::1",
                       "busybox", "cat", "/etc/hosts"))
    assert hosts == HOSTS + "1.2.3.4\tfoo\n::1\tbar\n"
    resolv = _ok(docker("run", "--rm", "--dns", "9.9.9.9", "--dns", "1.1.1.1", "--dns-search",
                        "example.com", "--dns-search", "b.org", "--dns-option", "ndots:2",
                        "--dns-option", "timeout:1", "busybox", "cat", "/etc/resolv.conf"))
    assert resolv == ("search example.com b.org\nnameserver 9.9.9.9\nnameserver 1.1.1.1\n"
                      "options ndots:2 timeout:1\n")
    gateway = docker("run", "--rm", "--add-host", "gw:host-gateway", "busybox", "true")
    assert gateway.returncode == 125 and "host-gateway" in gateway.stderr


def test_hosts_and_resolv_conf_match_dockerd(docker):
    env = dockerd.ensure_dockerd()
    if env is None:
        pytest.skip("no reference dockerd")
    argv = ["run", "--rm", "--network", "none", "--add-host", "foo:1.2.3.4", "--dns-search",
            "example.com", "--dns-option", "ndots:3", "busybox", "cat", "/etc/hosts",
            "/etc/resolv.conf"]
    expected = dockerd.docker(*argv)
    assert expected.returncode == 0, expected.stderr
    assert _ok(docker(*argv)) == expected.stdout.decode()


def test_shm_size_sets_the_dev_shm_tmpfs(docker, cove):
    default = _ok(docker("run", "--rm", "busybox", "df", "-k", "/dev/shm")).splitlines()[1]
    assert default.split()[1] == "65536"
    bigger = _ok(cove("run", "--rm", "--shm-size", "128m", "busybox", "df", "-k", "/dev/shm"))
    assert bigger.splitlines()[1].split()[1] == "131072"


def test_group_add_resolves_names_in_the_image(docker):
    out = _ok(docker("run", "--rm", "--group-add", "10", "--group-add", "daemon",
                     "--group-add", "1234", "busybox", "id"))
    assert out.strip() == "uid=0(root) gid=0(root) groups=0(root),1(daemon),10,1234"
    missing = docker("run", "--rm", "--group-add", "wheel", "busybox", "id")
    assert missing.returncode == 125
    assert "Unable to find group wheel: no matching entries in group file" in missing.stderr


def test_namespaced_sysctls_are_set_and_others_refused(docker, coved):
    out = _ok(docker("run", "--rm", "--sysctl", "kernel.shmmax=1234", "--sysctl",
                     "fs.mqueue.msg_max=20", "--sysctl", "net.ipv4.ping_group_range=0 100",
                     "busybox", "cat", "/proc/sys/kernel/shmmax", "/proc/sys/fs/mqueue/msg_max",
                     "/proc/sys/net/ipv4/ping_group_range"))
    assert out.split() == ["1234", "20", "0", "100"]
    assert docker("run", "--rm", "--sysctl", "vm.swappiness=1", "busybox", "true").returncode == 125
    status, body = coved.request("POST", "/containers/create", {
        "Image": "busybox", "HostConfig": {"Sysctls": {"vm.swappiness": "1"}}})
    assert (status, body["message"]) == (
        400, 'sysctl "vm.swappiness" is not in a separate kernel namespace')


def test_oom_score_adj_is_written_and_range_checked(docker, cove):
    assert _ok(cove("run", "--rm", "--oom-score-adj", "500", "busybox", "cat",
                    "/proc/self/oom_score_adj")) == "500\n"
    bad = docker("run", "--rm", "--oom-score-adj", "1001", "busybox", "true")
    assert bad.returncode == 125
    assert "Invalid value 1001, range for oom score adj is [-1000, 1000]" in bad.stderr


def test_cove_cli_sends_caps_ulimits_and_hosts(cove):
    out = _ok(cove("run", "--rm", "--cap-add", "net_admin", "--ulimit", "nofile=512",
                   "--add-host", "db=10.0.0.5", "busybox", "sh", "-c",
                   "grep CapEff /proc/self/status; ulimit -n; tail -1 /etc/hosts"))
    assert out.split() == ["CapEff:", "00000000a80435fb", "512",
                           "10.0.0.5", "db"]
    bad = cove("run", "--rm", "--ulimit", "nofile=2:1", "busybox", "true")
    assert bad.returncode == 125
    assert "ulimit soft limit must be less than or equal to hard limit: 2 > 1" in bad.stderr


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_no_new_privileges_only_when_asked(cli, request, tmp_path):
    run = request.getfixturevalue(cli)
    probe = ["busybox", "grep", "NoNewPrivs", "/proc/self/status"]
    assert run("run", "--rm", *probe).stdout.split() == ["NoNewPrivs:", "0"]
    asked = run("run", "--rm", "--security-opt", "no-new-privileges", *probe)
    assert asked.stdout.split() == ["NoNewPrivs:", "1"]
    assert run("run", "--rm", "--security-opt", "seccomp=unconfined",
               "--security-opt", "apparmor=unconfined", *probe).returncode == 0
    profile = tmp_path / "profile.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW"}')  # (tests/integration/test_seccomp)
    assert run("run", "--rm", "--security-opt", f"seccomp={profile}",
               *probe).stdout.split() == ["NoNewPrivs:", "0"]
    bad = run("run", "--rm", "--security-opt", "colour=blue", *probe)
    assert bad.returncode == 125 and "invalid --security-opt 2" in bad.stderr


@pytest.mark.parametrize("daemon", ["coved", "dockerd"])
def test_systempaths_unconfined_leaves_proc_and_sys_paths_alone(daemon, docker, request):
    from tests.support.clis import CLI

    engine = docker if daemon == "coved" else CLI(docker.argv0,
                                                  request.getfixturevalue("reference_dockerd"))
    script = "grep -c -E ' /proc/(bus|fs|irq|sys|keys|timer_list|acpi|scsi) ' /proc/mounts"
    confined = engine("run", "--rm", "busybox", "sh", "-c", script)
    opened = engine("run", "--rm", "--security-opt", "systempaths=unconfined", "busybox",
                    "sh", "-c", script + " || true")
    assert int(confined.stdout) > 0 and opened.stdout.strip() == "0", (confined, opened)
    name = "cove-sp-" + uuid.uuid4().hex[:8]
    engine("create", "--name", name, "--security-opt", "systempaths=unconfined", "busybox")
    try:
        shown = engine("inspect", "-f", "{{json .HostConfig.MaskedPaths}} "
                       "{{json .HostConfig.ReadonlyPaths}}", name).stdout.strip()
        assert shown == "[] []"
    finally:
        engine("rm", "-f", name)
