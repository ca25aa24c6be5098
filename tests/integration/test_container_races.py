"""Lifecycle calls that scripts chain: kill then rm, wait on a restarting container, attach
for the logs so far, a detached exec. Each runs against coved and the reference dockerd,
with the client a user would use (docker-py, the docker CLI), and must answer the same."""

from __future__ import annotations

import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import docker
import pytest

from tests.support.clis import DOCKER
from tests.support.daemons import api_socket, daemon_env, docker_on


@dataclass
class Daemon:
    """One daemon under test: its docker-py client, the env for the docker CLI, and the
    containers this test made there (removed at teardown)."""

    kind: str
    client: docker.DockerClient
    env: dict[str, str]
    made: list[str] = field(default_factory=list)

    def name(self, what: str) -> str:
        made = f"races-{what}-{uuid.uuid4().hex[:10]}"
        self.made.append(made)
        return made

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return docker_on(self.env, *args, timeout=timeout)


@pytest.fixture(params=["coved", "dockerd"])
def daemon(request: pytest.FixtureRequest) -> Iterator[Daemon]:
    env = daemon_env(request, request.param)
    host = env["DOCKER_HOST"]
    client = docker.DockerClient(base_url=host, version="1.41", timeout=30)
    target = Daemon(request.param, client, env)
    try:
        yield target
    finally:
        for made in target.made:
            try:
                client.api.remove_container(made, force=True)
            except docker.errors.NotFound:
                pass
        client.close()


def test_kill_answers_once_the_container_is_exited(daemon: Daemon) -> None:
    """run -d, kill, rm: rm never meets a running container, inspect right after kill
    shows it exited (dockerd's Kill waits for the exit before answering)."""
    rounds = 200 if daemon.kind == "coved" else 20
    conflicts = []
    for _ in range(rounds):
        container = daemon.client.containers.run("busybox", ["sleep", "60"], detach=True,
                                                 name=daemon.name("kill"))
        container.kill()
        state = daemon.client.api.inspect_container(container.id)["State"]
        try:
            container.remove()
        except docker.errors.APIError as exc:
            conflicts.append(str(exc))
        assert (state["Running"], state["Status"], state["ExitCode"]) == (False, "exited", 137)
    assert conflicts == []


def test_kill_then_rm_with_the_docker_cli(daemon: Daemon) -> None:
    for _ in range(5):
        name = daemon.name("clikill")
        assert daemon.cli("run", "-d", "--name", name, "busybox", "sleep", "60").returncode == 0
        assert daemon.cli("kill", name).returncode == 0
        removed = daemon.cli("rm", name)
        assert (removed.returncode, removed.stderr) == (0, "")


def test_stop_answers_once_the_container_is_exited(daemon: Daemon) -> None:
    for _ in range(10):
        container = daemon.client.containers.run("busybox", ["sleep", "60"], detach=True,
                                                 name=daemon.name("stop"))
        container.stop(timeout=0)
        state = daemon.client.api.inspect_container(container.id)["State"]
        assert (state["Running"], state["Status"]) == (False, "exited")
        container.remove()


def test_kill_with_a_caught_signal_returns_at_once(daemon: Daemon) -> None:
    """A signal the process ignores: kill answers without waiting for an exit that never
    comes, and the container keeps running."""
    container = daemon.client.containers.run(
        "busybox", ["sh", "-c", "trap '' USR1; while true; do sleep 0.1; done"],
        detach=True, name=daemon.name("usr1"))
    container.kill(signal="USR1")
    assert daemon.client.api.inspect_container(container.id)["State"]["Running"] is True


@pytest.mark.parametrize("policy", ["always", "on-failure", "unless-stopped"])
def test_wait_returns_the_first_exit_of_a_restarting_container(daemon: Daemon,
                                                                policy: str) -> None:
    name = daemon.name("wait")
    assert daemon.cli("run", "-d", "--name", name, "--restart", policy, "busybox",
                      "sh", "-c", "sleep 1; exit 3").returncode == 0
    waited = daemon.cli("wait", name, timeout=30)
    assert (waited.returncode, waited.stdout) == (0, "3\n")


def _logged(daemon: Daemon, cid: str, wanted: bytes) -> None:
    container = daemon.client.containers.get(cid)
    deadline = time.monotonic() + 20
    while wanted not in container.logs(stdout=True, stderr=True):
        if time.monotonic() > deadline:
            pytest.fail(f"{wanted!r} never logged")
        time.sleep(0.05)


def _attach_raw(daemon: Daemon, cid: str, query: str) -> bytes:
    """POST /attach without an upgrade, read to the end: the stream the daemon sent.
    (docker-py's ``attach(stream=False)`` reads the socket past its HTTP buffer, so it can
    lose bytes that came with the headers.)"""
    sock = api_socket(daemon.env)
    try:
        sock.sendall(f"POST /v1.41/containers/{cid}/attach?{query} HTTP/1.1\r\n"
                     "Host: docker\r\nContent-Length: 0\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    finally:
        sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"200", head
    return body


def _frames(stream: bytes) -> list[tuple[int, bytes]]:
    found = []
    while stream:
        kind, size = struct.unpack(">BxxxI", stream[:8])
        found.append((kind, stream[8:8 + size]))
        stream = stream[8 + size:]
    return found


def test_attach_without_stream_returns_the_logs_so_far(daemon: Daemon) -> None:
    container = daemon.client.containers.run(
        "busybox", ["sh", "-c", "echo out; sleep 0.2; echo err >&2; sleep 60"], detach=True,
        name=daemon.name("attach"))
    _logged(daemon, container.id, b"err")
    both = _attach_raw(daemon, container.id, "stream=0&logs=1&stdout=1&stderr=1")
    assert _frames(both) == [(1, b"out\n"), (2, b"err\n")]
    stdout = _attach_raw(daemon, container.id, "stream=0&logs=1&stdout=1")
    assert _frames(stdout) == [(1, b"out\n")]
    assert _attach_raw(daemon, container.id, "stream=0&logs=0&stdout=1&stderr=1") == b""
    # docker-py's way of asking returns too. It reads the socket past its HTTP buffer, so
    # against dockerd it loses what came with the headers about half the time; coved waits
    # until the headers were read before it sends the stream
    replayed = container.attach(stream=False, logs=True)
    if daemon.kind == "coved":
        assert replayed == b"out\nerr\n"


def test_detached_exec_start_answers_with_an_empty_body(daemon: Daemon) -> None:
    container = daemon.client.containers.run("busybox", ["sleep", "60"], detach=True,
                                             name=daemon.name("exec"))
    exec_id = daemon.client.api.exec_create(container.id, ["true"])["Id"]
    assert daemon.client.api.exec_start(exec_id, detach=True) == ""


def test_wait_begun_while_restarting_returns_when_the_container_is_stopped(
        daemon: Daemon) -> None:
    name = daemon.name("restarting")
    assert daemon.cli("run", "-d", "--name", name, "--restart", "always", "busybox",
                      "sh", "-c", "exit 3").returncode == 0
    deadline = time.monotonic() + 30
    while not daemon.client.api.inspect_container(name)["State"]["Restarting"]:
        assert time.monotonic() < deadline, "never seen restarting"
        time.sleep(0.02)
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    waiting = subprocess.Popen([DOCKER, "wait", name], env=daemon.env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert daemon.cli("stop", name).returncode == 0
        out, _ = waiting.communicate(timeout=30)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert (waiting.returncode, out) == (0, "3\n")
