"""What coved clears up when it starts after a crash: work a kill interrupted (build
contexts and other temp files in the data root), and a container a commit left paused."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

from tests.support.clis import CLI, DOCKER
from tests.support.coved import Coved
from tests.support.daemons import daemon_env

TICKER = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"


def _docker(daemon: Coved) -> CLI:
    assert DOCKER is not None, "the docker CLI is required (apt install docker.io)"
    return CLI([DOCKER], daemon.env)


def _state(docker: CLI, ref: str) -> dict[str, object]:
    result = docker("inspect", "--format", "{{json .State}}", ref)
    assert result.returncode == 0, result.stderr
    state: dict[str, object] = json.loads(result.stdout)
    return state


def _ticks(docker: CLI, ref: str) -> int:
    result = docker("logs", ref)
    assert result.returncode == 0, result.stderr
    return sum(1 for line in result.stdout.splitlines() if line.startswith("tick "))


def _ticks_grow(docker: CLI, ref: str, seconds: float = 10.0) -> bool:
    start = _ticks(docker, ref)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _ticks(docker, ref) >= start + 3:
            return True
        time.sleep(0.1)
    return False


def test_leftover_build_contexts_and_temp_records_are_removed_at_start(
        private_coved: Coved) -> None:
    docker = _docker(private_coved)
    name = f"keeper-{uuid.uuid4().hex[:10]}"
    assert docker("create", "--name", name, "busybox", "true").returncode == 0
    cid = _state_id(docker, name)
    context = os.path.join(private_coved.data_root, "tmp", "build-context-x")
    os.makedirs(os.path.join(context, "sub"))
    with open(os.path.join(context, "sub", "Dockerfile"), "w") as f:
        f.write("FROM busybox\n")
    stray = os.path.join(private_coved.data_root, "tmp", "load-abc")
    with open(stray, "w") as f:
        f.write("half a load")
    temp_record = os.path.join(private_coved.data_root, "containers", cid,
                               ".config.v2.json.a1b2c3d4")
    temp_tags = os.path.join(private_coved.data_root, "image", ".repositories.json.Zx9_k2Qa")
    for path, torn in ((temp_record, '{"Id": "torn'), (temp_tags, '{"Repositories": {')):
        with open(path, "w") as f:
            f.write(torn)
    private_coved.kill9()
    private_coved.start()
    for path in (context, stray, temp_record, temp_tags):
        assert not os.path.exists(path), path
    assert _state_id(docker, "busybox")  # the real tags are untouched
    assert _state(docker, name)["Status"] == "created"  # the real record is untouched
    assert docker("rm", name).returncode == 0


def _state_id(docker: CLI, ref: str) -> str:
    result = docker("inspect", "--format", "{{.Id}}", ref)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_container_a_crashed_commit_left_paused_is_thawed_at_start(
        private_coved: Coved) -> None:
    docker = _docker(private_coved)
    committed, paused = (f"{what}-{uuid.uuid4().hex[:10]}" for what in ("commit", "user"))
    for name in (committed, paused):
        run = docker("run", "-d", "--name", name, "busybox", "sh", "-c", TICKER)
        assert run.returncode == 0, run.stderr
        assert docker("pause", name).returncode == 0
    # what a commit leaves when the daemon dies while it holds the container paused
    cid = _state_id(docker, committed)
    marker = os.path.join(private_coved.data_root, "containers", cid, "paused-for-commit")
    with open(marker, "w") as f:
        f.write(cid)
    private_coved.kill9()
    private_coved.start()
    state = _state(docker, committed)
    assert state["Running"] is True and state["Paused"] is False, state
    assert _ticks_grow(docker, committed)  # really thawed, not only recorded so
    assert not os.path.exists(marker)
    # a pause the user asked for is theirs: it survives the restart
    assert _state(docker, paused)["Paused"] is True
    assert docker("unpause", paused).returncode == 0
    assert _ticks_grow(docker, paused)
    assert docker("rm", "-f", committed, paused).returncode == 0


@pytest.mark.parametrize("which", ["coved", "dockerd"])
def test_commit_leaves_the_container_running_and_no_marker(
        request: pytest.FixtureRequest, which: str) -> None:
    docker = CLI([DOCKER or "docker"], daemon_env(request, which))
    name = f"snap-{uuid.uuid4().hex[:10]}"
    assert docker("run", "-d", "--name", name, "busybox", "sh", "-c", TICKER).returncode == 0
    try:
        result = docker("commit", name, f"{name}:latest")
        assert result.returncode == 0, result.stderr
        state = _state(docker, name)
        assert state["Running"] is True and state["Paused"] is False
        assert _ticks_grow(docker, name)
        if which == "coved":
            data_root = request.getfixturevalue("coved").data_root
            assert not os.path.exists(os.path.join(
                data_root, "containers", _state_id(docker, name), "paused-for-commit"))
    finally:
        docker("rm", "-f", name)
        docker("rmi", f"{name}:latest")
