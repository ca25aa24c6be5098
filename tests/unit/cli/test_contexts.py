"""Contexts: native and vm, chosen as docker chooses (-H / --context, then the host
variables, then COVE_CONTEXT, then config.json's currentContext)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cove.desktop.cli import main as cli_main
from cove.desktop.client import contexts
from cove.desktop.client.transport import resolve_host
from cove.vm.paths import MachinePaths


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COVE_CONFIG", str(tmp_path))
    for name in ("COVE_CONTEXT", "COVE_HOST", "DOCKER_HOST"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "config.json"


VM_HOST = "unix://" + str(MachinePaths.of("default").engine_socket)


def test_linux_defaults_to_the_native_engine(config: Path) -> None:
    assert resolve_host(None, {}) == "unix:///run/cove.sock"


def test_use_vm_points_every_command_at_the_machine_and_keeps_the_rest(config: Path) -> None:
    config.write_text(json.dumps({"auths": {"r.example": {"auth": "eA=="}}}))
    contexts.use("vm")
    assert resolve_host(None, {}) == VM_HOST
    saved = json.loads(config.read_text())
    assert saved == {"auths": {"r.example": {"auth": "eA=="}}, "currentContext": "vm"}
    contexts.use("default")
    assert "currentContext" not in json.loads(config.read_text())


def test_host_variables_beat_the_context_and_cove_context_beats_the_config(
        config: Path) -> None:
    contexts.use("vm")
    assert resolve_host(None, {"DOCKER_HOST": "unix:///x"}) == "unix:///x"
    assert resolve_host(None, {"COVE_CONTEXT": "native"}) == "unix:///run/cove.sock"


def test_context_flag_and_host_flag_conflict(config: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["-H", "unix:///a", "--context", "vm", "ps"]) == 1
    assert "either specify --host or --context, not both" in capsys.readouterr().err


def test_context_flag_names_the_host(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host, words, _ = cli_main._split_globals(["--context", "vm", "ps"])
    assert (host, words) == (VM_HOST, ["ps"])


def _cove(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cove.desktop.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=30)


def test_context_commands_print_what_docker_prints(config: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "COVE_HOST")}
    used = _cove("context", "use", "vm", env=env)
    assert (used.returncode, used.stdout, used.stderr) == (
        0, "vm\n", 'Current context is now "vm"\n')
    listed = _cove("context", "ls", env=env).stdout.splitlines()
    assert listed[0].split() == ["NAME", "DESCRIPTION", "DOCKER", "ENDPOINT"]
    assert [line.split()[:2] for line in listed[1:]] == [
        ["default", "The"], ["native", "The"], ["vm", "*"]]
    inspected = json.loads(_cove("context", "inspect", "vm", env=env).stdout)
    assert inspected[0]["Endpoints"]["docker"]["Host"] == VM_HOST
    assert _cove("context", "show", env=env).stdout == "vm\n"
    version = _cove("version", env=env)
    assert " Context:           vm" in version.stdout


def test_an_unknown_context_is_refused(config: Path) -> None:
    with pytest.raises(contexts.ContextError, match='context "nope": context not found'):
        contexts.use("nope")
