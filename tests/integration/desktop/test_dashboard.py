"""The dashboard against a real coved: the list follows the engine's events, the buttons
act on the engine, a stopped engine shows as stopped, and errors are shown, not raised."""

from __future__ import annotations

import time
import uuid
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from cove.desktop.tray.controller import Controller
from cove.desktop.tray.engine_control import NATIVE_REASON
from cove.desktop.tray.state import EngineState
from cove.desktop.tray.tray import TrayMenu
from tests.support.coved import Coved

# a container that stops at once on SIGTERM (a bare sleep as pid 1 would wait out the timeout)
STOPPABLE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]


def _create(daemon: Coved, name: str, cmd: list[str] = STOPPABLE) -> str:
    status, body = daemon.request(
        "POST", f"/containers/create?name={name}", {"Image": "busybox", "Cmd": cmd})  # fmt: skip
    assert status == 201, body
    return str(body["Id"])


def _api(daemon: Coved, method: str, path: str) -> Any:
    status, body = daemon.request(method, path)
    assert status < 300, body
    return body


def _click(qtbot: QtBot, controller: Controller, action: str) -> None:
    """Click once the list has settled (no refresh in flight) and the button is offered: a
    late event's refresh could otherwise grey it out under the click."""
    button = controller.dashboard.containers.buttons[action]
    qtbot.waitUntil(lambda: controller.workers.busy == 0 and button.isEnabled(), timeout=5000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _name() -> str:
    return f"desk-{uuid.uuid4().hex[:8]}"


def test_the_status_bar_names_the_engine_and_the_server(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    info = _api(private_coved, "GET", "/info")
    window = controller.dashboard
    qtbot.waitUntil(lambda: bool(window.engine_label.text()), timeout=5000)
    assert window.state_label.text() == "Engine running"
    assert window.engine_label.text() == (
        f"Engine {info['ServerVersion']} · {info['OperatingSystem']} · "
        f"kernel {info['KernelVersion']}"
    )


def test_a_container_started_from_the_api_appears_within_a_second(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    page = controller.dashboard.containers
    name = _name()
    began = time.monotonic()
    cid = _create(private_coved, name)
    qtbot.waitUntil(lambda: page.names().get(name) == "created", timeout=1000)
    created = time.monotonic() - began
    began = time.monotonic()
    _api(private_coved, "POST", f"/containers/{cid}/start")
    qtbot.waitUntil(lambda: page.names().get(name) == "running", timeout=1000)
    started = time.monotonic() - began
    print(f"event to UI: create {created * 1000:.0f} ms, start {started * 1000:.0f} ms")
    _api(private_coved, "DELETE", f"/containers/{cid}?force=1")
    qtbot.waitUntil(lambda: name not in page.names(), timeout=1000)


def test_start_stop_restart_and_remove_from_the_app_and_the_list_follows(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    page = controller.dashboard.containers
    name = _name()
    cid = _create(private_coved, name)
    qtbot.waitUntil(lambda: page.names().get(name) == "created", timeout=5000)
    page.select(cid)
    _click(qtbot, controller, "start")
    qtbot.waitUntil(lambda: page.names().get(name) == "running", timeout=5000)
    assert _api(private_coved, "GET", f"/containers/{cid}/json")["State"]["Running"]
    pid = _api(private_coved, "GET", f"/containers/{cid}/json")["State"]["Pid"]

    _click(qtbot, controller, "restart")
    qtbot.waitUntil(
        lambda: _api(private_coved, "GET", f"/containers/{cid}/json")["State"]["Pid"] != pid,
        timeout=10000,
    )
    qtbot.waitUntil(lambda: page.names().get(name) == "running", timeout=5000)

    _click(qtbot, controller, "stop")
    qtbot.waitUntil(lambda: page.names().get(name) == "exited", timeout=10000)
    assert not _api(private_coved, "GET", f"/containers/{cid}/json")["State"]["Running"]

    _click(qtbot, controller, "remove")
    qtbot.waitUntil(lambda: name not in page.names(), timeout=5000)
    status, _ = private_coved.request("GET", f"/containers/{cid}/json")
    assert status == 404
    assert controller.dashboard.messages.text == ""


def test_the_tray_menu_lists_the_running_containers(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    menu = TrayMenu(controller)
    name = _name()
    cid = _create(private_coved, name)
    _api(private_coved, "POST", f"/containers/{cid}/start")
    qtbot.waitUntil(lambda: "Running containers (1)" in menu.action_texts(), timeout=5000)
    submenu = next(a.menu() for a in menu.actions() if a.text() == "Running containers (1)")
    assert [a.text() for a in submenu.actions()] == [name]
    assert "Cove engine: running" in menu.action_texts()
    _api(private_coved, "DELETE", f"/containers/{cid}?force=1")
    qtbot.waitUntil(lambda: "Running containers (0)" in menu.action_texts(), timeout=5000)


def test_a_stopped_engine_shows_as_stopped_and_the_app_recovers_when_it_returns(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    page = controller.dashboard.containers
    menu = TrayMenu(controller)
    private_coved.stop()
    gone = time.monotonic()
    qtbot.waitUntil(lambda: controller.status.state is EngineState.STOPPED, timeout=1000)
    print(f"engine gone to UI: {(time.monotonic() - gone) * 1000:.0f} ms")
    assert controller.dashboard.state_label.text() == "Engine stopped"
    assert "Cove engine: stopped" in menu.action_texts()
    assert page.names() == {}
    assert page.placeholder.isVisibleTo(controller.dashboard)
    assert NATIVE_REASON in page.placeholder.text()

    private_coved.start()
    back = time.monotonic()
    qtbot.waitUntil(lambda: controller.status.state is EngineState.RUNNING, timeout=2000)
    print(f"engine back to UI: {(time.monotonic() - back) * 1000:.0f} ms")
    assert "Cove engine: running" in menu.action_texts()
    name = _name()
    _create(private_coved, name)
    qtbot.waitUntil(lambda: page.names().get(name) == "created", timeout=1000)


def test_errors_show_as_messages(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    page = controller.dashboard.containers
    messages = controller.dashboard.messages
    name = _name()
    cid = _create(private_coved, name)
    _api(private_coved, "POST", f"/containers/{cid}/start")
    qtbot.waitUntil(lambda: page.names().get(name) == "running", timeout=5000)
    page.select(cid)
    _click(qtbot, controller, "remove")  # running: refused
    qtbot.waitUntil(lambda: messages.text.startswith("Error response from daemon:"), timeout=5000)
    assert "You cannot remove a running container" in messages.text
    assert page.names().get(name) == "running"

    controller.start_engine()  # the native engine is not the app's to start
    assert messages.text == NATIVE_REASON

    _api(private_coved, "DELETE", f"/containers/{cid}?force=1")
    qtbot.waitUntil(lambda: name not in page.names(), timeout=5000)
    controller.container_action("start", cid)  # gone since: the daemon's 404, shown
    qtbot.waitUntil(lambda: "No such container" in messages.text, timeout=5000)
