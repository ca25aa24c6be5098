"""Detach keys on a TTY session: the cove CLI leaves the container running as the docker CLI
does, with the same exit codes and message, from ctrl-p,ctrl-q, ``--detach-keys`` or
``detachKeys`` in the CLI's config.json. The docker CLI against the reference dockerd is
the oracle for what each command answers."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid
from pathlib import Path

import docker
import pytest

from tests.support.clis import COVE, DOCKER
from tests.support.daemons import api_socket, daemon_env, docker_on
from tests.support.terminal import Terminal


def _typed_and_seen(term: Terminal, word: str) -> None:
    """Type a command whose output proves the session reads the keyboard (the quotes keep
    the terminal's own echo of the line from matching)."""
    term.send(f"echo {word[:2]}''{word[2:]}\r")
    term.expect(f"{word}\r\n")


def _session(argv: list[str], env: dict[str, str], keys: str, word: str) -> tuple[int, bool]:
    """(exit code, whether docker's "read escape sequence" was shown)."""
    term = Terminal(argv, env)
    _typed_and_seen(term, word)
    term.send(keys)
    code = term.wait()
    return code, b"read escape sequence" in term.output


@pytest.mark.parametrize("client", ["cove", "docker", "docker-on-dockerd"])
def test_detach_keys_leave_the_container_running(client: str, request: pytest.FixtureRequest,
                                                  tmp_path: Path) -> None:
    if DOCKER is None:
        pytest.fail("the docker CLI is required for these tests (apt install docker.io)")
    if client == "docker-on-dockerd":
        env = dict(request.getfixturevalue("reference_dockerd"))
    else:
        env = dict(request.getfixturevalue("coved").env)
    env["COVE_CONFIG"] = env["DOCKER_CONFIG"] = str(tmp_path)
    argv0 = COVE if client == "cove" else DOCKER
    name = f"detach-{uuid.uuid4().hex[:10]}"

    def state() -> str:
        shown = subprocess.run([DOCKER, "inspect", "-f", "{{.State.Status}}", name], env=env,
                               capture_output=True, text=True, timeout=30)
        return shown.stdout.strip()

    try:
        # the default keys end `run -it` quietly, with 0
        assert _session([argv0, "run", "-it", "--name", name, "busybox", "sh"], env,
                        "\x10\x11", "first") == (0, False)
        assert state() == "running"
        # --detach-keys: attach says "read escape sequence" and fails, as docker's does
        assert _session([argv0, "attach", "--detach-keys", "ctrl-a,x", name], env,
                        "\x01x", "second") == (1, True)
        assert state() == "running"
        # detachKeys in config.json, for attach and exec
        (tmp_path / "config.json").write_text(json.dumps({"detachKeys": "ctrl-b,y"}))
        assert _session([argv0, "attach", name], env, "\x02y", "third") == (1, True)
        assert _session([argv0, "exec", "-it", name, "sh"], env, "\x02y", "fourth") == (1, True)
        assert state() == "running"
        # the first key alone reaches the container; held back, then passed on
        term = Terminal([argv0, "attach", "--detach-keys", "x,y", name], env)
        _typed_and_seen(term, "fifth")
        term.send("echo x")
        term.send("z''sixth\r")
        term.expect("xzsixth\r\n")
        term.send("xy")
        assert term.wait() == 1
        assert state() == "running"
    finally:
        subprocess.run([DOCKER, "rm", "-f", name], env=env, capture_output=True, timeout=60)


def _raw_attach(env: dict[str, str], ref: str, query: str) -> socket.socket:
    """A hijacked attach as a plain API client makes it; the status line is checked."""
    sock = api_socket(env)
    sock.sendall(f"POST /v1.41/containers/{ref}/attach?{query} HTTP/1.1\r\nHost: docker\r\n"
                 "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _typed_until_shown(sock: socket.socket) -> None:
    """Type a line until the terminal shows it: proof that stdin reaches the session
    (dockerd may start reading it only once the process runs)."""
    seen, deadline = b"", time.monotonic() + 20
    sock.settimeout(0.5)
    while b"mark\r\n" not in seen:
        assert time.monotonic() < deadline, seen
        sock.sendall(b"mark\n")
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        assert chunk, seen
        seen += chunk
    sock.settimeout(20)


@pytest.mark.parametrize("which", ["coved", "dockerd"])
def test_the_daemon_ends_a_tty_attach_on_its_detach_keys(which: str,
                                                         request: pytest.FixtureRequest) -> None:
    """An API client that is not the docker CLI: the daemon itself watches stdin."""
    env = daemon_env(request, which)
    name = f"detach-api-{uuid.uuid4().hex[:10]}"
    try:
        assert docker_on(env, "run", "-dit", "--name", name, "busybox", "cat").returncode == 0
        sock = _raw_attach(env, name, "stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-a,x")
        try:
            _typed_until_shown(sock)
            sock.sendall(b"\x01x")
            while sock.recv(4096):  # the daemon ends the stream
                pass
        finally:
            sock.close()
        assert docker_on(env, "inspect", "-f", "{{.State.Status}}", name).stdout == "running\n"
    finally:
        docker_on(env, "rm", "-f", name)


@pytest.mark.parametrize("which", ["coved", "dockerd"])
def test_unreadable_detach_keys_are_refused(which: str, request: pytest.FixtureRequest) -> None:
    env = daemon_env(request, which)
    name = f"detach-bad-{uuid.uuid4().hex[:10]}"
    try:
        assert docker_on(env, "run", "-dit", "--name", name, "busybox", "sh").returncode == 0
        execed = docker_on(env, "exec", "--detach-keys", "ctrl-zz", name, "true")
        assert (execed.returncode, execed.stderr) == (
            1, "Error response from daemon: Invalid escape keys (ctrl-zz) provided\n")
        sock = api_socket(env)
        try:
            sock.sendall(f"POST /v1.41/containers/{name}/attach?stream=1&stdout=1&"
                         "detachKeys=ctrl-zz HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n"
                         "\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
                if b"provided" in answer:
                    break
        finally:
            sock.close()
        assert answer.startswith(b"HTTP/1.1 400 ")
        assert b"Invalid detach keys (ctrl-zz) provided" in answer
    finally:
        docker_on(env, "rm", "-f", name)


@pytest.mark.parametrize("which", ["coved", "dockerd"])
def test_the_daemon_ends_and_hangs_up_a_tty_exec_on_its_detach_keys(
        which: str, request: pytest.FixtureRequest) -> None:
    env = daemon_env(request, which)
    name = f"detach-exec-{uuid.uuid4().hex[:10]}"
    client = docker.APIClient(base_url=env["DOCKER_HOST"], version="1.41", timeout=30)
    try:
        assert docker_on(env, "run", "-d", "--name", name, "busybox", "sleep", "60").returncode == 0
        exec_id = client.exec_create(name, ["cat"], stdin=True, tty=True,
                                     detach_keys="ctrl-a,x")["Id"]
        sock = api_socket(env)
        try:
            body = b'{"Detach":false,"Tty":true}'
            sock.sendall(f"POST /v1.41/exec/{exec_id}/start HTTP/1.1\r\nHost: docker\r\n"
                         "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json"
                         f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            _typed_until_shown(sock)
            sock.sendall(b"\x01x")
            while sock.recv(4096):  # the daemon ends the stream
                pass
        finally:
            sock.close()
        # the session's command is gone (a closed terminal hangs it up), the container runs on
        deadline = time.monotonic() + 20
        while client.exec_inspect(exec_id)["Running"]:
            assert time.monotonic() < deadline, "the exec's command outlived the detach"
            time.sleep(0.1)
        assert docker_on(env, "inspect", "-f", "{{.State.Status}}", name).stdout == "running\n"
    finally:
        docker_on(env, "rm", "-f", name)
        client.close()
