"""Bind and tmpfs mounts (``-v``, ``--mount``, ``--tmpfs``) through both CLIs on a real coved."""

from __future__ import annotations

import json
import os

import pytest

from cove.runtime.images.busybox import DEFAULT_ENV, busybox_rootfs_tar
from tests.support.coved import Coved
from tests.support.images import busybox_archive

pytestmark = pytest.mark.docker_cli


def _mounts_line(output: str, target: str) -> list[str]:
    """The /proc/mounts fields of the mount at ``target``."""
    for line in output.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[1] == target:
            return fields
    raise AssertionError(f"{target} not mounted:\n{output}")


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_a_rw_bind_shows_container_writes_on_the_host(cli, request, tmp_path):
    run = request.getfixturevalue(cli)
    (tmp_path / "in.txt").write_text("from host\n")
    result = run("run", "--rm", "-v", f"{tmp_path}:/data", "busybox", "sh", "-c",
                 "cat /data/in.txt; echo from container > /data/out.txt")
    assert (result.returncode, result.stdout) == (0, "from host\n"), result.stderr
    assert (tmp_path / "out.txt").read_text() == "from container\n"


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_a_ro_bind_refuses_writes(cli, request, tmp_path):
    run = request.getfixturevalue(cli)
    result = run("run", "--rm", "-v", f"{tmp_path}:/data:ro", "busybox", "sh", "-c",
                 "echo x > /data/f")
    assert result.returncode == 1
    assert "Read-only file system" in result.stderr
    assert not (tmp_path / "f").exists()


def test_a_missing_binds_source_is_created(docker, tmp_path):
    source = tmp_path / "made" / "here"
    result = docker("run", "--rm", "-v", f"{source}:/data", "busybox", "touch", "/data/f")
    assert result.returncode == 0, result.stderr
    assert (source / "f").is_file()


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_mount_type_bind_readonly_and_a_file_source(cli, request, tmp_path):
    run = request.getfixturevalue(cli)
    (tmp_path / "conf").write_text("key=value\n")
    result = run("run", "--rm", "--mount", f"type=bind,source={tmp_path},target=/b",
                 "--mount", f"type=bind,src={tmp_path / 'conf'},dst=/etc/app.conf,readonly",
                 "busybox", "sh", "-c",
                 "cat /etc/app.conf; echo w > /b/w; echo x > /etc/app.conf || echo refused")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "key=value\nrefused\n"
    assert (tmp_path / "w").read_text() == "w\n"


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_a_missing_mount_source_fails_with_exit_125(cli, request, tmp_path):
    run = request.getfixturevalue(cli)
    missing = tmp_path / "nope"
    result = run("run", "--rm", "--mount", f"type=bind,src={missing},dst=/x", "busybox", "true")
    assert result.returncode == 125
    assert (f'invalid mount config for type "bind": bind source path does not exist: {missing}'
            in result.stderr)
    assert not missing.exists()


def test_bad_specs_get_dockerds_errors(docker, tmp_path):
    cases = [
        (["-v", f"{tmp_path}:/"], f"invalid volume specification: '{tmp_path}:/': invalid mount "
         "config for type \"bind\": invalid specification: destination can't be '/'"),
        (["-v", f"{tmp_path}:/x:bogus"], "invalid mode: bogus"),
        (["-v", f"{tmp_path}:/x", "--tmpfs", "/x"], "Duplicate mount point: /x"),
        (["--tmpfs", "t"], "invalid mount path: 't' mount path must be absolute"),
    ]
    for flags, message in cases:
        result = docker("run", "--rm", *flags, "busybox", "true")
        assert result.returncode == 125, flags
        assert message in result.stderr, (flags, result.stderr)


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_tmpfs_flag_mounts_a_sized_noexec_tmpfs(cli, request):
    run = request.getfixturevalue(cli)
    result = run("run", "--rm", "--tmpfs", "/t", "--tmpfs", "/s:size=1m,mode=750", "busybox",
                 "sh", "-c", "cat /proc/mounts; stat -c %a /s")
    assert result.returncode == 0, result.stderr
    t = _mounts_line(result.stdout, "/t")
    assert t[2] == "tmpfs" and {"nosuid", "nodev", "noexec"} <= set(t[3].split(","))
    s = _mounts_line(result.stdout, "/s")
    assert "size=1024k" in s[3].split(",")
    assert result.stdout.splitlines()[-1] == "750"


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_mount_type_tmpfs_honours_size_and_mode(cli, request):
    run = request.getfixturevalue(cli)
    result = run("run", "--rm", "--mount", "type=tmpfs,dst=/scratch,tmpfs-size=2m,tmpfs-mode=0700",
                 "busybox", "sh", "-c",
                 "grep ' /scratch ' /proc/mounts; head -c 3000000 /dev/zero > /scratch/big; "
                 "echo rc=$?; wc -c < /scratch/big")
    fields = _mounts_line(result.stdout, "/scratch")
    assert fields[2] == "tmpfs"
    assert {"size=2048k", "mode=700", "noexec"} <= set(fields[3].split(","))
    written = result.stdout.splitlines()
    assert written[-2] == "rc=1" and int(written[-1]) <= 2 * 1024 * 1024


def test_read_only_rootfs_keeps_writable_mounts(docker, tmp_path):
    result = docker("run", "--rm", "--read-only", "-v", f"{tmp_path}:/d", "--tmpfs", "/t",
                    "busybox", "sh", "-c",
                    "touch /d/a /t/a && echo ok; touch /rootfile 2>&1 || true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "ok"
    assert "Read-only file system" in result.stdout
    assert (tmp_path / "a").exists()


def test_nested_mounts_apply_parents_first(docker, tmp_path):
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    outer.mkdir()
    inner.mkdir()
    (inner / "marker").write_text("inner\n")
    # the child is given first: the engine must still mount /a before /a/b
    result = docker("run", "--rm", "-v", f"{inner}:/a/b", "-v", f"{outer}:/a", "busybox",
                    "cat", "/a/b/marker")
    assert (result.returncode, result.stdout) == (0, "inner\n"), result.stderr


def test_a_user_bind_replaces_the_engines_hosts_file(docker, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("10.1.2.3 mine\n")
    result = docker("run", "--rm", "-v", f"{hosts}:/etc/hosts:ro", "busybox", "cat", "/etc/hosts")
    assert result.stdout == "10.1.2.3 mine\n"


def test_a_symlink_in_the_image_cannot_lead_a_mount_outside_the_rootfs(coved, docker, tmp_path):
    from cove.runtime.images.hello.archive import Entry, Image, docker_archive, layer_tar

    outside = tmp_path / "outside"
    outside.mkdir()
    source = tmp_path / "source"
    source.mkdir()
    (source / "marker").write_text("mounted\n")
    link = Entry("escape", "symlink", mode=0o777, target=f"/../../../..{outside}")
    image = Image(layers=[busybox_rootfs_tar(), layer_tar([link])],
                  config={"Env": list(DEFAULT_ENV), "Cmd": ["sh"]},
                  repo_tags=["cove-test/symlinked:latest"],
                  history=["ADD busybox rootfs / # cove tests", "COPY link / # cove tests"])
    coved.load(docker_archive(image))
    try:
        result = docker("run", "--rm", "-v", f"{source}:/escape/sub", "cove-test/symlinked",
                        "cat", "/escape/sub/marker")
        assert (result.returncode, result.stdout) == (0, "mounted\n"), result.stderr
        assert os.listdir(outside) == []  # nothing was created or mounted on the host side
    finally:
        docker("rmi", "cove-test/symlinked")


def test_a_bind_survives_docker_restart(docker, tmp_path):
    docker("run", "-d", "--name", "mnt-restart", "-v", f"{tmp_path}:/d", "busybox", "sh", "-c",
           "date +%s%N >> /d/starts; sleep 600")
    try:
        assert docker("restart", "-t", "0", "mnt-restart").returncode == 0
        result = docker("exec", "mnt-restart", "cat", "/d/starts")
        assert len(result.stdout.split()) == 2, result
        assert len((tmp_path / "starts").read_text().split()) == 2
    finally:
        docker("rm", "-f", "mnt-restart")


def test_inspect_shows_the_mounts_like_dockerd(coved, docker, tmp_path):
    (tmp_path / "a").mkdir()
    docker("create", "--name", "mnt-inspect", "-v", f"{tmp_path / 'a'}:/data:ro",
           "--mount", f"type=bind,src={tmp_path},dst=/m,readonly",
           "--mount", "type=tmpfs,dst=/mt,tmpfs-size=1m,tmpfs-mode=700",
           "--tmpfs", "/t:size=1m", "busybox", "true")
    try:
        data = json.loads(docker("inspect", "mnt-inspect").stdout)[0]
        host = data["HostConfig"]
        assert host["Binds"] == [f"{tmp_path / 'a'}:/data:ro"]
        assert host["Mounts"] == [
            {"Type": "bind", "Source": str(tmp_path), "Target": "/m", "ReadOnly": True},
            {"Type": "tmpfs", "Target": "/mt", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 448}}]
        assert host["Tmpfs"] == {"/t": "size=1m"}
        assert data["Mounts"] == [
            {"Type": "bind", "Source": str(tmp_path / "a"), "Destination": "/data", "Mode": "ro",
             "RW": False, "Propagation": "rprivate"},
            {"Type": "bind", "Source": str(tmp_path), "Destination": "/m", "Mode": "",
             "RW": False, "Propagation": "rprivate"},
            {"Type": "tmpfs", "Source": "", "Destination": "/mt", "Mode": "", "RW": True,
             "Propagation": ""}]
        _, listed = coved.request("GET", '/containers/json?all=1&filters={"name":["mnt-inspect"]}')
        assert listed[0]["Mounts"] == data["Mounts"]
    finally:
        docker("rm", "-f", "mnt-inspect")


def test_bad_tmpfs_options_fail_the_start_like_dockerd(docker):
    assert docker("create", "--name", "mnt-badtmpfs", "--tmpfs", "/t:bogus=1", "busybox",
                  "true").returncode == 0
    try:
        result = docker("start", "mnt-badtmpfs")
        assert result.returncode != 0
        assert 'invalid tmpfs option ["bogus" "1"]' in result.stderr
    finally:
        docker("rm", "-f", "mnt-badtmpfs")


def test_mounts_come_back_after_a_daemon_restart(tmp_path):
    from tests.support.clis import CLI

    daemon = Coved().start()
    try:
        daemon.load(busybox_archive())
        docker = CLI(["docker"], daemon.env)
        created = docker("create", "--name", "kept", "-v", f"{tmp_path}:/d", "--tmpfs", "/t",
                         "busybox", "sh", "-c", "grep -c ' /t tmpfs' /proc/mounts > /d/seen")
        assert created.returncode == 0, created.stderr
        daemon.stop(remove_containers=False)
        daemon.start()
        assert docker("start", "-a", "kept").returncode == 0
        assert (tmp_path / "seen").read_text() == "1\n"
    finally:
        daemon.stop()
        daemon.cleanup()


def test_the_mounts_are_gone_from_the_host_after_the_container(docker, tmp_path):
    result = docker("run", "--rm", "-v", f"{tmp_path}:/d", "--tmpfs", "/t", "busybox", "true")
    assert result.returncode == 0, result.stderr
    with open("/proc/self/mountinfo") as f:
        assert str(tmp_path) not in f.read()



@pytest.mark.parametrize("flags", [
    ["-v", "/srv/a:/a", "-v", "/srv/b:/b:ro,z", "-v", "./rel:/r", "-v", "/only",
     "-v", "named:/n", "-v", "/srv/a:/a"],
    ["--mount", "type=bind,source=/a,target=/b,readonly",
     "--mount", "Type=BIND,src=./x,dst=/c,ro=false,bind-propagation=RSHARED,bind-nonrecursive",
     "--mount", "type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=0700",
     "--mount", "type=volume,src=v,dst=/v,volume-nocopy,volume-label=a=b,volume-opt=o=1",
     "--mount", 'type=bind,"src=/a,b",dst=/q', "--mount", "target=/anon"],
    ["--tmpfs", "/t", "--tmpfs", "/u:size=1m,exec", "--mount", "type=tmpfs,dst=/z,tmpfs-size=1000"],
])
def test_cove_sends_the_mount_fields_docker_sends(flags, tmp_path, coved, reference_dockerd):
    """Both CLIs against the same fake daemon: the create bodies' mount fields are equal; and
    that body, sent to coved and to the reference dockerd, gets the same answer from both."""
    import subprocess

    from tests.support.clis import COVE, DOCKER
    from tests.support.fake_daemon import FakeDaemon, Script

    fake = FakeDaemon(Script(images={"busybox:latest"})).start()
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "COVE_HOST")}
    env.update(DOCKER_HOST=fake.host, DOCKER_API_VERSION="1.41", DOCKER_CONFIG=str(tmp_path),
               COVE_CONFIG=str(tmp_path))
    bodies = []
    try:
        for argv0 in (DOCKER, COVE):
            result = subprocess.run([argv0, "create", *flags, "busybox"], env=env, cwd=tmp_path,
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, (argv0, result.stderr)
            bodies.append(fake.last("/containers/create").json())
    finally:
        fake.stop()
    docker_body, cove_body = bodies

    def fields(body: dict) -> tuple:
        host = body["HostConfig"]
        return (sorted(host.get("Binds") or []), host.get("Mounts"), host.get("Tmpfs"),
                body.get("Volumes") or {})

    assert fields(cove_body) == fields(docker_body)
    _both_daemons_answer_alike(cove_body, coved, reference_dockerd)


def _both_daemons_answer_alike(body: dict, coved, reference_dockerd) -> None:
    """The create body on coved and dockerd: the same status (and message when refused),
    the same mounts in inspect when made; nothing is started, and both are removed."""
    from tests.support.coved import api_request

    dockerd_socket = reference_dockerd["DOCKER_HOST"].removeprefix("unix://")
    answers = {}
    for name, call in (("coved", coved.request),
                       ("dockerd", lambda *a, **k: api_request(dockerd_socket, *a, **k))):
        status, created = call("POST", "/containers/create", body)
        shown = None
        if status == 201:
            _, info = call("GET", f"/containers/{created['Id']}/json")
            host = info["HostConfig"]
            shown = (sorted(host.get("Binds") or []), host.get("Mounts"), host.get("Tmpfs"))
            call("DELETE", f"/containers/{created['Id']}?force=1&v=1")
        for mount in body["HostConfig"].get("Mounts") or []:  # named volumes it made
            if mount.get("Type") == "volume" and mount.get("Source"):
                call("DELETE", f"/volumes/{mount['Source']}")
        answers[name] = (status, created.get("message") if status != 201 else shown)
    assert answers["coved"] == answers["dockerd"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--mount", "type=bind,src=/a"], 'for "--mount" flag: target is required'),
    (["--mount", "type=bind,src=/a,dst=/b,bogus=1"], "unexpected key 'bogus' in 'bogus=1'"),
    (["--mount", "type=bind,src=/a,dst=/b,foo"], "invalid field 'foo' must be a key=value pair"),
    (["--mount", "src=/a,dst=/b,bind-propagation=rprivate"],
     "cannot mix 'bind-*' options with mount type 'volume'"),
    (["--mount", "type=tmpfs,dst=/b,tmpfs-size=bad"], "invalid value for tmpfs-size: bad"),
    (["--mount", "type=tmpfs,dst=/b,tmpfs-mode=999"], "invalid value for tmpfs-mode: 999"),
    (["-v", ""], "invalid empty volume spec"),
    (["-v", ":/b"], "invalid spec: :/b: empty section between colons"),
    (["-v", "/a:/b:ro:x"], "invalid spec: /a:/b:ro:x: too many colons"),
])
def test_cove_rejects_bad_mount_flags_like_docker(cove, flags, message):
    result = cove("create", *flags, "busybox")
    assert result.returncode == 125
    assert message in result.stderr
