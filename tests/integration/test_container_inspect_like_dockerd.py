"""What inspect and events say about a container, compared with the reference dockerd for
the same docker CLI commands: the HostConfig values dockerd fills in when the CLI leaves
them unset, and the container events of a foreground run and an exec."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.support.daemons import daemon_env, docker_on

_FILLED_IN = ("LogConfig", "IpcMode", "PidsLimit", "MemorySwappiness", "ReadonlyPaths")


def _host_config(env: dict[str, str], *create_args: str) -> dict[str, object]:
    name = f"inspect-{uuid.uuid4().hex[:10]}"
    try:
        assert docker_on(env, "create", "--name", name, *create_args, "busybox",
                       "true").returncode == 0
        shown = docker_on(env, "inspect", name)
        host: dict[str, object] = json.loads(shown.stdout)[0]["HostConfig"]
        return host
    finally:
        docker_on(env, "rm", "-f", name)


@pytest.mark.parametrize("create_args", [(), ("--privileged",), ("--pids-limit", "0")],
                         ids=["default", "privileged", "pids-limit-0"])
def test_host_config_values_the_cli_leaves_unset_read_as_dockerds(
        request: pytest.FixtureRequest, create_args: tuple[str, ...]) -> None:
    ours = _host_config(daemon_env(request, "coved"), *create_args)
    theirs = _host_config(daemon_env(request, "dockerd"), *create_args)
    assert {k: ours[k] for k in _FILLED_IN} == {k: theirs[k] for k in _FILLED_IN}
    # the paths coved masks include every one dockerd 20.10 masks (and newer dockerd's
    # /sys/devices/virtual/powercap)
    if theirs["MaskedPaths"] is None:
        assert ours["MaskedPaths"] is None
    else:
        assert isinstance(ours["MaskedPaths"], list) and isinstance(theirs["MaskedPaths"], list)
        assert set(theirs["MaskedPaths"]) <= set(ours["MaskedPaths"])


def test_cgroupns_mode_says_the_container_has_its_own_on_cgroup_v1_too(
        request: pytest.FixtureRequest) -> None:
    """Differs on purpose from dockerd on a cgroup v1 host ("host" there): coved's shim
    always gives a container its own cgroup namespace, as dockerd does on cgroup v2."""
    assert _host_config(daemon_env(request, "coved"))["CgroupnsMode"] == "private"


def _actions(env: dict[str, str], name: str, since: int, *commands: tuple[str, ...]) -> list[str]:
    for command in commands:
        assert docker_on(env, *command).returncode == 0, command
    until = str(int(time.time()) + 1)
    shown = docker_on(env, "events", "--since", str(since), "--until", until, "--filter",
                    "type=container", "--filter", f"container={name}", "--format",
                    "{{json .Action}}")
    return [json.loads(line) for line in shown.stdout.splitlines()]


@pytest.mark.parametrize("which", ["coved", "dockerd"])
def test_events_of_a_foreground_run_and_an_exec(request: pytest.FixtureRequest,
                                                which: str) -> None:
    env = daemon_env(request, which)
    foreground, execed = (f"events-{uuid.uuid4().hex[:10]}" for _ in range(2))
    since = int(time.time()) - 1
    try:
        run = _actions(env, foreground, since, ("run", "--name", foreground, "busybox", "true"))
        execs = _actions(env, execed, since,
                         ("run", "-d", "--name", execed, "busybox", "sleep", "60"),
                         ("exec", execed, "true"), ("exec", execed, "sh", "-c", "exit 0"))
    finally:
        docker_on(env, "rm", "-f", foreground, execed)
    assert run == ["create", "attach", "start", "die"]
    assert [a for a in execs if a.startswith("exec_")] == [
        "exec_create: true ", "exec_start: true ", "exec_die",
        "exec_create: sh -c exit 0", "exec_start: sh -c exit 0", "exec_die"]
