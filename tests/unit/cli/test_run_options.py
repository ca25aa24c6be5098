"""run/create flags map onto the create body docker's CLI would send."""

from __future__ import annotations

from pathlib import Path

import pytest

from cove.desktop.cli import container_run, run_options
from cove.desktop.cli.command import parse
from cove.desktop.cli.errors import InvalidOption, UsageError


def _body(argv: list[str], environ: dict[str, str] | None = None, verb: str = "run") -> dict:
    command = container_run.COMMANDS[verb]
    args, _parser = parse(command, verb, argv)
    return run_options.build_create_body(args, args.args[0], args.args[1:], run=verb == "run",
                                         environ=environ or {})


def test_resource_env_label_and_restart_flags(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\n\nFROMFILE=1\nPASSED\n")
    body = _body(["-m", "64m", "--cpus", "1.5", "--pids-limit", "10", "-e", "A=1",
                  "--env-file", str(env_file), "-l", "k=v", "--label", "flag",
                  "--restart", "on-failure:3", "--read-only", "--init", "--privileged",
                  "-w", "/tmp", "-u", "1000", "-h", "box", "--stop-signal", "SIGINT",
                  "--stop-timeout", "5", "busybox", "sh", "-c", "echo hi"],
                 environ={"PASSED": "yes"})
    host = body["HostConfig"]
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["NanoCpus"] == 1_500_000_000
    assert host["PidsLimit"] == 10
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["ReadonlyRootfs"] is True and host["Init"] is True and host["Privileged"] is True
    assert body["Env"] == ["FROMFILE=1", "PASSED=yes", "A=1"]
    assert body["Labels"] == {"k": "v", "flag": ""}
    assert body["Cmd"] == ["sh", "-c", "echo hi"]
    assert body["Image"] == "busybox"
    assert (body["WorkingDir"], body["User"], body["Hostname"]) == ("/tmp", "1000", "box")
    assert (body["StopSignal"], body["StopTimeout"]) == ("SIGINT", 5)


def test_runtime_goes_to_the_host_config_as_given() -> None:
    assert _body(["--runtime", "io.containerd.runc.v2", "busybox"])["HostConfig"]["Runtime"] == \
        "io.containerd.runc.v2"
    assert "Runtime" not in _body(["busybox"])["HostConfig"]


def test_flags_after_image_belong_to_the_command() -> None:
    body = _body(["--rm", "busybox", "ls", "-l", "--rm"])
    assert body["Cmd"] == ["ls", "-l", "--rm"]
    assert body["HostConfig"]["AutoRemove"] is True


def test_combined_short_flags_and_attach_defaults() -> None:
    body = _body(["-it", "busybox"])
    assert body["Tty"] and body["OpenStdin"] and body["AttachStdin"] and body["StdinOnce"]
    assert body["Cmd"] is None
    detached = _body(["-d", "busybox"])
    assert not (detached["AttachStdin"] or detached["AttachStdout"] or detached["AttachStderr"])


def test_entrypoint_empty_string_resets() -> None:
    assert _body(["--entrypoint", "", "busybox"])["Entrypoint"] == [""]
    assert _body(["--entrypoint", "/bin/sh", "busybox"])["Entrypoint"] == ["/bin/sh"]


def test_bad_memory_is_a_usage_error_exit_125() -> None:
    with pytest.raises(UsageError) as info:
        _body(["-m", "64x", "busybox"])
    assert info.value.exit_code == 125
    assert '"-m, --memory"' in str(info.value)


def test_rm_with_restart_conflicts() -> None:
    with pytest.raises(InvalidOption) as info:
        _body(["--rm", "--restart", "always", "busybox"])
    assert info.value.exit_code == 125


def test_publish_fills_port_bindings_and_exposed_ports_as_docker_does() -> None:
    body = _body(["-p", "127.0.0.1:8080:80", "-p", "53/udp", "-P", "--expose", "9000",
                  "busybox"])
    assert body["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}]}
    assert body["HostConfig"]["PublishAllPorts"] is True
    assert body["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "9000/tcp": {}}


def test_unknown_flag_is_reported_like_cobra() -> None:
    with pytest.raises(UsageError, match="unknown flag: --nope"):
        _body(["--nope", "busybox"])


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('exec: "nope": executable file not found in $PATH: unknown', 127),
        ("stat /x: no such file or directory", 127),
        ('exec: "/etc": permission denied: unknown', 126),
        ("is a directory", 126),
        ("some other failure", 125),
    ],
)
def test_start_failure_exit_codes(message: str, code: int) -> None:
    assert container_run.start_failure(message).exit_code == code


def test_image_names_get_latest() -> None:
    assert container_run.normalize_image("busybox") == "busybox:latest"
    assert container_run.normalize_image("localhost:5000/x") == "localhost:5000/x:latest"
    assert container_run.normalize_image("x:1") == "x:1"


def test_a_seccomp_profile_file_is_sent_compacted_as_the_docker_cli_does(tmp_path: Path) -> None:
    profile = tmp_path / "p.json"
    profile.write_text('{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "comment": "a \\" b\\\\",'
                       '\n  "syscalls": [ ]\n}\n')
    body = _body(["--security-opt", f"seccomp={profile}", "--security-opt",
                  "seccomp=unconfined", "busybox"])
    assert body["HostConfig"]["SecurityOpt"] == [
        'seccomp={"defaultAction":"SCMP_ACT_ALLOW","comment":"a \\" b\\\\","syscalls":[]}',
        "seccomp=unconfined"]
    profile.write_text("{bad")
    with pytest.raises(InvalidOption, match=r"^compacting json for seccomp profile \("):
        _body(["--security-opt", f"seccomp={profile}", "busybox"])
