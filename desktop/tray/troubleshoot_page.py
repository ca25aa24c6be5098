"""The dashboard's troubleshoot page: the engine's log, restart, clean up and factory
reset. The two that delete ask first and say what they delete.

Questions are non-modal message boxes (``open``, not ``exec``): the event loop, and so
the lists and the tray, keep running while the user reads.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

CLEAN_UP = (
    "Clean up removes every stopped container, every image no container uses, every "
    "volume no container uses (with its data), unused networks and the build cache. "
    "Running containers and what they use stay."
)
RESET = (
    "Factory reset deletes the Cove machine and its disk: every container, image and "
    "volume in it. A fresh machine with the same CPUs, memory and disk takes its place."
)


class TroubleshootPage(QWidget):
    refresh_requested = Signal()
    restart_requested = Signal()
    clean_up_requested = Signal()
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for name, label, act in (
            ("refresh", "Refresh log", self.refresh_requested.emit),
            ("restart", "Restart engine", self.restart_requested.emit),
            ("clean up", "Clean up…", lambda: self.ask("Clean up", CLEAN_UP, self.clean_up_requested.emit)),
            ("reset", "Factory reset…", lambda: self.ask("Factory reset", RESET, self.reset_requested.emit)),
        ):  # fmt: skip
            button = QPushButton(label, self)
            button.clicked.connect(act)
            self.buttons[name] = button
            bar.addWidget(button)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.result)
        layout.addWidget(QLabel("Engine log", self))
        layout.addWidget(self.log, 1)
        self.question: QMessageBox | None = None

    def ask(self, title: str, text: str, then: Callable[[], None]) -> None:
        """Ask before a deletion; ``then`` runs only on an explicit yes."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        yes = box.button(QMessageBox.StandardButton.Yes)
        box.finished.connect(lambda _: then() if box.clickedButton() is yes else None)
        self.question = box
        box.open()

    def show_log(self, text: str) -> None:
        self.log.setPlainText(text)
        bar = self.log.verticalScrollBar()
        bar.setValue(bar.maximum())
