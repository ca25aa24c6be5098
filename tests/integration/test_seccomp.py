"""Seccomp as Docker applies it: a default profile for every container and its execs,
``--security-opt seccomp=<file>|unconfined``, none when privileged. Each behaviour is
checked with the docker CLI on coved and on the reference dockerd (20.10, seccomp on)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.clis import CLI
from tests.support.coved import api_request

DAEMONS = ["coved", "dockerd"]
NO_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}


@pytest.fixture(params=DAEMONS)
def engine(request, docker) -> CLI:
    if request.param == "coved":
        return docker
    return CLI(docker.argv0, request.getfixturevalue("reference_dockerd"))


def _socket(engine: CLI) -> str:
    return engine.env["DOCKER_HOST"].removeprefix("unix://")


def _name() -> str:
    return "cove-seccomp-" + uuid.uuid4().hex[:8]


@contextmanager
def _sleeper(engine: CLI, *run_args: str) -> Iterator[str]:
    """A running container of the test's own (its name), removed after."""
    name = _name()
    started = engine("run", "-d", "--name", name, *run_args, "busybox", "sleep", "60")
    try:
        assert started.returncode == 0, started
        yield name
    finally:
        engine("rm", "-f", name)


def _seccomp_mode(engine: CLI, *run_args: str, pid: str = "self") -> str:
    out = engine("run", "--rm", *run_args, "busybox", "grep", "Seccomp:",
                 f"/proc/{pid}/status")
    assert out.returncode == 0, out
    return out.stdout.split()[1]


def test_a_default_container_is_filtered(engine):
    assert _seccomp_mode(engine) == "2"
    refused = engine("run", "--rm", "busybox", "unshare", "-U", "-r", "-m", "-n", "sh", "-c",
                     "mkdir -p /m && mount -t tmpfs x /m")
    assert refused.returncode != 0
    assert "Operation not permitted" in refused.stderr


@pytest.mark.parametrize("no_new_privileges", [False, True])
def test_the_filter_holds_for_other_users(engine, no_new_privileges):
    # without no_new_privs the filter goes in before the user change, with it just before exec
    extra = ["--security-opt", "no-new-privileges"] if no_new_privileges else []
    out = engine("run", "--rm", "--user", "1000", *extra, "busybox", "grep", "-E",
                 "Seccomp:|NoNewPrivs:", "/proc/self/status")
    assert out.stdout.split() == ["NoNewPrivs:", str(int(no_new_privileges)),
                                  "Seccomp:", "2"], out


def test_init_stays_pid_1_under_the_filter(engine):
    assert _seccomp_mode(engine, "--init", pid="1") == "2"


def test_cap_sys_admin_allows_namespaces_and_mounts(engine):
    out = engine("run", "--rm", "--cap-add", "SYS_ADMIN", "busybox", "sh", "-c",
                 "unshare -U -r true && mkdir -p /m && mount -t tmpfs x /m && echo mounted")
    assert out.returncode == 0 and out.stdout.split() == ["mounted"], out


def test_unconfined_has_no_filter(engine):
    assert _seccomp_mode(engine, "--security-opt", "seccomp=unconfined") == "0"
    out = engine("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox",
                 "unshare", "-U", "-r", "-m", "-n", "sh", "-c",
                 "mkdir -p /m && mount -t tmpfs x /m && echo mounted")
    assert out.returncode == 0 and out.stdout.split() == ["mounted"], out


def test_privileged_has_no_filter(docker):
    # coved only: the reference dockerd cannot start privileged containers on this host
    # (runc: "unable to apply caps")
    assert _seccomp_mode(docker, "--privileged") == "0"
    out = docker("run", "--rm", "--privileged", "busybox", "unshare", "-U", "-r", "true")
    assert out.returncode == 0, out


def test_a_profile_file_applies_to_the_container_and_its_execs(engine, tmp_path):
    profile = tmp_path / "no-mkdir.json"
    profile.write_text(json.dumps(NO_MKDIR, indent=2))
    refused = engine("run", "--rm", "--security-opt", f"seccomp={profile}", "busybox",
                     "mkdir", "/made")
    assert refused.returncode == 1 and "Operation not permitted" in refused.stderr, refused
    with _sleeper(engine, "--security-opt", f"seccomp={profile}") as name:
        inside = engine("exec", name, "mkdir", "/made")
        assert inside.returncode == 1 and "Operation not permitted" in inside.stderr, inside
        shown = engine("inspect", "-f", "{{json .HostConfig.SecurityOpt}}", name)
        assert json.loads(shown.stdout) == [
            "seccomp=" + json.dumps(NO_MKDIR, separators=(",", ":"))]


@pytest.mark.parametrize("cli", ["docker", "cove"])
def test_both_clis_send_a_profile_file_compacted_and_refuse_a_bad_one(cli, request, tmp_path):
    run = request.getfixturevalue(cli)
    profile = tmp_path / "no-mkdir.json"
    profile.write_text(json.dumps(NO_MKDIR, indent=4))
    refused = run("run", "--rm", "--security-opt", f"seccomp={profile}", "busybox",
                  "mkdir", "/made")
    assert refused.returncode == 1 and "Operation not permitted" in refused.stderr, refused
    name = _name()
    try:
        assert run("create", "--name", name, "--security-opt", f"seccomp={profile}",
                   "busybox").returncode == 0
        shown = run("inspect", "-f", "{{json .HostConfig.SecurityOpt}}", name)
        assert json.loads(shown.stdout) == [
            "seccomp=" + json.dumps(NO_MKDIR, separators=(",", ":"))]
    finally:
        run("rm", "-f", name)
    profile.write_text("{bad")
    bad = run("run", "--rm", "--security-opt", f"seccomp={profile}", "busybox", "true")
    assert bad.returncode == 125, bad
    assert f"compacting json for seccomp profile ({profile}) failed: " in bad.stderr


def test_execs_get_the_default_filter(engine):
    with _sleeper(engine) as name:
        mode = engine("exec", name, "grep", "Seccomp:", "/proc/self/status")
        assert mode.stdout.split() == ["Seccomp:", "2"], mode
        refused = engine("exec", name, "unshare", "-U", "-r", "true")
        assert refused.returncode != 0 and "Operation not permitted" in refused.stderr


def test_a_privileged_exec_keeps_the_containers_filter(docker):
    # coved only, as the privileged run above; runc execs under the container's filter
    with _sleeper(docker) as name:
        mode = docker("exec", "--privileged", name, "grep", "Seccomp:", "/proc/self/status")
        assert mode.stdout.split() == ["Seccomp:", "2"], mode


@pytest.mark.parametrize(("profile", "message"), [
    ("{bad", "Decoding seccomp profile failed: "),
    (json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"name": "mkdir", "names": ["mkdirat"],
                               "action": "SCMP_ACT_ERRNO"}]}),
     "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'"),
    (json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                 "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}),
     "'architectures' and 'archMap' were specified in the seccomp profile, use either "
     "'architectures' or 'archMap'"),
])
def test_a_bad_profile_fails_the_start_with_dockerds_message(engine, profile, message):
    socket_path = _socket(engine)
    name = _name()
    status, created = api_request(
        socket_path, "POST", f"/v1.41/containers/create?name={name}",
        {"Image": "busybox", "Cmd": ["true"],
         "HostConfig": {"SecurityOpt": [f"seccomp={profile}"]}})
    assert status == 201, created
    try:
        status, answer = api_request(socket_path, "POST", f"/v1.41/containers/{name}/start")
        assert status == 500 and message in answer["message"], answer
    finally:
        api_request(socket_path, "DELETE", f"/v1.41/containers/{name}?force=1")


def test_a_seccomp_option_without_a_value_is_refused(engine):
    # through the API: the docker CLI itself refuses it before sending
    status, answer = api_request(_socket(engine), "POST", "/v1.41/containers/create",
                                 {"Image": "busybox", "HostConfig": {"SecurityOpt": ["seccomp"]}})
    assert (status, answer["message"]) == (500, 'invalid --security-opt 1: "seccomp"'), answer


def test_info_lists_the_seccomp_profile(engine):
    out = engine("info", "--format", "{{json .SecurityOptions}}")
    assert "name=seccomp,profile=default" in json.loads(out.stdout), out
