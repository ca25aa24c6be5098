"""The dashboard window: a message bar for errors, the pages, and a status bar with the
engine's state, version, and the server's OS and kernel.

Errors are shown in the message bar, not in modal dialogs: a dialog blocks the event
loop's user, stacks up when the engine is flapping, and hides the list it is about.
Closing the window only hides it; the engine is never stopped by a window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .containers_page import ContainersPage
from .details_page import DetailsPage
from .icons import state_icon
from .logs_page import LogsPage
from .resource_page import ResourcePage
from .settings import AppSettings
from .settings_page import SettingsPage
from .state import EngineState, Status
from .troubleshoot_page import TroubleshootPage

TITLE = "Cove"


class MessageBar(QFrame):
    """One line saying what went wrong, until dismissed or replaced."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setStyleSheet(
            "#messageBar { background: #fde8e8; border: 1px solid #e53e3e; border-radius: 4px; }"
            " QLabel { color: #9b2c2c; }"
        )
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QToolButton(self)
        dismiss.setText("✕")
        dismiss.setAutoRaise(True)
        dismiss.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(dismiss)
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text() if not self.isHidden() else ""

    def show_error(self, message: str) -> None:
        self.label.setText(message)
        self.show()

    def clear(self) -> None:
        self.label.clear()
        self.hide()


class Dashboard(QMainWindow):
    closed = Signal()  # the user closed the window (it is hidden, not destroyed)

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.resize(820, 480)
        self.messages = MessageBar(self)
        self.containers = ContainersPage(self)
        self.tabs = QTabWidget(self)
        self.logs = LogsPage(self)
        self.logs.timestamps.setChecked(settings.show_timestamps)
        self.settings = SettingsPage(settings, self)
        self.logs.timestamps.toggled.connect(
            lambda on: self.settings.update_settings(show_timestamps=on)
        )
        self.images = ResourcePage(
            ("Repository", "Tag", "Image ID", "Created", "Size"), ("remove",), ("prune", "pull"),
            "an image to pull, e.g. busybox:latest", self,
        )  # fmt: skip
        self.volumes = ResourcePage(("Name", "Driver", "Mountpoint"), ("remove",), ("prune",))
        self.tabs.addTab(self.containers, "Containers")
        self.tabs.addTab(self.images, "Images")
        self.tabs.addTab(self.volumes, "Volumes")
        self.tabs.addTab(self.logs, "Logs")
        self.details = DetailsPage(self)
        self.tabs.addTab(self.details, "Details")
        self.troubleshoot = TroubleshootPage(self)
        self.tabs.addTab(self.settings, "Settings")
        self.tabs.addTab(self.troubleshoot, "Troubleshoot")
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self.messages)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.state_icon = QLabel(self)
        self.state_label = QLabel(self)
        self.engine_label = QLabel(self)
        self.statusBar().addWidget(self.state_icon)
        self.statusBar().addWidget(self.state_label)
        self.statusBar().addPermanentWidget(self.engine_label)
        self.show_status(Status(EngineState.STOPPED))

    def show_status(self, status: Status) -> None:
        self.state_icon.setPixmap(state_icon(status.state, mask=False).pixmap(16, 16))
        self.state_label.setText(f"Engine {status.state.value}")
        self.containers.set_engine_up(status.state is EngineState.RUNNING)
        if status.state is not EngineState.RUNNING:
            self.engine_label.clear()

    def show_engine(self, version: str, os_name: str, kernel: str) -> None:
        self.engine_label.setText(f"Engine {version} · {os_name} · kernel {kernel}")

    def show_page(self, title: str) -> None:
        for index in range(self.tabs.count()):
            if self.tabs.tabText(index) == title:
                self.tabs.setCurrentIndex(index)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        event.ignore()
        self.hide()
        self.closed.emit()
