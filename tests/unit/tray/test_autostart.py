"""Start at login: what each OS's login item holds, and that it is put in place and
taken away on Linux and macOS (the Windows Run value is checked as the string written)."""

from __future__ import annotations

import plistlib
import sys
from pathlib import Path

import pytest

from cove.desktop.tray import autostart

COMMAND = ["/opt/My Apps/python3", "-m", "cove.desktop.tray.main", "--hidden"]


def test_the_xdg_entry_runs_the_app_hidden_with_the_spec_s_quoting() -> None:
    entry = autostart.xdg_entry(COMMAND)
    lines = entry.splitlines()
    assert lines[0] == "[Desktop Entry]"
    assert "Type=Application" in lines
    assert "Name=Cove" in lines
    assert 'Exec="/opt/My Apps/python3" -m cove.desktop.tray.main --hidden' in lines
    assert "X-GNOME-Autostart-enabled=true" in lines


def test_the_xdg_entry_escapes_what_the_spec_reserves() -> None:
    assert autostart.desktop_quote("plain") == "plain"
    assert autostart.desktop_quote("50%") == "50%%"
    assert autostart.desktop_quote('a"b$c') == '"a\\"b\\$c"'
    # a backslash: escaped for the quoting, then again for the string value
    entry = autostart.xdg_entry(["C:\\x y"])
    assert 'Exec="C:\\\\\\\\x y"' in entry.splitlines()


def test_the_launch_agent_runs_the_app_at_login() -> None:
    agent = plistlib.loads(autostart.launch_agent(COMMAND))
    assert agent == {
        "Label": "dev.cove.desktop",
        "ProgramArguments": COMMAND,
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }


def test_the_windows_run_value_is_one_quoted_command_line() -> None:
    value = autostart.run_value(["C:\\Program Files\\Cove\\python.exe", "-m", "x", "--hidden"])
    assert value == '"C:\\Program Files\\Cove\\python.exe" -m x --hidden'
    assert autostart.RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"


def test_the_login_command_is_this_python_running_the_app_hidden() -> None:
    assert autostart.login_command() == [
        sys.executable, "-m", "cove.desktop.tray.main", "--hidden"]  # fmt: skip


def test_linux_enable_and_disable_write_and_remove_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    entry = tmp_path / "autostart" / "cove-desktop.desktop"
    assert not autostart.enabled("linux")
    autostart.enable("linux", COMMAND)
    assert entry.read_text() == autostart.xdg_entry(COMMAND)
    assert autostart.enabled("linux")
    assert not list(entry.parent.glob("*.tmp"))
    autostart.disable("linux")
    assert not entry.exists()
    assert not autostart.enabled("linux")
    autostart.disable("linux")  # twice is fine


def test_macos_enable_writes_the_launch_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    autostart.enable("darwin", COMMAND)
    agent = tmp_path / "Library" / "LaunchAgents" / "dev.cove.desktop.plist"
    assert plistlib.loads(agent.read_bytes())["ProgramArguments"] == COMMAND
    assert autostart.enabled("darwin")
    autostart.disable("darwin")
    assert not agent.exists()
