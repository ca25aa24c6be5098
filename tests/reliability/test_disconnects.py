"""Clients that go away mid-stream leave nothing behind in coved (issue 12).

For each stream (exec, attach, logs -f, events, cp and export), N clients on raw sockets
start it, are dropped in the middle, and coved's threads, open fds, child processes (exec
and tar helpers) and mounts must come back to where they were. Each test has a coved of its
own: another test's work would move these counts. ``COVE_RELIABILITY=full`` runs 200
clients a stream instead of 5.

An exec whose client hung up runs on, as under dockerd 20.10 (checked on the reference
dockerd too); what coved held for it goes when it ends.
"""

from __future__ import annotations

import json
import os
import pty
import secrets
import select
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.reliability.scale import rounds
from tests.support.clis import DOCKER
from tests.support.coved import Coved, api_request

CLIENTS = rounds(5, 200)
SETTLE = 10.0  # seconds coved may take to let go, on a loaded CI machine (1 s when idle)


@dataclass(frozen=True)
class Usage:
    threads: int
    fds: int
    children: int
    mounts: int

    def over(self, base: Usage) -> dict[str, int]:
        """What is held above ``base``, by kind (empty when nothing is)."""
        diff = {"threads": self.threads - base.threads, "fds": self.fds - base.fds,
                "children": self.children - base.children, "mounts": self.mounts - base.mounts}
        return {kind: n for kind, n in diff.items() if n > 0}


def _children(pid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # zombies too: a helper nobody waited for
            count += 1
    return count


def _usage(daemon: Coved) -> Usage:
    assert daemon.proc is not None
    pid = daemon.proc.pid
    with open(f"/proc/{pid}/status") as f:
        threads = next(int(line.split()[1]) for line in f if line.startswith("Threads:"))
    with open("/proc/self/mountinfo") as f:
        mounts = sum(1 for line in f if line.split()[4].startswith(daemon.root + "/"))
    return Usage(threads, len(os.listdir(f"/proc/{pid}/fd")), _children(pid), mounts)


def _steady_usage(daemon: Coved) -> Usage:
    """The counts once they stop moving (a finished request's thread is still ending)."""
    deadline = time.monotonic() + SETTLE
    last = _usage(daemon)
    steady = 0
    while steady < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
        now = _usage(daemon)
        steady = steady + 1 if now == last else 0
        last = now
    return last


def _released(daemon: Coved, base: Usage) -> tuple[dict[str, int], float]:
    """(what is still held above ``base`` once coved settled or the deadline passed,
    seconds it took)."""
    start = time.monotonic()
    while True:
        held = _usage(daemon).over(base)
        if not held or time.monotonic() - start > SETTLE:
            return held, time.monotonic() - start
        time.sleep(0.05)


def _connect(path: str, method: str, target: str, body: object = None,
             upgrade: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(path)
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} /v1.41{target} HTTP/1.1\r\nHost: docker\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    if upgrade:
        head += "Connection: Upgrade\r\nUpgrade: tcp\r\n"
    sock.sendall(head.encode() + b"\r\n" + data)
    return sock


def _read_until(sock: socket.socket, marker: bytes, limit: int = 1 << 20) -> bytes:
    """What the stream sent up to ``marker`` (the stream has started: headers and more)."""
    seen = b""
    while marker not in seen:
        chunk = sock.recv(65536)
        assert chunk, f"stream ended before {marker!r}: {seen[-300:]!r}"
        seen += chunk
        assert len(seen) < limit, f"no {marker!r} in {limit} bytes"
    return seen


def _status(seen: bytes) -> int:
    return int(seen.split(b" ", 2)[1])


@pytest.fixture
def silent(private_coved: Coved) -> Iterator[str]:
    """A running container that says ``ready`` once, then nothing (so only a hang-up can
    end a stream of it)."""
    name = "disc-" + secrets.token_hex(4)
    status, body = private_coved.request(
        "POST", f"/containers/create?name={name}",
        {"Image": "busybox", "Cmd": ["sh", "-c", "echo ready; exec sleep 600"]})
    assert status == 201, body
    status, body = private_coved.request("POST", f"/containers/{name}/start")
    assert status == 204, body
    deadline = time.monotonic() + 30
    logs = b""
    while b"ready" not in logs and time.monotonic() < deadline:
        _, logs = private_coved.request("GET", f"/containers/{name}/logs?stdout=1")
        time.sleep(0.05)
    assert b"ready" in logs
    try:
        yield name
    finally:
        private_coved.request("DELETE", f"/containers/{name}?force=1")


def _drop_mid_stream(daemon: Coved, start: Callable[[], socket.socket]) -> None:
    """One warm-up client, then the counts, then CLIENTS clients started together and all
    dropped; coved must let go of everything they held."""
    start().close()
    base = _steady_usage(daemon)
    clients = [start() for _ in range(CLIENTS)]
    during = _usage(daemon).over(base)
    for client in clients:
        client.close()
    held, took = _released(daemon, base)
    print(f"{CLIENTS} clients held {during}; after they left: {held or 'nothing'} "
          f"in {took:.2f}s")
    assert not held, f"{CLIENTS} dropped clients left {held} behind (base {base})"


@pytest.fixture
def chatty(private_coved: Coved) -> Iterator[str]:
    """A running container that writes all the time (so streams of it end on a failed
    send, not only on a hang-up)."""
    name = "disc-chatty-" + secrets.token_hex(4)
    status, body = private_coved.request(
        "POST", f"/containers/create?name={name}",
        {"Image": "busybox", "Cmd": ["sh", "-c", "while true; do echo ready; usleep 10000; done"]})
    assert status == 201, body
    assert private_coved.request("POST", f"/containers/{name}/start")[0] == 204
    try:
        yield name
    finally:
        private_coved.request("DELETE", f"/containers/{name}?force=1")


@pytest.fixture
def created(private_coved: Coved) -> Iterator[str]:
    """A container created and never started: attaches to it wait for its start."""
    name = "disc-created-" + secrets.token_hex(4)
    status, body = private_coved.request("POST", f"/containers/create?name={name}",
                                         {"Image": "busybox", "Cmd": ["true"]})
    assert status == 201, body
    try:
        yield name
    finally:
        private_coved.request("DELETE", f"/containers/{name}?force=1")


@pytest.mark.parametrize("container_kind", ["silent", "chatty", "created"])
def test_dropped_attach_clients_leave_nothing_behind(private_coved: Coved,
                                                     request: pytest.FixtureRequest,
                                                     container_kind: str) -> None:
    container = request.getfixturevalue(container_kind)

    def start() -> socket.socket:
        sock = _connect(private_coved.socket, "POST",
                        f"/containers/{container}/attach?stream=1&stdin=1&stdout=1&stderr=1",
                        upgrade=True)
        assert _status(_read_until(sock, b"\r\n\r\n")) == 101
        return sock

    _drop_mid_stream(private_coved, start)


@pytest.mark.parametrize("container_kind", ["silent", "chatty"])
def test_dropped_log_followers_leave_nothing_behind(private_coved: Coved,
                                                    request: pytest.FixtureRequest,
                                                    container_kind: str) -> None:
    container = request.getfixturevalue(container_kind)

    def start() -> socket.socket:
        sock = _connect(private_coved.socket, "GET",
                        f"/containers/{container}/logs?follow=1&stdout=1&stderr=1&tail=1")
        assert _status(_read_until(sock, b"ready")) == 200
        return sock

    _drop_mid_stream(private_coved, start)


def test_dropped_event_listeners_leave_nothing_behind(private_coved: Coved) -> None:
    def start() -> socket.socket:
        sock = _connect(private_coved.socket, "GET", "/events")
        assert _status(_read_until(sock, b"\r\n\r\n")) == 200
        return sock

    _drop_mid_stream(private_coved, start)


@pytest.mark.parametrize("endpoint", ["archive?path=/", "export"])
def test_dropped_copies_leave_nothing_behind(private_coved: Coved, silent: str,
                                             endpoint: str) -> None:
    """A tar far bigger than the socket's buffers: the tar helper is mid-way when the
    client goes, and must not stay blocked on its pipe (nor an export's mount stay)."""
    status, body = private_coved.request("POST", f"/containers/{silent}/exec", {
        "Cmd": ["dd", "if=/dev/zero", "of=/big", "bs=1048576", "count=32"]})
    assert status == 201, body
    status, _ = private_coved.request("POST", f"/exec/{body['Id']}/start", {"Detach": False})
    assert status == 200
    deadline = time.monotonic() + 30
    while private_coved.request("GET", f"/exec/{body['Id']}/json")[1]["Running"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    def start() -> socket.socket:
        sock = _connect(private_coved.socket, "GET", f"/containers/{silent}/{endpoint}")
        seen = _read_until(sock, b"\r\n\r\n")
        assert _status(seen) == 200
        while len(seen) < 256 << 10:  # the tar has begun
            chunk = sock.recv(65536)
            assert chunk
            seen += chunk
        return sock

    _drop_mid_stream(private_coved, start)


def _exec_body(gate: str, tty: bool) -> dict[str, object]:
    return {"Cmd": ["sh", "-c", f"echo started; while [ ! -e {gate} ]; do sleep 0.1; done"],
            "AttachStdin": tty, "AttachStdout": True, "AttachStderr": True, "Tty": tty}


def _start_exec(path: str, container: str, body: dict[str, object]) -> tuple[str, socket.socket]:
    status, created = api_request(path, "POST", f"/containers/{container}/exec", body)
    assert status == 201, created
    sock = _connect(path, "POST", f"/exec/{created['Id']}/start",
                    {"Detach": False, "Tty": body["Tty"]}, upgrade=True)
    assert _status(_read_until(sock, b"started")) == 101
    return created["Id"], sock


def _exec_state(path: str, eid: str) -> tuple[bool, int | None]:
    status, body = api_request(path, "GET", f"/exec/{eid}/json")
    assert status == 200, body
    return body["Running"], body["ExitCode"]


def test_dropped_exec_clients_leave_nothing_behind_once_their_execs_end(
        private_coved: Coved, silent: str) -> None:
    gate = f"/tmp/gate-{secrets.token_hex(4)}"
    warm_id, warm = _start_exec(private_coved.socket, silent, _exec_body(gate + "-w", False))
    warm.close()
    status, body = private_coved.request("POST", f"/containers/{silent}/exec",
                                         {"Cmd": ["touch", gate + "-w"]})
    assert status == 201
    assert private_coved.request("POST", f"/exec/{body['Id']}/start", {"Detach": True})[0] == 200
    deadline = time.monotonic() + 30
    while _exec_state(private_coved.socket, warm_id)[0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    base = _steady_usage(private_coved)
    started = [_start_exec(private_coved.socket, silent, _exec_body(gate, n % 2 == 1))
               for n in range(CLIENTS)]
    for _eid, sock in started:
        sock.close()
    for eid, _sock in started:  # their processes run on, as under dockerd
        assert _exec_state(private_coved.socket, eid) == (True, None)
    print(f"{CLIENTS} execs running on after their clients left hold "
          f"{_usage(private_coved).over(base)}")
    status, body = private_coved.request("POST", f"/containers/{silent}/exec",
                                         {"Cmd": ["touch", gate]})
    assert status == 201
    assert private_coved.request("POST", f"/exec/{body['Id']}/start", {"Detach": True})[0] == 200
    deadline = time.monotonic() + SETTLE + CLIENTS * 0.1
    for eid, _sock in started:
        while (state := _exec_state(private_coved.socket, eid))[0]:
            assert time.monotonic() < deadline, f"exec {eid} never ended"
            time.sleep(0.05)
        assert state == (False, 0)
    held, took = _released(private_coved, base)
    print(f"{CLIENTS} execs whose clients left: after they ended {held or 'nothing'} held, "
          f"in {took:.2f}s")
    assert not held, f"{CLIENTS} execs whose clients left held {held} after they ended"


@pytest.fixture(params=["coved", "dockerd"])
def daemon_socket(request: pytest.FixtureRequest) -> str:
    if request.param == "coved":
        return str(request.getfixturevalue("coved").socket)
    env = request.getfixturevalue("reference_dockerd")
    return str(env["DOCKER_HOST"].removeprefix("unix://"))


@pytest.mark.parametrize("tty", [False, True], ids=["pipes", "tty"])
def test_an_exec_whose_client_hung_up_runs_on_until_it_ends(daemon_socket: str,
                                                            tty: bool) -> None:
    name = "disc-runs-on-" + secrets.token_hex(4)
    status, body = api_request(daemon_socket, "POST", f"/containers/create?name={name}",
                               {"Image": "busybox", "Cmd": ["sleep", "300"]})
    assert status == 201, body
    try:
        assert api_request(daemon_socket, "POST", f"/containers/{name}/start")[0] == 204
        gate = f"/tmp/gate-{secrets.token_hex(4)}"
        eid, sock = _start_exec(daemon_socket, name, _exec_body(gate, tty))
        sock.close()
        assert _exec_state(daemon_socket, eid) == (True, None)
        status, body = api_request(daemon_socket, "POST", f"/containers/{name}/exec",
                                   {"Cmd": ["touch", gate]})
        assert api_request(daemon_socket, "POST", f"/exec/{body['Id']}/start",
                           {"Detach": True})[0] == 200
        deadline = time.monotonic() + 30
        while (state := _exec_state(daemon_socket, eid))[0]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state == (False, 0)  # it ran on until it saw the gate
    finally:
        api_request(daemon_socket, "DELETE", f"/containers/{name}?force=1")


def _docker_env(path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "DOCKER_HOST")}
    return {**env, "DOCKER_HOST": "unix://" + path}


def _start_cli_exec(env: dict[str, str], argv: list[str]) -> subprocess.Popen[bytes]:
    """``docker exec ...`` on a terminal of its own; returns once its command said so."""
    master, slave = pty.openpty()
    try:
        client = subprocess.Popen([DOCKER or "docker", "exec", *argv], env=env,
                                  stdin=slave, stdout=slave, stderr=slave,
                                  start_new_session=True)
    finally:
        os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"started" not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([master], [], [], 0.5)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:  # the client ended
                    break
        assert b"started" in seen, seen
    finally:
        os.close(master)
    return client


@pytest.mark.parametrize("flags", [["-it"], ["-i"], []], ids=["it", "i", "plain"])
def test_killing_the_docker_cli_mid_exec_does_what_dockerd_does(daemon_socket: str,
                                                                 flags: list[str]) -> None:
    """SIGKILL the docker CLI in the middle of an exec: the command runs on (it touches a
    file once it sees the gate), and one reading its stdin from the client gets its end
    (dockerd's CloseStdin) unless that stdin is a terminal."""
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    env = _docker_env(daemon_socket)
    name = "disc-cli-" + secrets.token_hex(4)
    assert subprocess.run([DOCKER, "run", "-d", "--name", name, "busybox", "sleep", "300"],
                          env=env, capture_output=True, timeout=60).returncode == 0
    try:
        gate = f"/tmp/gate-{secrets.token_hex(4)}"
        runs_on = _start_cli_exec(env, [*flags, name, "sh", "-c",
                                        f"echo started; while [ ! -e {gate} ]; "
                                        f"do sleep 0.1; done; touch {gate}-ran-on"])
        reads = _start_cli_exec(env, [*flags, name, "sh", "-c",
                                      f"echo started; cat; touch {gate}-stdin-ended"])
        for client in (runs_on, reads):
            client.kill()
            client.wait(10)
        subprocess.run([DOCKER, "exec", name, "touch", gate], env=env, timeout=60, check=True)
        # with a TTY the command's stdin is the terminal, which stays open: cat reads on
        expected = {f"{gate}-ran-on": True, f"{gate}-stdin-ended": "-it" not in flags}
        deadline = time.monotonic() + 30
        while True:
            seen = {path: subprocess.run([DOCKER, "exec", name, "test", "-e", path], env=env,
                                         timeout=60).returncode == 0 for path in expected}
            if seen == expected or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert seen == expected
    finally:
        subprocess.run([DOCKER, "rm", "-f", name], env=env, capture_output=True, timeout=60)
