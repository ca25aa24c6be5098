"""The tray icon and its menu: the engine's state, its start/stop/restart, the dashboard,
the running containers (stop, restart, open a published port) and quit.

The menu is rebuilt from the controller's state whenever that changes, so what it
offers is what is true now. Where there is no system tray (GNOME without the
AppIndicator extension) there is no icon and the dashboard is the app.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from .containers import ContainerRow
from .controller import Controller
from .icons import tray_icon
from .state import actions_enabled


class TrayMenu(QMenu):
    """The menu, rebuilt by ``rebuild`` from the controller's state."""

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._submenus: list[QMenu] = []
        self.about_box: QWidget | None = None
        self.rebuild()
        controller.status_changed.connect(self.rebuild)
        controller.containers_changed.connect(self.rebuild)

    def rebuild(self, *_: object) -> None:
        self.clear()
        for submenu in self._submenus:  # clear() leaves submenus, which the menu owns
            submenu.deleteLater()
        self._submenus = []
        controller = self.controller
        state = controller.status.state
        header = self.addAction(f"Cove engine: {state.value}")
        header.setEnabled(False)
        if controller.engine_description:
            self.addAction(controller.engine_description).setEnabled(False)
        if controller.status.message and state.value in ("error", "stopped"):
            message = controller.status.message
            shown = message if len(message) <= 72 else message[:71] + "…"
            self.addAction(shown).setEnabled(False)
        self.addSeparator()
        enabled = actions_enabled(state)
        for name, slot in (
            ("start", controller.start_engine),
            ("stop", controller.stop_engine),
            ("restart", controller.restart_engine),
        ):
            action = self.addAction(f"{name.capitalize()} engine")
            action.setEnabled(enabled[name] and controller.control.controllable)
            if not controller.control.controllable:
                action.setToolTip(controller.control.reason)
            action.triggered.connect(slot)
        self.addSeparator()
        self.addAction("Dashboard…").triggered.connect(lambda: self.open_dashboard())
        running = sorted(
            (row for row in controller.rows.values() if row.running), key=lambda r: r.name
        )
        containers = self.addMenu(f"Running containers ({len(running)})")
        self._submenus.append(containers)
        containers.setEnabled(bool(running))
        for row in running:
            self._container_menu(containers, row)
        self.addSeparator()
        self.addAction("Settings…").triggered.connect(lambda: self.open_dashboard("Settings"))
        self.addAction("Troubleshoot…").triggered.connect(
            lambda: self.open_dashboard("Troubleshoot")
        )
        self.addAction("About Cove…").triggered.connect(self.show_about)
        self.addAction("Quit Cove").triggered.connect(self.quit)
        self.setToolTipsVisible(True)

    def _container_menu(self, parent: QMenu, row: ContainerRow) -> None:
        menu = parent.addMenu(row.name or row.id[:12])
        menu.addAction("Stop").triggered.connect(
            lambda: self.controller.container_action("stop", row.id)
        )
        menu.addAction("Restart").triggered.connect(
            lambda: self.controller.container_action("restart", row.id)
        )
        menu.addAction("Logs…").triggered.connect(lambda: self._logs(row.id))
        menu.addAction("Open a shell").triggered.connect(lambda: self.controller.open_shell(row.id))
        for address in row.published():
            host, _, port = address.rpartition(":")
            url = f"http://{'localhost' if host in ('0.0.0.0', '::', '') else host}:{port}"
            menu.addAction(f"Open {url}").triggered.connect(
                lambda _=False, u=url: QDesktopServices.openUrl(QUrl(u))
            )

    def _logs(self, container_id: str) -> None:
        self.controller.open_logs(container_id)
        self.open_dashboard()

    def open_dashboard(self, page: str = "") -> None:
        window = self.controller.dashboard
        if page:
            window.show_page(page)
        window.show()
        window.raise_()
        window.activateWindow()

    def show_about(self) -> None:
        """A non-modal box: the tray keeps working while it is open."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Information, "About Cove", self.controller.about())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.about_box = box
        box.open()

    def quit(self) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.quit()

    def action_texts(self) -> list[str]:
        """The menu's entries as a user reads them (tests read them too)."""
        return [action.text() for action in self.actions() if action.text()]


class Tray(QObject):
    """The icon, following the engine's state (made only where a system tray exists)."""

    def __init__(self, controller: Controller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.menu = TrayMenu(controller)
        self.icon = QSystemTrayIcon(self)
        self.icon.setContextMenu(self.menu)  # some platforms show nothing without one
        self.icon.activated.connect(self._activated)
        self.show_status()
        controller.status_changed.connect(self.show_status)

    def show_status(self, *_: object) -> None:
        state = self.controller.status.state
        self.icon.setIcon(tray_icon(state, sys.platform))
        self.icon.setToolTip(f"Cove: engine {state.value}")

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger and sys.platform != "darwin":
            self.menu.open_dashboard()
