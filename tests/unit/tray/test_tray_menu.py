"""The tray menu's entries for a running container, from the list's rows (no engine needed
to build them): stop, restart, logs, a shell, and each published TCP port to open."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from cove.desktop.tray.containers import ContainerRow
from cove.desktop.tray.controller import Controller
from cove.desktop.tray.engine_control import NATIVE_REASON, NativeEngine
from cove.desktop.tray.tray import TrayMenu


def test_a_running_container_s_entries(qtbot: QtBot, tmp_path: Path) -> None:
    controller = Controller(f"unix://{tmp_path}/none.sock", NativeEngine())
    qtbot.addWidget(controller.dashboard)
    menu = TrayMenu(controller)
    controller.dashboard.containers.upsert(ContainerRow(
        "c1", "web", "nginx", "running", "Up 1 minute",
        "0.0.0.0:8080->80/tcp, 127.0.0.1:8443->443/tcp, 53/udp"))  # fmt: skip
    controller.dashboard.containers.upsert(
        ContainerRow("c2", "done", "busybox", "exited", "Exited (0)", ""))  # fmt: skip
    menu.rebuild()
    running = next(a.menu() for a in menu.actions() if a.text() == "Running containers (1)")
    web = running.actions()[0]
    assert web.text() == "web"
    assert [a.text() for a in web.menu().actions()] == [
        "Stop", "Restart", "Logs…", "Open a shell",
        "Open http://localhost:8080", "Open http://127.0.0.1:8443",
    ]  # fmt: skip


def test_engine_actions_the_app_cannot_take_are_greyed_with_the_reason(
    qtbot: QtBot, tmp_path: Path
) -> None:
    controller = Controller(f"unix://{tmp_path}/none.sock", NativeEngine())
    qtbot.addWidget(controller.dashboard)
    menu = TrayMenu(controller)
    start = next(a for a in menu.actions() if a.text() == "Start engine")
    assert not start.isEnabled()
    assert start.toolTip() == NATIVE_REASON
