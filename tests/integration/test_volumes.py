"""Named and anonymous volumes on a real coved: the API, both CLIs, and dockerd as the oracle."""

from __future__ import annotations

import json
import re
import secrets
import urllib.parse

import pytest

from cove.runtime.images.busybox import DEFAULT_ENV, busybox_rootfs_tar
from tests.support.coved import Coved
from tests.support.images import busybox_archive

pytestmark = pytest.mark.docker_cli

VOLUME_IMAGE = "cove-test/volimg:latest"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _filters(**values: list[str]) -> str:
    return urllib.parse.quote(json.dumps(values))


@pytest.fixture(scope="module")
def volume_image(coved: Coved) -> str:
    """busybox plus /data (uid 1000, mode 0750) holding a file, a symlink and a subdir,
    declared as a VOLUME."""
    from cove.runtime.images.hello.archive import Entry, Image, docker_archive, layer_tar

    layer = layer_tar([
        Entry("data", "dir", mode=0o750, uid=1000, gid=1000),
        Entry("data/f", "file", data=b"from the image\n", mode=0o640, uid=1000, gid=50),
        Entry("data/link", "symlink", mode=0o777, target="f"),
        Entry("data/sub", "dir", mode=0o700, uid=1, gid=1),
        Entry("data/sub/g", "file", data=b"deep\n", mode=0o600),
    ])
    image = Image(layers=[busybox_rootfs_tar(), layer],
                  config={"Env": list(DEFAULT_ENV), "Cmd": ["sh"], "Volumes": {"/data": {}}},
                  repo_tags=[VOLUME_IMAGE],
                  history=["ADD busybox rootfs / # cove tests", "COPY data / # cove tests"])
    coved.load(docker_archive(image))
    return VOLUME_IMAGE


def _mount_names(coved: Coved, container: str) -> dict[str, str]:
    _, data = coved.request("GET", f"/containers/{container}/json")
    return {m["Destination"]: m.get("Name", "") for m in data["Mounts"]}


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_a_named_volume_carries_data_from_one_container_to_the_next(cli, request, coved):
    run = request.getfixturevalue(cli)
    name = _unique("carry")
    try:
        wrote = run("run", "--rm", "-v", f"{name}:/v", "busybox", "sh", "-c",
                    "echo kept > /v/file")
        assert wrote.returncode == 0, wrote.stderr
        read = run("run", "--rm", "-v", f"{name}:/v:ro", "busybox", "sh", "-c",
                   "cat /v/file; touch /v/x 2>&1 || true")
        assert read.stdout.splitlines()[0] == "kept"
        assert "Read-only file system" in read.stdout
        status, volume = coved.request("GET", f"/volumes/{name}")
        assert status == 200 and volume["Driver"] == "local"
    finally:
        run("volume", "rm", name)


def test_image_volume_content_is_copied_into_a_new_anonymous_volume(docker, coved, volume_image):
    result = docker("run", "--name", "copyup", volume_image, "sh", "-c",
                    "stat -c '%u:%g %a' /data /data/f /data/sub /data/sub/g; "
                    "cat /data/f; readlink /data/link; cat /data/sub/g")
    try:
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [
            "1000:1000 750", "1000:50 640", "1:1 700", "0:0 600",
            "from the image", "f", "deep"]
        mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", "copyup").stdout)
        assert len(mounts) == 1 and HEX64.match(mounts[0]["Name"])
        assert mounts[0]["Mode"] == "" and mounts[0]["Destination"] == "/data"
    finally:
        docker("rm", "-v", "copyup")


def test_nocopy_and_a_non_empty_volume_get_nothing_from_the_image(docker, volume_image):
    nocopy, filled = _unique("nocopy"), _unique("filled")
    try:
        result = docker("run", "--rm", "-v", f"{nocopy}:/data:nocopy", volume_image,
                        "ls", "-A", "/data")
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
        docker("run", "--rm", "-v", f"{filled}:/v", "busybox", "touch", "/v/mine")
        result = docker("run", "--rm", "-v", f"{filled}:/data", volume_image, "ls", "-A", "/data")
        assert result.stdout == "mine\n"
    finally:
        docker("volume", "rm", nocopy, filled)


def test_rm_v_removes_anonymous_volumes_but_not_named_ones(docker, coved):
    named = _unique("named")
    created = docker("create", "--name", "rmv", "-v", f"{named}:/n", "-v", "/anon",
                     "--mount", "type=volume,dst=/m", "busybox", "true")
    assert created.returncode == 0, created.stderr
    names = _mount_names(coved, "rmv")
    anonymous = [names["/anon"], names["/m"]]
    assert all(HEX64.match(n) for n in anonymous) and names["/n"] == named
    assert docker("rm", "-v", "rmv").returncode == 0
    listed = docker("volume", "ls", "-q").stdout.split()
    assert named in listed
    assert not set(anonymous) & set(listed)
    assert docker("volume", "rm", named).returncode == 0


def test_auto_remove_takes_the_anonymous_volumes_with_it(docker, coved):
    before = set(docker("volume", "ls", "-q").stdout.split())
    assert docker("run", "--rm", "-v", "/anon", "busybox", "true").returncode == 0
    assert set(docker("volume", "ls", "-q").stdout.split()) == before


def test_an_in_use_volume_refuses_rm_even_forced(docker, coved):
    name = _unique("busy")
    cid = docker("create", "--label", f"cove.test={name}", "-v", f"{name}:/v", "busybox",
                 "true").stdout.strip()
    try:
        status, body = coved.request("DELETE", f"/volumes/{name}?force=1")
        assert status == 409
        assert body["message"] == f"remove {name}: volume is in use - [{cid}]"
        result = docker("volume", "rm", "-f", name)
        assert result.returncode == 1
        assert f"remove {name}: volume is in use - [{cid}]" in result.stderr
        # removes cid (and only ours: the daemon is shared), not the volume
        assert docker("container", "prune", "-f", "--filter",
                      f"label=cove.test={name}").returncode == 0
        assert name in docker("volume", "ls", "-q").stdout.split()
    finally:
        docker("rm", "-f", cid)
        docker("volume", "rm", name)


def test_prune_removes_every_unused_volume_and_honours_label_filters(docker, coved):
    keep, used, drop, labelled = (_unique(p) for p in ("keep", "used", "drop", "lab"))
    docker("volume", "create", "--label", "keep=1", keep)
    docker("volume", "create", drop)
    docker("volume", "create", "--label", "team=a", labelled)
    cid = docker("create", "-v", f"{used}:/v", "busybox", "true").stdout.strip()
    docker("run", "--rm", "-v", f"{drop}:/v", "busybox", "sh", "-c", "echo 12345 > /v/f")
    try:
        status, report = coved.request("POST", f"/volumes/prune?filters={_filters(label=['team=a'])}")
        assert (status, report["VolumesDeleted"]) == (200, [labelled])
        status, report = coved.request(
            "POST", f"/volumes/prune?filters={_filters(**{'label!': ['keep']})}")
        assert status == 200
        assert drop in report["VolumesDeleted"] and report["SpaceReclaimed"] >= 6
        assert keep not in report["VolumesDeleted"] and used not in report["VolumesDeleted"]
        left = docker("volume", "ls", "-q").stdout.split()
        assert keep in left and used in left and drop not in left
    finally:
        docker("rm", "-f", cid)
        docker("volume", "rm", keep, used)


def test_a_restarted_container_keeps_its_anonymous_volume(docker, coved, volume_image):
    docker("run", "-d", "--name", "vol-restart", volume_image, "sh", "-c",
           "echo start >> /data/starts; sleep 600")
    try:
        first = _mount_names(coved, "vol-restart")["/data"]
        assert docker("restart", "-t", "0", "vol-restart").returncode == 0
        result = docker("exec", "vol-restart", "cat", "/data/starts")
        assert result.stdout == "start\nstart\n", result
        assert _mount_names(coved, "vol-restart")["/data"] == first
    finally:
        docker("rm", "-f", "-v", "vol-restart")


def test_volumes_and_their_users_survive_a_daemon_restart():
    from tests.support.clis import CLI

    daemon = Coved().start()
    try:
        daemon.load(busybox_archive())
        docker = CLI(["docker"], daemon.env)
        assert docker("volume", "create", "--label", "a=b", "kept").returncode == 0
        created = docker("create", "--name", "user", "-v", "kept:/k", "busybox", "sh", "-c",
                         "echo again >> /k/log; cat /k/log")
        assert created.returncode == 0, created.stderr
        assert docker("start", "-a", "user").stdout == "again\n"
        before = json.loads(docker("volume", "inspect", "kept").stdout)
        daemon.stop(remove_containers=False)
        daemon.start()
        assert json.loads(docker("volume", "inspect", "kept").stdout) == before
        assert docker("volume", "rm", "kept").returncode == 1  # "user" still holds it
        assert docker("start", "-a", "user").stdout == "again\nagain\n"
        assert docker("rm", "user").returncode == 0
        assert docker("volume", "rm", "kept").returncode == 0
    finally:
        daemon.stop()
        daemon.cleanup()


def test_volumes_from_shares_volumes_and_binds_read_only_on_request(docker, coved, tmp_path):
    name = _unique("shared")
    docker("create", "--name", "vf-src", "-v", f"{name}:/v", "-v", f"{tmp_path}:/b",
           "-v", "/anon", "busybox", "true")
    try:
        result = docker("run", "--rm", "--volumes-from", "vf-src", "busybox", "sh", "-c",
                        "echo w > /v/f && echo w > /b/f && echo w > /anon/f && echo ok")
        assert result.stdout == "ok\n", result.stderr
        assert (tmp_path / "f").read_text() == "w\n"
        docker("create", "--name", "vf-ro", "--volumes-from", "vf-src:ro", "busybox", "true")
        mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", "vf-ro").stdout)
        assert {m["Destination"]: (m["RW"], m["Mode"]) for m in mounts} == {
            "/v": (False, ""), "/b": (False, ""), "/anon": (False, "")}
        assert docker("rm", "-v", "vf-ro").returncode == 0  # the shared anonymous one stays
        assert _mount_names(coved, "vf-src")["/anon"] in docker("volume", "ls", "-q").stdout
        result = docker("run", "--rm", "--volumes-from", "nope", "busybox", "true")
        assert result.returncode == 125 and "No such container: nope" in result.stderr
    finally:
        docker("rm", "-f", "vf-ro")
        docker("rm", "-v", "vf-src")
        docker("volume", "rm", name)


def test_the_volume_api_answers_as_dockerd(coved):
    name = _unique("api")
    status, first = coved.request("POST", "/volumes/create", {"Name": name, "Labels": {"k": "v"}})
    assert status == 201
    assert set(first) == {"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options",
                          "Scope"}
    assert (first["Labels"], first["Options"], first["Scope"]) == ({"k": "v"}, None, "local")
    assert first["Mountpoint"] == f"{coved.data_root}/volumes/{name}/_data"
    status, again = coved.request("POST", "/volumes/create", {"Name": name, "Labels": {"x": "y"}})
    assert (status, again) == (201, first)
    status, anonymous = coved.request("POST", "/volumes/create", {})
    assert status == 201 and HEX64.match(anonymous["Name"]) and anonymous["Labels"] is None
    status, listed = coved.request("GET", f"/volumes?filters={_filters(name=[name])}")
    assert (status, listed) == (200, {"Volumes": [first], "Warnings": None})
    status, listed = coved.request("GET", f"/volumes?filters={_filters(label=['k=v'])}")
    assert [v["Name"] for v in listed["Volumes"]] == [name]
    status, body = coved.request("GET", f"/volumes?filters={_filters(bogus=['1'])}")
    assert (status, body["message"]) == (400, "Invalid filter 'bogus'")
    status, listed = coved.request("GET", f"/volumes?filters={_filters(dangling=['true'])}")
    assert name in [v["Name"] for v in listed["Volumes"]]
    for doomed in (name, anonymous["Name"]):
        assert coved.request("DELETE", f"/volumes/{doomed}")[0] == 204
    status, body = coved.request("GET", f"/volumes/{name}")
    assert (status, body["message"]) == (404, f"get {name}: no such volume")
    assert coved.request("DELETE", f"/volumes/{name}")[0] == 404
    assert coved.request("DELETE", f"/volumes/{name}?force=1")[0] == 204


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"Name": "x"}, 400, "create x: volume name is too short, names should be at least two "
                         "alphanumeric characters"),
    ({"Name": "a/b"}, 400, 'create a/b: "a/b" includes invalid characters for a local volume '
                           'name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended '
                           "to pass a host directory, use absolute path"),
    ({"Name": "vd", "Driver": "foo"}, 404,
     'create vd: error looking up volume plugin foo: plugin "foo" not found'),
    ({"Name": "vo", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}}, 501,
     "create vo: options of the local volume driver"),
])
def test_bad_names_drivers_and_driver_options_are_refused(coved, body, status, message):
    got, answer = coved.request("POST", "/volumes/create", body)
    assert got == status and answer["message"].startswith(message)
    assert coved.request("GET", f"/volumes/{body['Name']}")[0] == 404


def test_bad_volume_mounts_fail_the_create_like_dockerd(docker):
    cases = [
        (["-v", "a$b:/x"], 'create a$b: "a$b" includes invalid characters'),
        (["--mount", "type=volume,dst=/m,ro"],
         'invalid mount config for type "volume": must not set ReadOnly mode when using '
         "anonymous volumes"),
        (["--volumes-from", "x:bogus"], "invalid mode: bogus"),
    ]
    for flags, message in cases:
        result = docker("create", *flags, "busybox", "true")
        assert result.returncode != 0 and message in result.stderr, (flags, result.stderr)


def test_inspect_shapes_match_dockerd(coved, docker):
    from tests.support.dockerd import docker as real_docker
    from tests.support.dockerd import ensure_dockerd

    if ensure_dockerd() is None:
        pytest.skip("the reference dockerd is not available")
    name = _unique("shape")
    flags = ["-v", f"{name}:/a", "-v", f"{name}:/r:ro", "-v", "/anon",
             "--mount", f"type=volume,src={name},dst=/m", "busybox", "true"]
    shapes = []
    for run in (real_docker, docker):
        cid = run("create", *flags).stdout.strip()
        assert cid, "create failed"
        try:
            data = json.loads(run("inspect", cid).stdout)[0]
            volume = json.loads(run("volume", "inspect", name).stdout)[0]
        finally:
            run("rm", "-v", cid)
            run("volume", "rm", name)
        mounts = sorted(({**m, "Name": "<anon>" if HEX64.match(m["Name"]) else m["Name"],
                          "Source": m["Source"].rsplit("/volumes/", 1)[1]}
                         for m in data["Mounts"]), key=lambda m: m["Destination"])
        for m in mounts:
            m["Source"] = m["Source"].replace(m["Name"], "<name>") if m["Name"] != "<anon>" \
                else "<anon>"
        shapes.append((mounts, sorted(volume), volume["Labels"], volume["Options"]))
    assert shapes[1] == shapes[0]


def test_cove_volume_commands_print_what_docker_prints(cove, docker):
    a, b = _unique("cli10"), _unique("cli9")
    for argv in (["volume", "create", a], ["volume", "create", "--name", b, "--label", "x=y"]):
        result = cove(*argv)
        assert result.returncode == 0 and result.stdout.strip() in (a, b), result.stderr
    try:
        for args in (["volume", "ls"], ["volume", "ls", "-q"],
                     ["volume", "ls", "--filter", f"name={b}", "--format", "{{json .}}"],
                     ["volume", "ls", "--format", "table {{.Name}}\t{{.Labels}}"],
                     ["volume", "inspect", a, b], ["volume", "inspect", "-f", "{{.Name}}", b]):
            ours, theirs = cove(*args), docker(*args)
            assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), args
        assert cove("volume", "ls").stdout.startswith("DRIVER    VOLUME NAME\n")
        # one failing name per call: after an error coved closes the connection without
        # "Connection: close", and the docker CLI's next request on it may be reset
        for args in (["volume", "rm", "nope-vol"], ["volume", "inspect", "nope-vol"],
                     ["volume", "create", "--name", "x1", "x2"]):
            ours = cove(*args)
            docker("volume", "create", a)
            theirs = docker(*args)
            docker("volume", "create", a)
            assert ours.returncode == theirs.returncode == 1, args
            assert ours.stderr.strip() == theirs.stderr.strip(), args
        prompt = cove("volume", "prune", input="n\n")
        assert prompt.stdout == ("WARNING! This will remove all local volumes not used by at "
                                 "least one container.\nAre you sure you want to continue? "
                                 "[y/N] ")
        pruned = cove("volume", "prune", "-f", "--filter", "label=x=y")
        assert pruned.stdout == f"Deleted Volumes:\n{b}\n\nTotal reclaimed space: 0B\n"
    finally:
        docker("volume", "rm", "-f", a, b)
