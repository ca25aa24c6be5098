"""``cove-desktop --screenshot``: render one view, as it looks once the engine answered,
to a PNG and exit (for the tests and the README; the wall time is the time to the first
complete window).
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication

from .controller import Controller
from .tray import TrayMenu


def settle(app: QApplication, controller: Controller, wait: float) -> None:
    """Until the list is loaded (or the engine found stopped) and no call is in flight."""
    loop = QEventLoop()
    controller.loaded.connect(loop.quit)
    controller.follower.down.connect(loop.quit)
    QTimer.singleShot(int(wait * 1000), loop.quit)
    controller.start()
    loop.exec()
    deadline = time.monotonic() + wait
    while controller.workers.busy and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    app.processEvents()


def _show_logs(app: QApplication, controller: Controller, wait: float) -> None:
    """The logs of the first running container (else any), once some lines are in."""
    rows = sorted(controller.rows.values(), key=lambda r: (not r.running, r.name))
    if not rows:
        return
    controller.open_logs(rows[0].id)
    deadline = time.monotonic() + wait
    while not controller.dashboard.logs.lines and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def render(app: QApplication, controller: Controller, view: str, wait: float = 2.0) -> QPixmap:
    if view == "tray-menu":
        menu = TrayMenu(controller)
        menu.adjustSize()
        return menu.grab()
    window = controller.dashboard
    window.show_page("Containers")
    if view == "logs":
        _show_logs(app, controller, wait)
    elif view == "settings":
        window.show_page("Settings")
    window.show()
    app.processEvents()
    return window.grab()


def take(
    app: QApplication, controller: Controller, view: str, path: str, wait: float, started: float
) -> int:
    try:
        settle(app, controller, wait)
        pixmap = render(app, controller, view)
    finally:
        controller.shutdown()
    if not pixmap.save(path, "PNG"):
        print(f"cove-desktop: cannot write {path}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({view}, {time.monotonic() - started:.2f} s after start)")
    return 0
