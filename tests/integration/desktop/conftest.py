"""The desktop app's tests against a real coved, with Qt on the ``offscreen`` platform, and
an Xvfb server of their own for what must run on a real X display (the xcb platform)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pytestqt.qtbot import QtBot  # noqa: E402

from cove.desktop.tray.controller import Controller  # noqa: E402
from cove.desktop.tray.engine_control import NativeEngine  # noqa: E402
from tests.support.coved import Coved  # noqa: E402


@pytest.fixture
def controller(qtbot: QtBot, private_coved: Coved) -> Iterator[Controller]:
    """The app's controller on a private coved, its dashboard shown, its first list loaded."""
    controller = Controller(private_coved.host, NativeEngine())
    qtbot.addWidget(controller.dashboard)
    controller.dashboard.show()
    with qtbot.waitSignal(controller.loaded, timeout=5000):
        controller.start()
    yield controller
    controller.shutdown()


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """``:N`` of a fresh Xvfb on a free display (Xvfb picks it: ``-displayfd``)."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is required for these tests (scripts/setup --test installs it)")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    try:
        with os.fdopen(read) as ready:
            number = ready.readline().strip()  # written once the server accepts clients
        if not number:
            pytest.fail(f"Xvfb did not start (exit {server.poll()})")
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
