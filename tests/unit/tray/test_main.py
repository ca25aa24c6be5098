"""``cove-desktop``'s command line: the engine is chosen as the CLI chooses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from cove.desktop.tray.main import parse, resolve


def test_the_host_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVE_HOST", "unix:///env.sock")
    assert resolve(parse(["-H", "unix:///flag.sock"])) == "unix:///flag.sock"
    assert resolve(parse([])) == "unix:///env.sock"


def test_the_native_context_is_the_native_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COVE_HOST", raising=False)
    assert resolve(parse(["--context", "native"])) == "unix:///run/cove.sock"


def test_host_and_context_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(["-H", "unix:///x.sock", "--context", "native"])
    assert exited.value.code == 2
    assert "cannot specify both --host and --context" in capsys.readouterr().err


def test_an_unknown_context_is_an_error_the_user_reads(capsys: pytest.CaptureFixture[str]) -> None:
    from cove.desktop.tray.main import main

    assert main(["--context", "nope"]) == 125
    assert 'context "nope": context not found' in capsys.readouterr().err


def test_without_a_system_tray_the_dashboard_is_the_app_even_hidden(
    qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    """(the offscreen platform has no system tray, as GNOME without its extension)"""
    from cove.desktop.tray.controller import Controller
    from cove.desktop.tray.engine_control import NativeEngine
    from cove.desktop.tray.main import present

    controller = Controller(f"unix://{tmp_path}/none.sock", NativeEngine())
    qtbot.addWidget(controller.dashboard)
    assert not QSystemTrayIcon.isSystemTrayAvailable()
    assert present(qapp, controller, hidden=True) is None
    assert controller.dashboard.isVisible()
    assert qapp.quitOnLastWindowClosed()
