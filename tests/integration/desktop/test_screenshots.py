"""``cove-desktop --screenshot`` renders a view to a PNG and exits: offscreen, and on the
xcb platform under Xvfb, each checked for showing something (not a blank image)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from tests.support.coved import Coved

VIEWS = ("dashboard", "containers", "logs", "settings", "tray-menu")


def _cove_desktop(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cove.desktop.tray.main", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _colours(path: Path) -> int:
    """How many distinct colours the image holds (a blank one has one or two)."""
    image = QImage(str(path))
    assert not image.isNull(), path
    seen = set()
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            seen.add(image.pixel(x, y))
    return len(seen)


def _with_a_container(daemon: Coved) -> str:
    name = f"shot-{uuid.uuid4().hex[:8]}"
    status, body = daemon.request(
        "POST", f"/containers/create?name={name}",
        {"Image": "busybox", "Cmd": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]},
    )  # fmt: skip
    assert status == 201, body
    status, body = daemon.request("POST", f"/containers/{body['Id']}/start")
    assert status == 204, body
    return name


def _env(daemon: Coved, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in daemon.env.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


@pytest.mark.parametrize("view", VIEWS)
def test_a_view_is_rendered_offscreen(tmp_path: Path, private_coved: Coved, view: str) -> None:
    _with_a_container(private_coved)
    shot = tmp_path / f"{view}.png"
    result = _cove_desktop(["--screenshot", str(shot), "--view", view], _env(private_coved))
    assert result.returncode == 0, result.stderr
    assert f"wrote {shot}" in result.stdout
    assert _colours(shot) > 20


@pytest.mark.parametrize("view", VIEWS)
def test_a_view_is_rendered_on_xcb_under_xvfb(
    tmp_path: Path, private_coved: Coved, xvfb_display: str, view: str
) -> None:
    _with_a_container(private_coved)
    shot = tmp_path / f"{view}.png"
    env = _env(private_coved, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    result = _cove_desktop(["--screenshot", str(shot), "--view", view], env)
    assert result.returncode == 0, result.stderr
    assert _colours(shot) > 20


def test_the_dashboard_shot_shows_the_containers(qapp: QApplication, private_coved: Coved) -> None:
    """The shot is taken once the list is loaded: the row is in it, not an empty table.
    (Checked through the same code path offscreen: the text is read back from the window.)"""
    from cove.desktop.tray.controller import Controller
    from cove.desktop.tray.engine_control import NativeEngine
    from cove.desktop.tray.screenshot import render, settle

    name = _with_a_container(private_coved)
    controller = Controller(private_coved.host, NativeEngine())
    try:
        settle(qapp, controller, 10.0)
        pixmap = render(qapp, controller, "dashboard")
        assert not pixmap.isNull()
        assert controller.dashboard.containers.names() == {name: "running"}
    finally:
        controller.shutdown()
        controller.dashboard.deleteLater()


def test_with_the_engine_down_the_shot_is_taken_at_once(tmp_path: Path) -> None:
    """No wait for an engine that does not answer: the stopped state is what is shown."""
    shot = tmp_path / "stopped.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env["COVE_HOST"] = f"unix://{tmp_path}/no.sock"
    began = time.monotonic()
    result = _cove_desktop(["--screenshot", str(shot), "--view", "tray-menu"], env)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - began < 5  # SCREENSHOT_WAIT is 10 s
    assert _colours(shot) > 20


def test_an_unknown_view_is_refused(tmp_path: Path) -> None:
    result = _cove_desktop(
        ["--screenshot", str(tmp_path / "x.png"), "--view", "nope"], dict(os.environ)
    )
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr
    assert not (tmp_path / "x.png").exists()
