"""``docker exec -d``: what ``GET /exec/{id}/json`` shows once a detached exec ended, on coved
and on the reference dockerd (20.10 keeps the process's own exit code, not 126)."""

from __future__ import annotations

import secrets
import time

import pytest

from tests.support.coved import Coved, api_request


@pytest.fixture(params=["coved", "dockerd"])
def daemon_socket(request: pytest.FixtureRequest) -> str:
    if request.param == "coved":
        daemon: Coved = request.getfixturevalue("coved")
        return daemon.socket
    env = request.getfixturevalue("reference_dockerd")
    return str(env["DOCKER_HOST"].removeprefix("unix://"))


def test_a_detached_exec_reports_its_own_exit_code(daemon_socket: str) -> None:
    name = "exec-detached-" + secrets.token_hex(4)
    status, body = api_request(daemon_socket, "POST", f"/containers/create?name={name}",
                               {"Image": "busybox", "Cmd": ["sleep", "300"]})
    assert status == 201, body
    try:
        assert api_request(daemon_socket, "POST", f"/containers/{name}/start")[0] == 204
        status, created = api_request(daemon_socket, "POST", f"/containers/{name}/exec",
                                      {"Cmd": ["sh", "-c", "exit 3"]})
        assert status == 201, created
        status, answer = api_request(daemon_socket, "POST", f"/exec/{created['Id']}/start",
                                     {"Detach": True})
        assert (status, answer) == (200, b"")
        deadline = time.monotonic() + 30
        while True:
            status, shown = api_request(daemon_socket, "GET", f"/exec/{created['Id']}/json")
            assert status == 200, shown
            if not shown["Running"] and shown["ExitCode"] is not None:
                break
            assert time.monotonic() < deadline, shown
            time.sleep(0.05)
        assert shown["ExitCode"] == 3
        assert shown["Pid"] > 0
    finally:
        api_request(daemon_socket, "DELETE", f"/containers/{name}?force=1")
