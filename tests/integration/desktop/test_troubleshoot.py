"""Troubleshooting against a real coved (and a Cove machine's files): clean up asks first,
then removes what is unused and says so; factory reset asks first, and on the native
engine says why it cannot; the engine's log is shown; About names the versions."""

from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from cove.desktop.tray.controller import Controller
from cove.desktop.tray.engine_control import MachineControl
from cove.desktop.tray.maintenance import NATIVE_LOG, NATIVE_RESET
from cove.desktop.tray.tray import TrayMenu
from cove.desktop.tray.troubleshoot_page import CLEAN_UP, RESET
from tests.support.coved import Coved


def _answer(qtbot: QtBot, controller: Controller, button: QMessageBox.StandardButton) -> str:
    page = controller.dashboard.troubleshoot
    qtbot.waitUntil(lambda: page.question is not None and page.question.isVisible())
    assert page.question is not None
    text = page.question.text()
    page.question.button(button).click()
    return text


def test_clean_up_asks_then_removes_what_is_unused(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    name = f"trouble-{uuid.uuid4().hex[:8]}"
    status, body = private_coved.request(
        "POST", f"/containers/create?name={name}", {"Image": "busybox", "Cmd": ["true"]})  # fmt: skip
    assert status == 201, body
    page = controller.dashboard.troubleshoot

    page.buttons["clean up"].click()
    assert _answer(qtbot, controller, QMessageBox.StandardButton.Cancel) == CLEAN_UP
    qtbot.wait(200)  # nothing may happen on a no: give it the time it would take
    assert private_coved.request("GET", f"/containers/{body['Id']}/json")[0] == 200

    page.buttons["clean up"].click()
    _answer(qtbot, controller, QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(
        lambda: (
            page.result.text().startswith("Removed ") or bool(controller.dashboard.messages.text)
        ),
        timeout=10000,
    )
    assert not controller.dashboard.messages.text
    assert "1 containers" in page.result.text()
    assert "Total reclaimed space:" in page.result.text()
    assert private_coved.request("GET", f"/containers/{body['Id']}/json")[0] == 404
    qtbot.waitUntil(lambda: name not in controller.dashboard.containers.names())


def test_factory_reset_of_the_native_engine_says_why_not(
    qtbot: QtBot, controller: Controller
) -> None:
    controller.dashboard.troubleshoot.buttons["reset"].click()
    assert _answer(qtbot, controller, QMessageBox.StandardButton.Yes) == RESET
    assert controller.dashboard.messages.text == NATIVE_RESET


def test_the_native_engine_s_log_says_where_it_is(controller: Controller) -> None:
    assert controller.dashboard.troubleshoot.log.toPlainText() == NATIVE_LOG


def test_the_machine_s_console_log_is_shown_and_a_reset_makes_it_new(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from cove.vm.machine import QemuMachine
    from cove.vm.paths import MachinePaths
    from cove.vm.settings import MachineSettings

    root = tmp_path / "machines"
    machine = QemuMachine(MachinePaths.of("desk", root=root))
    machine.init(MachineSettings(cpus=1, memory_mib=512, disk_gib=2))
    machine.paths.console_log.write_text("cove-init: 1.00s coved ready\n")
    first_key = machine.paths.client_key.read_bytes()
    controller = Controller(f"unix://{tmp_path}/none.sock", MachineControl("desk", root=root))
    qtbot.addWidget(controller.dashboard)
    try:
        controller.start()
        page = controller.dashboard.troubleshoot
        qtbot.waitUntil(lambda: "coved ready" in page.log.toPlainText(), timeout=5000)

        page.buttons["reset"].click()
        _answer(qtbot, controller, QMessageBox.StandardButton.Yes)
        qtbot.waitUntil(lambda: page.result.text().startswith("The Cove machine was reset"),
                        timeout=20000)  # fmt: skip
        assert machine.exists()
        assert machine.settings().cpus == 1 and machine.settings().disk_gib == 2
        assert machine.paths.client_key.read_bytes() != first_key  # a new machine
        assert not machine.paths.console_log.exists()
    finally:
        controller.shutdown()


def test_about_names_cove_the_engine_and_the_kernel(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    info = private_coved.request("GET", "/info")[1]
    qtbot.waitUntil(lambda: bool(controller.engine_description), timeout=5000)
    menu = TrayMenu(controller)
    about = next(a for a in menu.actions() if a.text() == "About Cove…")
    about.trigger()
    assert menu.about_box is not None
    text = menu.about_box.text()  # type: ignore[attr-defined]
    assert text.startswith("Cove ")
    assert f"kernel {info['KernelVersion']}" in text
    assert f"Engine {info['ServerVersion']}" in text
    menu.about_box.close()
