"""Container details and "open a shell" against a real coved: the details page shows
what inspect says; the shell is started in the user's terminal (a recording stand-in
for the terminal here, the command given to it is run for real)."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from cove.desktop.tray.controller import Controller
from tests.support.coved import Coved


def _run(daemon: Coved, body: dict[str, object]) -> tuple[str, str]:
    name = f"details-{uuid.uuid4().hex[:8]}"
    status, created = daemon.request("POST", f"/containers/create?name={name}", body)
    assert status == 201, created
    status, _ = daemon.request("POST", f"/containers/{created['Id']}/start")
    assert status == 204
    return name, str(created["Id"])


def test_details_show_what_inspect_says(
    qtbot: QtBot, controller: Controller, private_coved: Coved, tmp_path: Path
) -> None:
    name, cid = _run(private_coved, {
        "Image": "busybox", "Cmd": ["sleep", "300"], "Env": ["GREETING=hello world"],
        "Labels": {"team": "desk"},
        "HostConfig": {"Binds": [f"{tmp_path}:/data:ro"], "RestartPolicy": {"Name": "always"}},
    })  # fmt: skip
    qtbot.waitUntil(lambda: cid in controller.rows, timeout=5000)
    controller.container_action("details", cid)
    page = controller.dashboard.details
    qtbot.waitUntil(lambda: page.title.text() == f"Details of {name}", timeout=5000)
    tabs = controller.dashboard.tabs
    assert tabs.tabText(tabs.currentIndex()) == "Details"
    assert page.value("Overview", "Command") == "sleep 300"
    assert page.value("Overview", "Restart policy") == "always"
    assert page.value("Environment", "GREETING") == "hello world"
    assert page.value("Labels", "team") == "desk"
    assert page.value("Mounts", "/data") == f"bind {tmp_path} (read-only)"
    assert f'"Id": "{cid}"' in page.raw.toPlainText()
    private_coved.request("DELETE", f"/containers/{cid}?force=1")


def test_a_shell_opens_in_the_user_s_terminal(
    qtbot: QtBot, controller: Controller, private_coved: Coved, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    recorded = tmp_path / "argv"
    terminal = tmp_path / "bin" / "x-terminal-emulator"
    terminal.parent.mkdir()
    # the stand-in records how it was called, then runs the command without a TTY
    terminal.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {recorded}.tmp && mv {recorded}.tmp {recorded}\n'
    )  # fmt: skip
    terminal.chmod(terminal.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{terminal.parent}{os.pathsep}{os.environ['PATH']}")
    _, cid = _run(private_coved, {"Image": "busybox", "Cmd": ["sleep", "300"]})
    qtbot.waitUntil(lambda: controller.rows.get(cid) is not None and controller.rows[cid].running,
                    timeout=5000)  # fmt: skip
    controller.container_action("shell", cid)
    qtbot.waitUntil(recorded.exists, timeout=5000)
    argv = recorded.read_text().splitlines()
    assert argv[0] == "-e"
    assert argv[-6:] == ["-H", private_coved.host, "exec", "-it", cid, "sh"]
    assert controller.dashboard.messages.text == ""
    private_coved.request("DELETE", f"/containers/{cid}?force=1")


def test_without_a_terminal_the_command_to_run_is_shown(
    qtbot: QtBot, controller: Controller, private_coved: Coved, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("PATH", str(tmp_path))  # no terminal on it
    controller.open_shell("abc", platform="linux")
    text = controller.dashboard.messages.text
    assert text.startswith("No terminal found to open a shell in; run: ")
    assert text.endswith(f"-H {private_coved.host} exec -it abc sh")
