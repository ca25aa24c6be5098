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
