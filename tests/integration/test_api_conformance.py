"""The Engine API answers real clients get, checked on coved and on the reference dockerd
with the same assertions: image loads that fail, rmi of a parent image, routes a daemon
without swarm or plugins still answers, keep-alive connections after a 404, and the shape
of ``GET /system/df``. Clients are the ones users run: http.client over the Unix socket,
docker-py and the docker CLI."""

from __future__ import annotations

import gc
import http.client
import io
import json
import socket
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import docker
import pytest

from tests.support.clis import DOCKER
from tests.support.daemons import daemon_env
from tests.support.images import busybox_archive

NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
                 '"docker swarm join" to connect this node to swarm and try again.')


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self._path)


@dataclass
class Daemon:
    """One daemon under test, with what this test made there (removed at teardown)."""

    kind: str
    client: docker.DockerClient
    env: dict[str, str]
    socket_path: str
    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def name(self, what: str, kind: str = "containers") -> str:
        made = f"conformance-{what}-{uuid.uuid4().hex[:10]}"
        getattr(self, kind).append(made)
        return made

    def cli(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        if DOCKER is None:
            pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
        done = subprocess.run([DOCKER, *args], env=self.env, input=stdin, capture_output=True,
                              timeout=120)
        return subprocess.CompletedProcess(done.args, done.returncode,
                                           done.stdout.decode(errors="replace"),
                                           done.stderr.decode(errors="replace"))

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        conn = UnixConnection(self.socket_path)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type") or "", resp.read()
        finally:
            conn.close()

    def build(self, tag: str, dockerfile: str) -> str:
        image, _logs = self.client.images.build(fileobj=io.BytesIO(dockerfile.encode()),
                                                tag=tag, rm=True)
        self.images.append(tag)
        return str(image.id)


@pytest.fixture(params=["coved", "dockerd"])
def daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    env = daemon_env(request, request.param)
    host = env["DOCKER_HOST"]
    client = docker.DockerClient(base_url=host, version="1.41", timeout=60)
    target = Daemon(request.param, client, {**env, "DOCKER_BUILDKIT": "0"},
                    host.removeprefix("unix://"))
    try:
        yield target
    finally:
        for name in target.containers:
            try:
                client.api.remove_container(name, force=True)
            except docker.errors.NotFound:
                pass
        for name in reversed(target.images):  # children first: a parent would be a conflict
            try:
                client.api.remove_image(name, force=True)
            except docker.errors.NotFound:
                pass
        for name in target.volumes:
            try:
                client.api.remove_volume(name, force=True)
            except docker.errors.NotFound:
                pass
        client.close()
        _collect_docker_py_streams()


def _collect_docker_py_streams() -> None:
    """docker-py raises ImageLoadError and BuildError from the middle of a response
    stream it leaves open (the exception's traceback keeps it): collect those here, where
    their sockets closing is expected, not in whichever later test the collector runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _stream_lines(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


# 21: a load that fails answers 200 and ends its stream with the error

def _truncated_archive() -> bytes:
    archive = busybox_archive(tag=f"conformance-truncated:{uuid.uuid4().hex[:8]}")
    return archive[: len(archive) // 2]


BROKEN_ARCHIVES = {
    "garbage": (lambda: b"this is not a tar archive" * 100,
                "Error processing tar file(exit status 1): archive/tar: invalid tar header"),
    "truncated": (_truncated_archive, "Error processing tar file(exit status 1): unexpected EOF"),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_ARCHIVES))
def test_a_broken_archive_loads_with_200_and_the_error_in_the_stream(
        daemon: Daemon, broken: str) -> None:
    make, message = BROKEN_ARCHIVES[broken]
    status, content_type, raw = daemon.request("POST", "/v1.41/images/load?quiet=1", make(),
                                               {"Content-Type": "application/x-tar"})
    assert (status, content_type) == (200, "application/json")
    assert _stream_lines(raw)[-1] == {"errorDetail": {"message": message}, "error": message}


@pytest.mark.parametrize("broken", sorted(BROKEN_ARCHIVES))
def test_docker_py_raises_image_load_error_and_the_cli_exits_1(
        daemon: Daemon, broken: str) -> None:
    make, message = BROKEN_ARCHIVES[broken]
    with pytest.raises(docker.errors.ImageLoadError, match=r"Error processing tar file"):
        daemon.client.images.load(make())
    done = daemon.cli("load", stdin=make())
    assert done.returncode == 1 and message in done.stderr


# 23: a forced rmi of an image with children is a hard conflict

def test_rmi_force_of_an_image_with_children_is_a_conflict(daemon: Daemon) -> None:
    parent_tag = daemon.name("parent", "images")
    child_tag = daemon.name("child", "images")
    daemon.images.remove(parent_tag)
    daemon.images.remove(child_tag)
    parent = daemon.build(parent_tag, "FROM busybox\nLABEL conformance=parent\n")
    daemon.build(child_tag, f"FROM {parent_tag}\nLABEL conformance=child\n")
    expected = (f"conflict: unable to delete {parent[7:19]} (cannot be forced) - "
                "image has dependent child images")

    with pytest.raises(docker.errors.APIError) as raised:
        daemon.client.api.remove_image(parent, force=True)
    assert raised.value.response.status_code == 409
    assert raised.value.explanation == expected
    for args in (("rmi", "-f", parent), ("rmi", parent), ("rmi", "-f", parent[7:19])):
        done = daemon.cli(*args)
        assert (done.returncode, done.stderr.strip()) == (1, f"Error response from daemon: "
                                                              f"{expected}"), args
    # by name, a forced rmi only untags: the image stays for its child
    done = daemon.cli("rmi", "-f", parent_tag)
    assert (done.returncode, done.stdout) == (0, f"Untagged: {parent_tag}:latest\n")
    assert daemon.client.api.inspect_image(parent)["Id"] == parent
    # the child goes, and takes its untagged parent with it
    done = daemon.cli("rmi", child_tag)
    assert done.returncode == 0 and f"Deleted: {parent}" in done.stdout
    with pytest.raises(docker.errors.ImageNotFound):
        daemon.client.api.inspect_image(parent)


# 24: unknown routes, swarm and plugins

def test_an_unrouted_request_body_does_not_become_the_next_request(daemon: Daemon) -> None:
    conn = UnixConnection(daemon.socket_path)
    try:
        body = json.dumps({"Name": "x", "Pad": "GET /_ping HTTP/1.1\r\n" * 4000}).encode()
        for method, path in (("POST", "/v1.41/conformance/nosuch"),
                             ("PUT", "/v1.41/containers/json")):
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            assert (resp.status, json.loads(resp.read())) == \
                (404, {"message": "page not found"}), path
            conn.request("GET", "/v1.41/version")  # the same connection
            resp = conn.getresponse()
            assert resp.status == 200 and "ApiVersion" in json.loads(resp.read())
    finally:
        conn.close()


def test_docker_network_create_gets_no_unsolicited_response(daemon: Daemon) -> None:
    """Cove has no networks yet; whatever it answers, it answers once per request."""
    name = daemon.name("net")
    done = daemon.cli("network", "create", name)
    try:
        assert "Unsolicited response" not in done.stderr
    finally:
        if done.returncode == 0:
            daemon.cli("network", "rm", name)


SWARM_ANSWERS = [
    ("GET", "/swarm", 503, NOT_A_MANAGER),
    ("GET", "/swarm/unlockkey", 503, NOT_A_MANAGER),
    ("POST", "/swarm/unlock", 503, NOT_A_MANAGER),
    ("POST", "/swarm/leave", 503, "This node is not part of a swarm"),
    ("POST", "/swarm/update", 400,
     "invalid swarm version '': strconv.ParseUint: parsing \"\": invalid syntax"),
    ("GET", "/nodes", 503, NOT_A_MANAGER),
    ("GET", "/nodes/n1", 503, NOT_A_MANAGER),
    ("DELETE", "/nodes/n1", 503, NOT_A_MANAGER),
    ("GET", "/services", 503, NOT_A_MANAGER),
    ("GET", "/services/s1", 503, NOT_A_MANAGER),
    ("POST", "/services/create", 503, NOT_A_MANAGER),
    ("POST", "/services/s1/update?version=2", 503, NOT_A_MANAGER),
    ("DELETE", "/services/s1", 503, NOT_A_MANAGER),
    ("GET", "/tasks", 503, NOT_A_MANAGER),
    ("GET", "/tasks/t1", 503, NOT_A_MANAGER),
    ("GET", "/secrets", 503, NOT_A_MANAGER),
    ("POST", "/secrets/create", 503, NOT_A_MANAGER),
    ("POST", "/secrets/s1/update", 400, "invalid secret version"),
    ("GET", "/configs", 503, NOT_A_MANAGER),
    ("DELETE", "/configs/c1", 503, NOT_A_MANAGER),
    ("GET", "/plugins/conformance/nosuch:1/json", 404,
     'plugin "conformance/nosuch:1" not found'),
    ("DELETE", "/plugins/conformance-nosuch", 404, 'plugin "conformance-nosuch" not found'),
    ("POST", "/plugins/conformance-nosuch/disable", 404,
     'plugin "conformance-nosuch" not found'),
    ("POST", "/plugins/conformance-nosuch/enable?timeout=0", 404,
     'plugin "conformance-nosuch" not found'),
    ("GET", '/plugins?filters={"bad":["x"]}', 400, "Invalid filter 'bad'"),
]


def test_swarm_and_plugin_routes_answer_json_as_dockerd_without_swarm(daemon: Daemon) -> None:
    for method, path, status, message in SWARM_ANSWERS:
        body = b"{}" if method == "POST" else None
        got, content_type, raw = daemon.request(method, "/v1.41" + path, body,
                                                {"Content-Type": "application/json"})
        assert (got, content_type, json.loads(raw)) == \
            (status, "application/json", {"message": message}), path
    assert daemon.request("GET", "/v1.41/plugins")[:2] == (200, "application/json")
    assert json.loads(daemon.request("GET", "/v1.41/plugins")[2]) == []


def test_swarm_and_plugin_commands_print_what_dockerd_gives(daemon: Daemon) -> None:
    for args in (("node", "ls"), ("service", "ls"), ("secret", "ls"), ("config", "ls"),
                 ("stack", "ls")):
        done = daemon.cli(*args)
        assert (done.returncode, done.stderr.strip()) == (
            1, f"Error response from daemon: {NOT_A_MANAGER}"), args
    done = daemon.cli("swarm", "leave")
    assert (done.returncode, done.stderr.strip()) == (
        1, "Error response from daemon: This node is not part of a swarm")
    done = daemon.cli("plugin", "ls")
    assert done.returncode == 0 and done.stdout.split() == ["ID", "NAME", "DESCRIPTION",
                                                             "ENABLED"]
    done = daemon.cli("plugin", "inspect", "conformance-nosuch")
    assert done.returncode == 1
    assert 'Error response from daemon: plugin "conformance-nosuch" not found' in done.stderr


# 25: GET /system/df

# the fields of df's objects that are objects themselves (not maps such as Labels, whose
# keys are the user's); NetworkSettings is left to the networking issue
_DF_STRUCTS = {"HostConfig", "Mounts", "UsageData"}


def _key_shape(value: dict[str, Any]) -> dict[str, Any]:
    """The keys of an object, and of the objects in its struct fields."""
    shape: dict[str, Any] = {}
    for key, item in value.items():
        if key == "NetworkSettings":
            continue
        if key in _DF_STRUCTS and isinstance(item, dict):
            shape[key] = _key_shape(item)
        elif key in _DF_STRUCTS and isinstance(item, list) and item:
            shape[key] = [_key_shape(item[0])]
        else:
            shape[key] = None
    return shape


def _system_df(daemon: Daemon) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(answer, the container that never wrote, the one that wrote a file), made here."""
    volume = daemon.name("vol", "volumes")
    idle = daemon.name("idle")
    daemon.client.api.create_container("busybox", ["true"], name=idle,
                                       host_config=daemon.client.api.create_host_config(
                                           binds=[f"{volume}:/data"]))
    wrote = daemon.name("wrote")
    daemon.client.containers.run("busybox", ["sh", "-c", "echo hi > /file"], name=wrote)
    status, content_type, raw = daemon.request("GET", "/v1.41/system/df")
    assert (status, content_type) == (200, "application/json")
    answer = json.loads(raw)
    by_name = {c["Names"][0][1:]: c for c in answer["Containers"]}
    return answer, by_name[idle], by_name[wrote]


def test_system_df_has_dockerds_keys_and_sizes_only_when_not_zero(daemon: Daemon) -> None:
    answer, idle, wrote = _system_df(daemon)
    assert set(answer) == {"LayersSize", "Images", "Containers", "Volumes", "BuildCache",
                           "BuilderSize"}
    assert isinstance(answer["BuilderSize"], int)
    assert "SizeRw" not in idle and wrote["SizeRw"] == 3
    assert wrote["SizeRootFs"] == idle["SizeRootFs"] + 3
    # dockerd 20.10 (API 1.41) answers the same whatever ?type= asks
    for kind in ("container", "image", "volume", "build-cache"):
        status, _type, raw = daemon.request("GET", f"/v1.41/system/df?type={kind}")
        assert status == 200 and set(json.loads(raw)) == set(answer)
    done = daemon.cli("system", "df")
    assert done.returncode == 0 and "Build Cache" in done.stdout


def test_system_df_key_sets_are_dockerds(coved: Any, reference_dockerd: dict[str, str]) -> None:
    """Every object of coved's answer has the keys of the same object in dockerd's."""
    shapes = {}
    for kind in ("coved", "dockerd"):
        host = coved.host if kind == "coved" else reference_dockerd["DOCKER_HOST"]
        env = coved.env if kind == "coved" else reference_dockerd
        client = docker.DockerClient(base_url=host, version="1.41", timeout=60)
        daemon = Daemon(kind, client, env, host.removeprefix("unix://"))
        try:
            answer, idle, wrote = _system_df(daemon)
            busybox = next(i for i in answer["Images"] if "busybox:latest" in
                           (i["RepoTags"] or []))
            volume = next(v for v in answer["Volumes"] if v["Name"] == daemon.volumes[0])
            shapes[kind] = {"top": set(answer), "idle": _key_shape(idle),
                            "wrote": _key_shape(wrote), "image": _key_shape(busybox),
                            "volume": _key_shape(volume)}
        finally:
            for name in daemon.containers:
                client.api.remove_container(name, force=True)
            for name in daemon.volumes:
                client.api.remove_volume(name, force=True)
            client.close()
            _collect_docker_py_streams()
    assert shapes["coved"] == shapes["dockerd"]


# 7: build errors before the first step are HTTP errors; a failed step ends the stream

def _dockerfile_context(dockerfile: str) -> io.BytesIO:
    import tarfile

    data = dockerfile.encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    out.seek(0)
    return out


@pytest.mark.parametrize(("dockerfile", "options", "message"), [
    ("FROM busybox\nNOSUCHCMD x\n", {},
     "dockerfile parse error line 2: unknown instruction: NOSUCHCMD"),
    ("FROM busybox AS first\nRUN true\n", {"target": "nosuch"},
     "failed to reach build target nosuch in Dockerfile"),
    ("", {}, "the Dockerfile (Dockerfile) cannot be empty"),
    ("RUN true\nFROM busybox\n", {}, "no build stage in current context"),
])
def test_a_build_that_fails_before_its_first_step_is_a_400(
        daemon: Daemon, dockerfile: str, options: dict[str, str], message: str) -> None:
    tag = daemon.name("early", "images")
    for quiet in (False, True):
        with pytest.raises(docker.errors.APIError) as raised:
            daemon.client.images.build(fileobj=_dockerfile_context(dockerfile),
                                       custom_context=True, tag=tag, quiet=quiet, **options)
        assert not isinstance(raised.value, docker.errors.BuildError)
        assert raised.value.response.status_code == 400
        assert message in str(raised.value.explanation)
        raised.value.response.close()
    done = daemon.cli("build", *[f"--{k}={v}" for k, v in options.items()], "-",
                      stdin=dockerfile.encode())
    assert done.returncode == 1 and "Error response from daemon: " in done.stderr
    assert message in done.stderr


def test_a_failed_build_step_is_a_build_error_in_a_200_stream(daemon: Daemon) -> None:
    tag = daemon.name("failed", "images")
    with pytest.raises(docker.errors.BuildError) as raised:
        daemon.client.images.build(fileobj=_dockerfile_context("FROM busybox\nRUN exit 3\n"),
                                   custom_context=True, tag=tag)
    assert str(raised.value) == "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    # quiet, the steps held back are shown before the error, and the CLI exits with its code
    done = daemon.cli("build", "-q", "-", stdin=b"FROM busybox\nRUN exit 3\n")
    assert (done.returncode, done.stdout) == (3, "")
    assert "Step 2/2 : RUN exit 3" in done.stderr
    assert "The command '/bin/sh -c exit 3' returned a non-zero code: 3" in done.stderr


# 9: image inspect and history of a local build

CONFIG_KEYS = {"Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
               "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir",
               "Entrypoint", "OnBuild", "Labels"}


def test_a_built_image_inspects_and_has_history_as_dockerds(daemon: Daemon) -> None:
    tag = daemon.name("inspected", "images")
    image_id = daemon.build(tag, "FROM busybox\nENV GREETING=hi\nVOLUME /data\nWORKDIR /w\n"
                                 "RUN echo hi > f\nLABEL a=b\n")
    info = daemon.client.api.inspect_image(image_id)
    assert set(info["Config"]) == CONFIG_KEYS
    assert set(info["ContainerConfig"]) == CONFIG_KEYS
    assert info["Config"]["Volumes"] == {"/data": {}} and info["Config"]["OnBuild"] is None
    assert set(daemon.client.api.inspect_image("busybox")["Config"]) == CONFIG_KEYS
    assert info["Metadata"]["LastTagTime"] != "0001-01-01T00:00:00Z"

    history = daemon.client.api.history(image_id)
    busybox = daemon.client.api.inspect_image("busybox")["Id"]
    assert "<missing>" not in [entry["Id"] for entry in history[:6]]
    assert (history[0]["Id"], history[0]["Tags"]) == (image_id, [f"{tag}:latest"])
    assert history[5]["Id"] == busybox and "busybox:latest" in history[5]["Tags"]
    assert [entry["Tags"] for entry in history[1:5]] == [None] * 4


HISTORY_DOCKERFILE = """FROM busybox
ARG V=1
ENV A=1 B="two words"
ENV LEGACY spaced value
LABEL x=y "z"="w v"
VOLUME /data /more
VOLUME ["/j"]
WORKDIR /w
WORKDIR sub
SHELL ["/bin/sh", "-c"]
CMD echo "hi there"
ENTRYPOINT ["/bin/sh", "-c"]
EXPOSE 80/tcp 90
USER nobody
STOPSIGNAL SIGUSR1
ONBUILD RUN true
MAINTAINER me
"""


def test_history_says_each_config_step_as_dockerd_writes_it(daemon: Daemon) -> None:
    tag = daemon.name("history", "images")
    image_id = daemon.build(tag, HISTORY_DOCKERFILE)
    created_by = [entry["CreatedBy"] for entry in daemon.client.api.history(image_id)[:16]]
    assert created_by == [f"/bin/sh -c #(nop) {text}" for text in (
        " MAINTAINER me", " ONBUILD RUN true", " STOPSIGNAL SIGUSR1", " USER nobody",
        " EXPOSE 80/tcp 90", ' ENTRYPOINT ["/bin/sh" "-c"]',
        ' CMD ["/bin/sh" "-c" "echo \\"hi there\\""]', " SHELL [/bin/sh -c]",
        "WORKDIR /w/sub", "WORKDIR /w", " VOLUME [/j]", " VOLUME [/data /more]",
        " LABEL x=y z=w v", " ENV LEGACY=spaced value", " ENV A=1 B=two words", " ARG V=1")]
