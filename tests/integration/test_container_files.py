"""docker cp / export / diff / commit against a real coved, with both CLIs."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import tarfile
import time
import uuid

import pytest


def _mounts(root: str) -> list[str]:
    """The mounts under this test daemon's data root (where a copy's views are made): the
    rest of the host's mounts belong to others and change as they please."""
    with open("/proc/self/mountinfo") as f:
        return sorted(point for point in (line.split()[4] for line in f)
                      if point.startswith(root.rstrip("/") + "/"))


def _settled_mounts(root: str, expected: list[str]) -> list[str]:
    """The mounts once the daemon finished: a client may hang up before the last chunk,
    while the daemon is still unmounting."""
    deadline = time.monotonic() + 5
    while _mounts(root) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return _mounts(root)


def _tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info, b""


@pytest.fixture
def running(docker):
    name = "cf-" + secrets.token_hex(4)
    result = docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                    "mkdir -p /data/sub && echo hi > /data/f && ln -s /etc /data/l && "
                    "rm /bin/vi && echo x >> /etc/passwd && touch /ready && sleep 1000")
    assert result.returncode == 0, result.stderr
    for _ in range(100):
        if docker("exec", name, "test", "-e", "/ready").returncode == 0:
            break
    yield name
    docker("rm", "-f", name)


@pytest.fixture
def stopped(docker):
    name = "cf-" + secrets.token_hex(4)
    assert docker("create", "--name", name, "busybox", "cat", "/data/f").returncode == 0
    yield name
    docker("rm", "-f", name)


@pytest.mark.parametrize("cli_name", ["docker", "cove"])
def test_cp_out_of_a_running_container_copies_files_dirs_and_links(request, coved, running,
                                                                   tmp_path, cli_name):
    cli = request.getfixturevalue(cli_name)
    before = _mounts(coved.data_root)
    assert cli("cp", f"{running}:/data", str(tmp_path / "out")).returncode == 0
    assert (tmp_path / "out" / "f").read_text() == "hi\n"
    assert os.readlink(tmp_path / "out" / "l") == "/etc"
    assert (tmp_path / "out" / "sub").is_dir()
    assert cli("cp", f"{running}:/data/f", str(tmp_path)).returncode == 0
    assert (tmp_path / "f").read_text() == "hi\n"
    assert cli("cp", f"{running}:/data/.", str(tmp_path / "out")).returncode == 0
    result = cli("cp", f"{running}:/nope", str(tmp_path))
    assert result.returncode == 1
    assert f"Could not find the file /nope in container {running}" in result.stderr
    assert _settled_mounts(coved.data_root, before) == before


@pytest.mark.parametrize("cli_name", ["docker", "cove"])
def test_cp_into_a_running_container(request, docker, running, tmp_path, cli_name):
    cli = request.getfixturevalue(cli_name)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a").write_text("A")
    os.symlink("a", tmp_path / "dir" / "lnk")
    (tmp_path / "one").write_text("1")
    assert cli("cp", str(tmp_path / "dir"), f"{running}:/data/").returncode == 0
    assert cli("cp", str(tmp_path / "one"), f"{running}:/data/renamed").returncode == 0
    check = docker("exec", running, "sh", "-c",
                   "cat /data/dir/a /data/renamed; readlink /data/dir/lnk")
    assert check.stdout == "A1a\n"
    result = cli("cp", str(tmp_path / "one"), f"{running}:/missing/x")
    assert result.returncode == 1


@pytest.mark.parametrize("cli_name", ["docker", "cove"])
def test_cp_into_and_out_of_a_stopped_container_leaves_no_mount(request, coved, stopped,
                                                                 tmp_path, cli_name):
    cli = request.getfixturevalue(cli_name)
    before = _mounts(coved.data_root)
    (tmp_path / "f").write_text("from host\n")
    assert cli("cp", str(tmp_path / "f"), f"{stopped}:/etc/f").returncode == 0
    assert cli("cp", f"{stopped}:/etc/f", str(tmp_path / "back")).returncode == 0
    assert (tmp_path / "back").read_text() == "from host\n"
    assert _settled_mounts(coved.data_root, before) == before
    assert not [m for m in _mounts(coved.data_root) if "container-fs" in m]


def test_cp_to_stdout_is_a_tar_of_the_path(cove, running):
    import subprocess

    out = subprocess.run([*cove.argv0, "cp", f"{running}:/data/f", "-"], env=cove.env,
                         capture_output=True, timeout=30)
    assert out.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        assert tar.getnames() == ["f"]
        assert tar.extractfile("f").read() == b"hi\n"


def test_head_archive_reports_go_file_mode_and_link_target(coved, running):
    import base64
    import json

    from tests.support.coved import UnixHTTPConnection

    conn = UnixHTTPConnection(coved.socket)
    conn.request("HEAD", f"/containers/{running}/archive?path=/data/l")
    response = conn.getresponse()
    response.read()
    conn.close()
    stat = json.loads(base64.b64decode(response.getheader("X-Docker-Container-Path-Stat")))
    assert (stat["name"], stat["mode"], stat["linkTarget"]) == ("l", (1 << 27) | 0o777, "/etc")
    status, _ = coved.request("HEAD", f"/containers/{running}/archive?path=/nope")
    assert status == 404


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_put_cannot_write_outside_the_container_through_its_links(request, coved, docker,
                                                                   state):
    name = request.getfixturevalue(state)
    marker = f"cove-escape-{uuid.uuid4().hex}"
    # a link to / planted in the container: a write through it must stay inside
    status, _ = coved.request("PUT", f"/containers/{name}/archive?path=/",
                              raw=_tar([_link("escape", "/"), _link("up", "../../../../..")]))
    assert status == 200
    status, _ = coved.request("PUT", f"/containers/{name}/archive?path=/escape/tmp",
                              raw=_tar([_file(marker)]))
    assert status == 200
    status, _ = coved.request("PUT", f"/containers/{name}/archive?path=/up/tmp",
                              raw=_tar([_file(marker + "-2")]))
    assert status == 200
    assert not os.path.exists(f"/tmp/{marker}") and not os.path.exists(f"/tmp/{marker}-2")
    status, body = coved.request("PUT", f"/containers/{name}/archive?path=/tmp",
                                 raw=_tar([_file("../../" + marker + "-3")]))
    assert status == 500 and "outside" in body["message"]
    status, body = coved.request("PUT", f"/containers/{name}/archive?path=/tmp",
                                 raw=_tar([_link("bad", "../../../etc")]))
    assert status == 500 and "invalid symlink" in body["message"]
    assert not os.path.exists(f"/tmp/{marker}-3")
    out = docker("cp", f"{name}:/tmp/{marker}", "-")
    assert out.returncode == 0  # it landed in the container's own /tmp


def test_put_archive_errors_match_dockerd(coved, running, docker):
    status, body = coved.request("PUT", f"/containers/{running}/archive?path=/data/f",
                                 raw=_tar([_file("x")]))
    assert (status, body["message"]) == (500, "extraction point is not a directory")
    status, body = coved.request("PUT", f"/containers/{running}/archive?path=/nonexist",
                                 raw=_tar([_file("x")]))
    assert (status, body["message"]) == (
        404, f"Could not find the file /nonexist in container {running}")
    name = "cf-ro-" + secrets.token_hex(4)
    assert docker("run", "-d", "--read-only", "--name", name, "busybox", "sleep", "100").returncode == 0
    try:
        status, body = coved.request("PUT", f"/containers/{name}/archive?path=/tmp",
                                     raw=_tar([_file("x")]))
        assert (status, body["message"]) == (500, "container rootfs is marked read-only")
    finally:
        docker("rm", "-f", name)


@pytest.mark.parametrize("cli_name", ["docker", "cove"])
def test_diff_lists_added_changed_and_deleted_paths(request, running, cli_name):
    cli = request.getfixturevalue(cli_name)
    result = cli("diff", running)
    assert result.returncode == 0
    lines = set(result.stdout.splitlines())
    assert {"C /bin", "D /bin/vi", "C /etc", "C /etc/passwd", "A /data", "A /data/f",
            "A /data/l", "A /data/sub"} <= lines


def test_changes_of_an_untouched_container_is_null(coved, stopped):
    assert coved.request("GET", f"/containers/{stopped}/changes") == (200, None)


@pytest.mark.parametrize("cli_name", ["docker", "cove"])
def test_export_has_the_image_files_and_the_changes(request, running, tmp_path, cli_name):
    cli = request.getfixturevalue(cli_name)
    out = tmp_path / "export.tar"
    assert cli("export", "-o", str(out), running).returncode == 0
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        assert tar.extractfile("data/f").read() == b"hi\n"
    assert {"bin/sh", "etc/passwd", "data/l"} <= names
    assert "bin/vi" not in names


@pytest.mark.parametrize("cli_name", ["docker", "cove"])
def test_commit_makes_an_image_that_runs_with_the_change(request, docker, stopped, tmp_path,
                                                         cli_name):
    cli = request.getfixturevalue(cli_name)
    (tmp_path / "f").write_text("committed\n")
    assert docker("cp", str(tmp_path / "f"), f"{stopped}:/f").returncode == 0
    repo = f"cf-commit-{secrets.token_hex(3)}"
    result = cli("commit", "-m", "msg", "-a", "me", "-c", 'CMD ["cat", "/f"]', stopped,
                 f"{repo}:v1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sha256:") and len(result.stdout.strip()) == 71
    try:
        run = docker("run", "--rm", f"{repo}:v1")
        assert run.stdout == "committed\n"
        fmt = "{{.Comment}} {{.Author}} {{json .Config.Cmd}} {{.Container}}"
        inspect = docker("image", "inspect", "-f", fmt, f"{repo}:v1")
        cid = docker("inspect", "-f", "{{.Id}}", stopped).stdout.strip()
        assert inspect.stdout.strip() == f'msg me ["cat","/f"] {cid}'
    finally:
        docker("rmi", "-f", f"{repo}:v1")


def test_commit_refuses_an_unknown_change(coved, stopped):
    status, body = coved.request("POST", f"/commit?container={stopped}&changes=RUN%20x")
    assert (status, body["message"]) == (400, "run is not a valid change command")


def test_commit_of_a_running_container_pauses_and_resumes_it(coved, docker, running):
    since = time.time()
    status, body = coved.request("POST", f"/commit?container={running}")
    assert status == 201 and body["Id"].startswith("sha256:")
    try:
        state = docker("inspect", "-f", "{{.State.Status}}", running).stdout.strip()
        assert state == "running"
        seen = docker("events", "--since", f"{since:.3f}", "--until", f"{time.time() + 1:.3f}",
                      "--filter", f"container={running}", "--format", "{{.Action}}")
        actions = seen.stdout.split()
        assert "pause" in actions and "unpause" in actions, seen  # it was paused meanwhile
        assert actions.index("pause") < actions.index("unpause")
    finally:
        docker("rmi", "-f", body["Id"])


@pytest.fixture(params=["coved", "dockerd"])
def engine(request, docker):
    from tests.support.clis import CLI

    if request.param == "coved":
        return docker
    return CLI(docker.argv0, request.getfixturevalue("reference_dockerd"))


def test_cp_reaches_the_volumes_of_a_container_never_started(engine, tmp_path):
    name = "cf-vol-" + secrets.token_hex(4)
    assert engine("create", "--name", name, "-v", "/data", "busybox", "cat", "/data/f"
                  ).returncode == 0
    try:
        (tmp_path / "f").write_text("into the volume\n")
        copied = engine("cp", str(tmp_path / "f"), f"{name}:/data/")
        assert copied.returncode == 0, copied.stderr
        back = subprocess.run([*engine.argv0, "cp", f"{name}:/data/f", "-"], env=engine.env,
                              capture_output=True, timeout=60)
        assert back.returncode == 0, back.stderr
        with tarfile.open(fileobj=io.BytesIO(back.stdout)) as tar:
            assert tar.extractfile("f").read() == b"into the volume\n"
        started = engine("start", "-a", name)
        assert (started.returncode, started.stdout) == (0, "into the volume\n")
    finally:
        engine("rm", "-f", "-v", name)


def test_cp_of_a_file_named_as_a_directory_is_refused(engine, tmp_path):
    name = "cf-slash-" + secrets.token_hex(4)
    assert engine("create", "--name", name, "busybox", "true").returncode == 0
    try:
        (tmp_path / "f").write_text("not a passwd\n")
        refused = engine("cp", str(tmp_path / "f"), f"{name}:/etc/passwd/")
        assert refused.returncode == 1
        assert "no such directory" in refused.stderr
        kept = subprocess.run([*engine.argv0, "cp", f"{name}:/etc/passwd", "-"], env=engine.env,
                              capture_output=True, timeout=60)
        with tarfile.open(fileobj=io.BytesIO(kept.stdout)) as tar:
            assert tar.extractfile("passwd").read().startswith(b"root:")
    finally:
        engine("rm", "-f", name)
