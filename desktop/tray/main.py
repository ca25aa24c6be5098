"""``cove-desktop``: the tray app, or with ``--screenshot`` a view rendered to a PNG.

The engine is found as the CLI finds it (``--host``, ``--context``, then ``COVE_HOST``,
``DOCKER_HOST``, the current context), with the CLI's own code.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from .controller import Controller
    from .tray import Tray

VIEWS = ("dashboard", "containers", "logs", "settings", "tray-menu")
SCREENSHOT_WAIT = 10.0  # seconds to wait for the engine's first answer before the shot


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cove-desktop", description="Cove's tray icon and dashboard."
    )
    parser.add_argument("-H", "--host", help="the engine's socket, as cove -H")
    parser.add_argument("-c", "--context", help="the context to use, as cove --context")
    parser.add_argument(
        "--hidden", action="store_true", help="start in the tray, without the dashboard"
    )
    parser.add_argument("--screenshot", metavar="PATH", help="render a view to PATH and exit")
    parser.add_argument(
        "--view", choices=VIEWS, default="dashboard", help="what --screenshot renders"
    )
    args = parser.parse_args(argv)
    if args.host and args.context:
        parser.error(
            "conflicting options: cannot specify both --host and --context"
        )  # fmt: skip
    return args


def resolve(args: argparse.Namespace) -> str:
    """The engine's host URL, chosen as the CLI chooses it."""
    from cove.desktop.client import contexts
    from cove.desktop.client.transport import resolve_host

    if args.context:
        return contexts.host_of(args.context)
    return resolve_host(args.host)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        host = resolve(args)
    except Exception as exc:  # noqa: BLE001 - a bad context or host is the user's to fix
        print(f"cove-desktop: {exc}", file=sys.stderr)
        return 125
    if args.screenshot and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from .controller import Controller
    from .engine_control import control_for

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it (Qt's loop holds Python's)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Cove")
    app.setApplicationDisplayName("Cove")
    controller = Controller(host, control_for(host))
    if args.screenshot:
        from .screenshot import take

        return take(app, controller, args.view, args.screenshot, SCREENSHOT_WAIT, started)

    tray = present(app, controller, args.hidden)  # kept: the icon lives as long as it
    controller.start()
    try:
        return app.exec()
    finally:
        del tray
        controller.shutdown()


def present(app: QApplication, controller: Controller, hidden: bool) -> Tray | None:
    """The tray icon, and the dashboard unless started hidden (or told not to show it).
    Without a system tray (GNOME without the AppIndicator extension) the dashboard is
    the app, hidden or not, and closing it quits the app, never the engine."""
    from PySide6.QtWidgets import QSystemTrayIcon

    from .tray import Tray

    tray: Tray | None = None
    if QSystemTrayIcon.isSystemTrayAvailable():
        app.setQuitOnLastWindowClosed(False)
        tray = Tray(controller)
        tray.icon.show()
    else:
        controller.dashboard.closed.connect(app.quit)
    if tray is None or (not hidden and controller.settings.open_dashboard_at_start):
        controller.dashboard.show()
    return tray


if __name__ == "__main__":
    sys.exit(main())
