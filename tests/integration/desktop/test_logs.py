"""The logs page against a real coved: lines follow as the container writes them, search
finds and highlights a line, the follow pauses while the reader is scrolled up, and the
daemon's timestamps show on request."""

from __future__ import annotations

import re
import uuid

from pytestqt.qtbot import QtBot

from cove.desktop.tray.controller import Controller
from cove.desktop.tray.logs_page import STDERR
from tests.support.coved import Coved

# 300 lines at once (enough to scroll), then a line every 50 ms, on stdout and stderr
CHATTY = [
    "sh", "-c",
    "trap 'exit 0' TERM; i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo \"early $i\"; done; "
    "while :; do i=$((i+1)); echo \"line $i\"; echo \"oops $i\" >&2; sleep 0.05; done",
]  # fmt: skip


def _chatty(daemon: Coved) -> str:
    name = f"logs-{uuid.uuid4().hex[:8]}"
    status, body = daemon.request(
        "POST", f"/containers/create?name={name}", {"Image": "busybox", "Cmd": CHATTY})  # fmt: skip
    assert status == 201, body
    status, _ = daemon.request("POST", f"/containers/{body['Id']}/start")
    assert status == 204
    return str(body["Id"])


def _last_number(text: str) -> int:
    return max(int(n) for n in re.findall(r"line (\d+)", text))


def test_logs_follow_and_search_finds_a_line(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    cid = _chatty(private_coved)
    qtbot.waitUntil(lambda: cid in controller.rows, timeout=5000)
    controller.container_action("logs", cid)
    page = controller.dashboard.logs
    assert controller.dashboard.tabs.tabText(controller.dashboard.tabs.currentIndex()) == "Logs"
    qtbot.waitUntil(lambda: "oops 310" in page.text(), timeout=10000)  # stderr too
    assert "line 310" in page.text()
    document = page.view.document()
    colour = {
        text: document.find(text).charFormat().foreground().color().name()
        for text in ("oops 310", "line 310")
    }  # fmt: skip
    assert colour["oops 310"] == STDERR.foreground().color().name() != colour["line 310"]
    seen = _last_number(page.text())
    qtbot.waitUntil(lambda: _last_number(page.text()) > seen + 5, timeout=5000)  # it follows

    page.search.setText("early 42")
    assert page.match_count == 1
    assert page.selected_text() == "early 42"
    assert page.matches_label.text() == "1 found"
    assert len(page.view.extraSelections()) == 1  # highlighted
    page.search.setText("early 4")  # 4, 40-49, 400... of the early ones: 11 matches
    assert page.match_count == 11


def test_the_follow_pauses_while_the_reader_is_scrolled_up(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    cid = _chatty(private_coved)
    qtbot.waitUntil(lambda: cid in controller.rows, timeout=5000)
    controller.open_logs(cid)
    page = controller.dashboard.logs
    bar = page.view.verticalScrollBar()
    qtbot.waitUntil(lambda: "line 305" in page.text() and bar.maximum() > 0, timeout=10000)
    assert page.following
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() and "line 310" in page.text())

    bar.setValue(10)  # the reader scrolls up
    count = len(page.lines)
    qtbot.waitUntil(lambda: len(page.lines) > count + 10, timeout=5000)
    assert bar.value() == 10  # new lines did not drag the reader down
    assert not page.following
    assert page.resume.isVisible()
    assert page.resume.text().startswith("Paused: ")

    page.resume.click()
    assert bar.value() == bar.maximum()
    assert not page.resume.isVisible()
    count = len(page.lines)
    qtbot.waitUntil(lambda: len(page.lines) > count + 4, timeout=5000)
    assert bar.value() == bar.maximum()  # following again


def test_timestamps_show_on_request(
    qtbot: QtBot, controller: Controller, private_coved: Coved
) -> None:
    cid = _chatty(private_coved)
    qtbot.waitUntil(lambda: cid in controller.rows, timeout=5000)
    controller.open_logs(cid)
    page = controller.dashboard.logs
    qtbot.waitUntil(lambda: "early 300" in page.text(), timeout=10000)
    assert page.text().splitlines()[0] == "early 1"
    page.timestamps.setChecked(True)
    first = page.text().splitlines()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z early 1", first), first


def test_logs_of_a_container_that_is_gone_show_an_error(
    qtbot: QtBot, controller: Controller
) -> None:
    controller.open_logs("0123456789ab-no-such-container")
    qtbot.waitUntil(lambda: "No such container" in controller.dashboard.messages.text, timeout=5000)
