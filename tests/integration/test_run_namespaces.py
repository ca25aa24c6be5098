"""The run flags that choose where a container runs: ``--pid``/``--ipc``/``--uts`` (host,
container:X, the IPC modes), ``--cpuset-cpus``/``--cpuset-mems`` (and ``update``),
``--cgroup-parent``, ``--entrypoint ""``, ``--runtime``, ``--platform``,
``--volume-driver``, ``--network`` and ``--device`` (the node, and device access limited
as runc limits it). Each is seen from inside a container
started with the real docker CLI; where dockerd 20.10 gives the same answer, the same
test runs against it. Each flag either works or is refused: none is ignored."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import docker
import pytest

from tests.support.clis import DOCKER

pytestmark = pytest.mark.docker_cli

TWO_CPUS = (os.cpu_count() or 1) >= 2


@dataclass
class Daemon:
    """A daemon under test: the docker CLI's env, a docker-py client, what the test made."""

    kind: str
    env: dict[str, str]
    client: docker.DockerClient
    made: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def name(self, what: str) -> str:
        made = f"ns-{what}-{uuid.uuid4().hex[:10]}"
        self.made.append(made)
        return made

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        if DOCKER is None:
            pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
        return subprocess.run([DOCKER, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.returncode == 0, (self.kind, args, result.stderr)
        return result.stdout

    def refused(self, *args: str) -> str:
        """The daemon's message for a ``docker run`` it refuses (exit 125)."""
        result = self(*args)
        assert result.returncode == 125, (self.kind, args, result.stdout, result.stderr)
        return result.stderr.split("Error response from daemon: ", 1)[-1].splitlines()[0]


def _daemon(request: pytest.FixtureRequest, kind: str) -> Iterator[Daemon]:
    if kind == "coved":
        coved = request.getfixturevalue("coved")
        env, host = coved.env, coved.host
    else:
        env = request.getfixturevalue("reference_dockerd")
        host = env["DOCKER_HOST"]
    target = Daemon(kind, env, docker.DockerClient(base_url=host, version="1.41", timeout=60))
    try:
        yield target
    finally:
        for made in target.made:
            try:
                target.client.api.remove_container(made, force=True)
            except docker.errors.NotFound:
                pass
        for image in target.images:
            try:
                target.client.api.remove_image(image, force=True)
            except docker.errors.NotFound:
                pass
        target.client.close()


@pytest.fixture(params=["coved", "dockerd"])
def daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    yield from _daemon(request, request.param)


@pytest.fixture
def coved_daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    yield from _daemon(request, "coved")


def _host_ns(kind: str) -> str:
    return os.readlink(f"/proc/self/ns/{kind}")


def _wait_running(daemon: Daemon, name: str) -> None:
    deadline = time.monotonic() + 30
    while daemon.ok("inspect", "-f", "{{.State.Running}}", name).strip() != "true":
        assert time.monotonic() < deadline, f"{name} never ran"
        time.sleep(0.05)


# --pid, --ipc, --uts host


def test_pid_host_sees_the_hosts_processes(daemon: Daemon) -> None:
    out = daemon.ok("run", "--rm", "--pid", "host", "busybox", "sh", "-c",
                    "readlink /proc/self/ns/pid; tr '\\0' ' ' < /proc/1/cmdline")
    ns, init = out.splitlines()[:2]
    with open("/proc/1/cmdline", "rb") as f:
        host_init = f.read().replace(b"\0", b" ").decode()
    assert ns == _host_ns("pid")
    assert init == host_init  # PID 1 is the host's init, not the container's sh


def test_ipc_and_uts_host_keep_the_hosts_namespaces(daemon: Daemon) -> None:
    out = daemon.ok("run", "--rm", "--ipc", "host", "--uts", "host", "busybox", "sh", "-c",
                    "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname")
    assert out.splitlines() == [_host_ns("ipc"), _host_ns("uts"), socket.gethostname()]
    default = daemon.ok("run", "--rm", "busybox", "readlink", "/proc/self/ns/ipc").strip()
    assert default != _host_ns("ipc")


def test_uts_host_leaves_the_hosts_name_alone_and_refuses_a_hostname(daemon: Daemon) -> None:
    daemon.ok("run", "--rm", "--uts", "host", "busybox", "true")
    assert daemon.refused("run", "--rm", "--uts", "host", "-h", "other", "busybox", "true") == \
        "conflicting options: hostname and the UTS mode"
    assert socket.gethostname() != "other"


# --pid, --ipc container:X


def test_pid_and_ipc_container_join_a_shareable_donor(daemon: Daemon) -> None:
    donor = daemon.name("donor")
    daemon.ok("run", "-d", "--name", donor, "--ipc", "shareable", "busybox", "sleep", "300")
    _wait_running(daemon, donor)
    donor_ipc = daemon.ok("exec", donor, "sh", "-c",
                          "echo shared > /dev/shm/note; readlink /proc/self/ns/ipc").strip()
    out = daemon.ok("run", "--rm", "--ipc", f"container:{donor}", "--pid", f"container:{donor}",
                    "busybox", "sh", "-c",
                    "readlink /proc/self/ns/ipc; cat /dev/shm/note; tr '\\0' ' ' < /proc/1/cmdline")
    assert out.splitlines() == [donor_ipc, "shared", "sleep 300 "]
    donor_id = daemon.ok("inspect", "-f", "{{.Id}}", donor).strip()
    joiner = daemon.name("joiner")
    daemon.ok("create", "--name", joiner, "--ipc", f"container:{donor}", "busybox", "true")
    assert daemon.ok("inspect", "-f", "{{.HostConfig.IpcMode}}", joiner).strip() == \
        f"container:{donor_id}"


def test_ipc_container_of_a_private_donor_is_dockerds_non_shareable_error(
        daemon: Daemon) -> None:
    donor = daemon.name("private")
    daemon.ok("run", "-d", "--name", donor, "busybox", "sleep", "300")
    donor_id = daemon.ok("inspect", "-f", "{{.Id}}", donor).strip()
    assert daemon.ok("inspect", "-f", "{{.HostConfig.IpcMode}}", donor).strip() == "private"
    assert daemon.refused("run", "--rm", "--ipc", f"container:{donor}", "busybox", "true") == (
        f"can't join IPC of container {donor_id}: non-shareable IPC (hint: use "
        "IpcMode:shareable for the donor container)")


def test_joining_a_container_that_does_not_run_or_exist(daemon: Daemon) -> None:
    stopped = daemon.name("stopped")
    stopped_id = daemon.ok("create", "--name", stopped, "busybox", "sleep", "300").strip()
    assert daemon.refused("run", "--rm", "--pid", f"container:{stopped}", "busybox", "true") == \
        f"container {stopped_id} is not running"
    assert daemon.refused("run", "--rm", "--ipc", f"container:{stopped}", "busybox", "true") == \
        f"can't join IPC of container {stopped_id}: container {stopped_id} is not running"
    ghost = f"ns-ghost-{uuid.uuid4().hex[:8]}"
    for flag in ("--pid", "--ipc"):
        assert daemon.refused("run", "--rm", flag, f"container:{ghost}", "busybox", "true") == \
            f"No such container: {ghost}"


def test_ipc_none_has_no_dev_shm_and_bad_modes_are_refused(daemon: Daemon) -> None:
    result = daemon("run", "--rm", "--ipc", "none", "busybox", "ls", "/dev/shm")
    assert result.returncode == 1 and "No such file or directory" in result.stderr
    assert daemon.refused("run", "--rm", "--ipc", "bogus", "busybox", "true") == \
        "Invalid IPC mode: bogus"


# cgroup: --cpuset-cpus/--cpuset-mems, update, --cgroup-parent


@pytest.mark.skipif(not TWO_CPUS, reason="needs two CPUs to pin one")
def test_cpuset_is_applied_in_the_cgroup_and_by_update(daemon: Daemon) -> None:
    out = daemon.ok("run", "--rm", "--cpuset-cpus", "1", "--cpuset-mems", "0", "busybox",
                    "grep", "-E", "Cpus_allowed_list|Mems_allowed_list", "/proc/self/status")
    assert out.split() == ["Cpus_allowed_list:", "1", "Mems_allowed_list:", "0"]
    name = daemon.name("cpuset")
    daemon.ok("run", "-d", "--name", name, "busybox", "sleep", "300")
    _wait_running(daemon, name)
    daemon.ok("update", "--cpuset-cpus", "0", name)
    out = daemon.ok("exec", name, "grep", "Cpus_allowed_list", "/proc/self/status")
    assert out.split() == ["Cpus_allowed_list:", "0"]
    assert daemon.ok("inspect", "-f", "{{.HostConfig.CpusetCpus}}", name).strip() == "0"


def test_cpusets_the_host_lacks_are_refused_with_dockerds_words(daemon: Daemon) -> None:
    cpus = os.cpu_count() or 1
    available = "0" if cpus == 1 else f"0-{cpus - 1}"
    assert daemon.refused("run", "--rm", "--cpuset-cpus", str(cpus + 5), "busybox", "true") \
        == f"Requested CPUs are not available - requested {cpus + 5}, available: {available}"
    assert daemon.refused("run", "--rm", "--cpuset-cpus", "abc", "busybox", "true") == \
        "Invalid value abc for cpuset cpus: invalid format: abc"


def test_cpu_quota_and_period_are_applied_and_updated(daemon: Daemon) -> None:
    if not os.path.isdir("/sys/fs/cgroup/cpu"):
        pytest.skip("reads the v1 cpu controller inside the container")
    files = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us"
    name = daemon.name("cfs")
    daemon.ok("run", "-d", "--name", name, "--cpu-quota", "50000", "--cpu-period", "200000",
              "busybox", "sleep", "300")
    _wait_running(daemon, name)
    assert daemon.ok("exec", name, "cat", *files.split()).split() == ["50000", "200000"]
    daemon.ok("update", "--cpu-quota", "30000", name)
    assert daemon.ok("exec", name, "cat", *files.split()).split() == ["30000", "200000"]
    assert daemon.refused("run", "--rm", "--cpu-quota", "10", "busybox", "true") == \
        "CPU cfs quota can not be less than 1ms (i.e. 1000)"


def test_isolation_other_than_default_is_refused(daemon: Daemon) -> None:
    assert daemon.refused("run", "--rm", "--isolation", "process", "busybox", "true") == \
        'Invalid isolation: "process" - linux only supports \'default\''


@pytest.mark.parametrize("flags", [
    ["--blkio-weight", "300"], ["--memory-reservation", "10m"], ["--oom-kill-disable"],
    ["--memory-swappiness", "10"], ["--cgroupns", "host"], ["--cpu-rt-runtime", "100"],
    ["--gpus", "all"], ["--storage-opt", "size=1G"], ["--link", "x:y"],
    ["--kernel-memory", "10m"],
])
def test_limits_cove_does_not_apply_are_refused_not_ignored(coved_daemon: Daemon,
                                                             flags: list[str]) -> None:
    message = coved_daemon.refused("run", "--rm", *flags, "busybox", "true")
    assert "is not supported by Cove yet" in message, message


def test_cgroup_parent_places_the_cgroup_under_it(daemon: Daemon) -> None:
    root = "/sys/fs/cgroup/memory"
    if not os.path.isdir(root):
        pytest.skip("checks the v1 memory hierarchy")
    parent = f"ns-parent-{uuid.uuid4().hex[:8]}"
    name = daemon.name("parent")
    try:
        cid = daemon.ok("run", "-d", "--name", name, "--cgroup-parent", f"/{parent}",
                        "busybox", "sleep", "300").strip()
        _wait_running(daemon, name)
        pid = daemon.ok("inspect", "-f", "{{.State.Pid}}", name).strip()
        with open(f"{root}/{parent}/{cid}/cgroup.procs") as f:
            assert pid in f.read().split()
        assert daemon.ok("inspect", "-f", "{{.HostConfig.CgroupParent}}", name).strip() == \
            f"/{parent}"
        daemon.ok("rm", "-f", name)
    finally:
        deadline = time.monotonic() + 10
        for hierarchy in os.listdir("/sys/fs/cgroup"):
            path = f"/sys/fs/cgroup/{hierarchy}/{parent}"
            while os.path.isdir(path):
                try:
                    os.rmdir(path)
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)


# the command, the runtime


def test_empty_entrypoint_clears_the_images(daemon: Daemon) -> None:
    tag = f"ns-entry-{uuid.uuid4().hex[:8]}:latest"
    source = daemon.name("entry-src")
    daemon.ok("create", "--name", source, "busybox", "true")
    daemon.ok("commit", "--change", 'ENTRYPOINT ["echo", "from-image"]', source, tag)
    daemon.images.append(tag)
    assert daemon.ok("run", "--rm", tag, "x").strip() == "from-image x"
    assert daemon.ok("run", "--rm", "--entrypoint", "", tag, "echo", "hi").strip() == "hi"


def test_runtime_is_runc_and_others_are_unknown(daemon: Daemon) -> None:
    name = daemon.name("runtime")
    daemon.ok("create", "--name", name, "busybox", "true")
    assert daemon.ok("inspect", "-f", "{{.HostConfig.Runtime}}", name).strip() == "runc"
    daemon.ok("run", "--rm", "--runtime", "runc", "busybox", "true")
    assert daemon.refused("run", "--rm", "--runtime", "nosuch", "busybox", "true") == \
        "Unknown runtime specified nosuch"
    info = daemon.client.info()
    assert info["DefaultRuntime"] == "runc" and "runc" in info["Runtimes"]
    assert "Default Runtime: runc" in daemon.ok("info")


# the network until networking lands


def test_unknown_network_fails_at_start_as_dockerd_does(daemon: Daemon) -> None:
    assert daemon.refused("run", "--rm", "--network", "ns-nosuch-net", "busybox", "true") == \
        "network ns-nosuch-net not found"


def test_without_a_bridge_none_default_and_bridge_give_loopback_only(
        coved_daemon: Daemon) -> None:
    """The shared test daemon runs with ``--bridge none`` (the bridge is tested in the
    network lab, tests/integration/network)."""
    for network in ("none", "default", "bridge"):
        out = coved_daemon.ok("run", "--rm", "--network", network, "busybox", "ls",
                              "/sys/class/net")
        assert out.split() == ["lo"], network


def test_without_a_bridge_published_ports_are_refused_not_ignored(
        coved_daemon: Daemon) -> None:
    for flags in (["-p", "8080:80"], ["--expose", "80", "-P"]):
        message = coved_daemon.refused("run", "--rm", *flags, "busybox", "true")
        assert message == ("published ports need the default bridge, and this daemon runs "
                           "without one (--bridge none)"), message
    coved_daemon.ok("run", "--rm", "-P", "busybox", "true")  # nothing exposed: nothing asked


def test_per_network_settings_are_refused_not_ignored(coved_daemon: Daemon) -> None:
    """Without a bridge (the shared daemon) a default-mode container has loopback only:
    an address asked for it is refused (user networks are tested in the network lab)."""
    for flags, words in (
            (["--ip", "172.17.0.9"], "user specified IP address is supported on user defined "
                                     "networks only"),
            (["--link-local-ip", "169.254.0.5"], "not supported by Cove yet")):
        message = coved_daemon.refused("run", "--rm", *flags, "busybox", "true")
        assert words in message, message


def test_a_container_network_is_the_donors_stack_name_and_files(daemon: Daemon) -> None:
    donor = daemon.name("netdonor")
    daemon.ok("run", "-d", "--name", donor, "-h", "donorhost", "busybox", "sleep", "60")
    check = "readlink /proc/self/ns/net; ls /sys/class/net; hostname; cat /etc/hostname"
    theirs = daemon.ok("exec", donor, "sh", "-c", check)
    ours = daemon.ok("run", "--rm", "--network", f"container:{donor}", "busybox", "sh", "-c",
                     check)
    assert ours == theirs and ours.split()[-2:] == ["donorhost", "donorhost"]
    joiner = daemon.name("netjoiner")
    daemon.ok("create", "--name", joiner, "--network", f"container:{donor}", "busybox", "true")
    donor_id = daemon.ok("inspect", "-f", "{{.Id}}", donor).strip()
    assert daemon.ok("inspect", "-f", "{{.HostConfig.NetworkMode}}", joiner).strip() == \
        f"container:{donor_id}"
    daemon.ok("stop", "-t", "0", donor)
    done = daemon("start", joiner)
    assert done.returncode == 1
    assert f"cannot join network of a non running container: {donor_id}" in done.stderr
    missing = daemon.name("netmissing")
    daemon.ok("create", "--name", missing, "--network", "container:ns-nosuch", "busybox", "true")
    done = daemon("start", missing)
    assert done.returncode == 1 and "No such container: ns-nosuch" in done.stderr


@pytest.mark.parametrize(("flags", "conflict"), [
    (["-h", "foo"], "hostname and the network mode"),
    (["--dns", "192.0.2.1"], "dns and the network mode"),
    (["--add-host", "a:192.0.2.1"], "custom host-to-IP mapping and the network mode"),
    (["--expose", "80"], "port exposing and the container type network mode"),
    (["-p", "80"], "port publishing and the container type network mode"),
])
def test_what_a_container_network_decides_cannot_be_set(daemon: Daemon, flags: list[str],
                                                        conflict: str) -> None:
    donor = daemon.name("netdonor")
    daemon.ok("create", "--name", donor, "busybox", "true")
    assert daemon.refused("run", "--rm", "--network", f"container:{donor}", *flags, "busybox",
                          "true") == f"conflicting options: {conflict}"


def test_host_network_shares_the_hosts_links_and_name(daemon: Daemon) -> None:
    links = sorted(os.listdir("/sys/class/net"))
    out = daemon.ok("run", "--rm", "--network", "host", "busybox", "sh", "-c",
                    "ls /sys/class/net; hostname")
    *seen, hostname = out.split()
    assert sorted(seen) == links
    assert hostname == socket.gethostname()


def test_ports_published_on_the_host_network_are_discarded_with_dockerds_warning(
        daemon: Daemon) -> None:
    name = daemon.name("hostports")
    done = daemon("create", "--name", name, "--network", "host", "-p", "8080:80", "busybox")
    assert done.returncode == 0, done.stderr
    assert "Published ports are discarded when using host network mode" in done.stderr
    daemon.ok("start", name)
    assert daemon.ok("inspect", "-f", "{{json .HostConfig.PortBindings}} "
                     "{{json .NetworkSettings.Ports}}", name).strip() == \
        '{"80/tcp":[{"HostIp":"","HostPort":"8080"}]} {}'
    daemon.ok("rm", "-f", name)


# --device: the node, and device access limited as runc limits it

DEVICE_CHECK = (
    "ls -ln /dev/myfuse; (exec 3</dev/myfuse) && echo read-ok; "
    "(exec 3>/dev/myfuse) 2>/dev/null || echo write-denied; "
    "mknod /tmp/lc c 10 237; (exec 3</tmp/lc) 2>/dev/null || echo other-denied")


def test_device_node_with_its_permissions_and_only_the_access_granted(daemon: Daemon) -> None:
    if not os.path.exists("/dev/fuse"):
        pytest.skip("needs /dev/fuse on the host")
    out = daemon.ok("run", "--rm", "--device", "/dev/fuse:/dev/myfuse:r", "busybox", "sh",
                    "-c", DEVICE_CHECK)
    info = os.stat("/dev/fuse")
    listing, *rest = out.splitlines()
    fields = listing.split()
    assert fields[0] == stat.filemode(info.st_mode)  # crw-------, as on the host
    assert fields[2:6] == [str(info.st_uid), str(info.st_gid), "10,", "229"]
    assert rest == ["read-ok", "write-denied", "other-denied"]
    unlisted = daemon("run", "--rm", "busybox", "sh", "-c",
                      "mknod /tmp/f c 10 229 && (exec 3</tmp/f) 2>/dev/null || echo denied")
    assert unlisted.stdout.split() == ["denied"]


def test_device_cgroup_rule_allows_what_it_names(daemon: Daemon) -> None:
    check = "mknod /tmp/lc c 10 237; (exec 3</tmp/lc) 2>/dev/null && echo opened || echo denied"
    assert daemon.ok("run", "--rm", "busybox", "sh", "-c", check).split() == ["denied"]
    assert daemon.ok("run", "--rm", "--device-cgroup-rule", "c 10:237 r", "busybox", "sh",
                     "-c", check).split() == ["opened"]


def test_a_device_that_does_not_exist_fails_the_start(daemon: Daemon) -> None:
    result = daemon("run", "--rm", "--device", "/dev/ns-nosuch", "busybox", "true")
    assert result.returncode == 127  # the CLI's code for "no such file or directory"
    assert ('error gathering device information while adding custom device '
            '"/dev/ns-nosuch": no such file or directory') in result.stderr


# platform and volume driver: dockerd answers 404 (which the docker CLI takes for a missing
# image and tries to pull); Cove answers 400 with the same words on purpose, so the CLI
# shows them


def _create_error(daemon: Daemon, **kwargs) -> tuple[int, str]:
    with pytest.raises(docker.errors.APIError) as info:
        daemon.client.api.create_container("busybox", "true", **kwargs)
    return info.value.status_code, info.value.explanation


def test_platform_other_than_the_hosts_is_refused_400_on_purpose(daemon: Daemon) -> None:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    other = "arm64" if arch == "amd64" else "amd64"
    status, message = _create_error(daemon, platform=f"linux/{other}")
    assert status == (400 if daemon.kind == "coved" else 404)
    assert message == ("image with reference busybox was found but does not match the "
                       f"specified platform: wanted linux/{other}, actual: linux/{arch}")
    created = daemon.client.api.create_container("busybox", "true", platform=f"linux/{arch}")
    daemon.made.append(created["Id"])


def test_unknown_volume_driver_is_refused_400_on_purpose(daemon: Daemon) -> None:
    volume = f"ns-vol-{uuid.uuid4().hex[:8]}"
    status, message = _create_error(daemon, host_config=daemon.client.api.create_host_config(
        binds=[f"{volume}:/x"], volume_driver="nosuch"))
    assert status == (400 if daemon.kind == "coved" else 404)
    assert message == (f'create {volume}: error looking up volume plugin nosuch: plugin '
                       '"nosuch" not found')
    if daemon.kind == "coved":
        assert "not found" in daemon.refused("run", "--rm", "--volume-driver", "nosuch",
                                             "-v", f"{volume}:/x", "busybox", "true")
