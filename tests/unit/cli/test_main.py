"""The dispatcher: fast --version, host selection, docker's exit codes for usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cove.desktop.cli import main as cli_main
from cove.desktop.client.transport import DEFAULT_HOST, parse_host, resolve_host


def test_version_does_not_import_the_client() -> None:
    code = ("import sys; from cove.desktop.cli.main import main; main(['--version']);"
            "print(any(m.startswith('cove.desktop.client') or m == 'argparse' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["Cove version 0.1.0, build dev", "False"]


def test_host_precedence() -> None:
    env = {"COVE_HOST": "unix:///a", "DOCKER_HOST": "unix:///b"}
    assert resolve_host("tcp://h:1", env) == "tcp://h:1"
    assert resolve_host(None, env) == "unix:///a"
    assert resolve_host(None, {"DOCKER_HOST": "unix:///b"}) == "unix:///b"
    assert resolve_host(None, {}) == DEFAULT_HOST
    assert parse_host("tcp://127.0.0.1:2375").port == 2375


def test_unknown_flag_exits_125(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["stop", "--foo", "x"]) == 125
    err = capsys.readouterr().err
    assert err.startswith("unknown flag: --foo\n\nUsage:  cove stop [OPTIONS] CONTAINER")


def test_missing_argument_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["run"]) == 1
    assert "'cove run' requires at least 1 argument" in capsys.readouterr().err


def test_unreachable_daemon_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["-H", "unix:///nonexistent.sock", "ps"]) == 1
    assert "Cannot connect to the Cove daemon" in capsys.readouterr().err


def test_container_group_aliases_resolve() -> None:
    assert cli_main._resolve(["container", "ls", "-a"]) == ("container_list", "ps", ["-a"])
    assert cli_main._resolve(["image", "rm", "x"]) == ("images", "rmi", ["x"])
    assert cli_main._resolve(["nope"]) is None


def _both(*args: str, env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    """The same command line through docker's CLI and cove's (neither reaches a daemon)."""
    import os
    import shutil

    run_env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock",
               "COVE_HOST": "unix:///nonexistent.sock", **(env or {})}
    docker = shutil.which("docker")
    assert docker, "the docker CLI is needed: apt install docker.io"
    return [subprocess.run(argv, capture_output=True, text=True, timeout=30, env=run_env)
            for argv in ([docker, *args], [sys.executable, "-m", "cove.desktop.cli.main", *args])]


def test_a_bad_log_level_is_refused_as_docker_refuses_it() -> None:
    for result in _both("-l", "bogus", "ps"):
        assert result.returncode == 1
        assert "Unable to parse logging level: bogus" in result.stderr


def test_an_unknown_context_is_refused_as_docker_refuses_it() -> None:
    for result in _both("--context", "cove-no-such-context", "ps"):
        assert result.returncode == 1
        assert 'Failed to initialize' in result.stderr
        assert 'context "cove-no-such-context": context not found' in result.stderr


def test_tls_flags_are_refused_not_ignored(tmp_path) -> None:
    docker, cove = _both("--tlsverify", "ps", env={"DOCKER_CERT_PATH": str(tmp_path)})
    assert docker.returncode == cove.returncode == 1  # docker: no CA in the cert path
    assert "Failed to initialize" in docker.stderr
    assert "Failed to initialize: --tlsverify is not supported" in cove.stderr


def test_config_and_debug_flags_take_effect(tmp_path, monkeypatch) -> None:
    for name in ("COVE_CONFIG", "DEBUG"):  # set, then removed: teardown restores either way
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    host, words, action = cli_main._split_globals(["--config", str(tmp_path), "-D", "ps"])
    assert (host, words, action) == (None, ["ps"], None)
    import os

    assert os.environ["COVE_CONFIG"] == str(tmp_path) and os.environ["DEBUG"] == "1"
