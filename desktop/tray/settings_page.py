"""The dashboard's settings page: start at login, what shows at start, and the Cove
machine's CPUs, memory and disk (applied at its next start, and the page says so).

Each change is saved as it is made; there is no "OK" to forget.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from . import settings as app_settings
from .settings import AppSettings

NO_MACHINE = (
    "The engine is this machine's own coved: it uses the machine's resources. "
    "The Cove machine's are set here in the vm context."
)


class SettingsPage(QWidget):
    changed = Signal(object)  # AppSettings, after it was saved
    machine_change_requested = Signal(int, int, int)  # cpus, memory MiB, disk GiB
    start_at_login_requested = Signal(bool)

    def __init__(self, current: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current = current
        general = QGroupBox("General", self)
        self.start_at_login = QCheckBox("Start Cove when I log in (in the tray, no window)")
        self.start_at_login.setChecked(current.start_at_login)
        self.start_at_login.toggled.connect(self.start_at_login_requested)
        self.open_dashboard = QCheckBox("Show the dashboard when Cove is started by hand")
        self.open_dashboard.setChecked(current.open_dashboard_at_start)
        self.open_dashboard.toggled.connect(
            lambda on: self.update_settings(open_dashboard_at_start=on)
        )
        box = QVBoxLayout(general)
        box.addWidget(self.start_at_login)
        box.addWidget(self.open_dashboard)

        machine = QGroupBox("Cove machine", self)
        self.cpus = QSpinBox(machine)
        self.cpus.setRange(1, 256)
        self.memory = QSpinBox(machine)
        self.memory.setRange(256, 1024 * 1024)
        self.memory.setSingleStep(512)
        self.memory.setSuffix(" MiB")
        self.disk = QSpinBox(machine)
        self.disk.setRange(1, 64 * 1024)
        self.disk.setSuffix(" GiB")
        self.apply = QPushButton("Apply", machine)
        self.apply.clicked.connect(
            lambda: self.machine_change_requested.emit(
                self.cpus.value(), self.memory.value(), self.disk.value()
            )
        )
        self.machine_note = QLabel(NO_MACHINE, machine)
        self.machine_note.setWordWrap(True)
        form = QFormLayout(machine)
        form.addRow("CPUs", self.cpus)
        form.addRow("Memory", self.memory)
        form.addRow("Disk (grows only)", self.disk)
        form.addRow(self.apply)
        form.addRow(self.machine_note)
        self.show_machine(None)

        layout = QVBoxLayout(self)
        layout.addWidget(general)
        layout.addWidget(machine)
        layout.addStretch(1)

    def update_settings(self, **values: bool) -> None:
        """Save the app's settings with these changed, and say so."""
        self.current = replace(self.current, **values)
        app_settings.save(self.current)
        self.changed.emit(self.current)

    def show_start_at_login(self, on: bool) -> None:
        """What the OS's login item now says (a failed change puts the box back)."""
        self.start_at_login.blockSignals(True)
        self.start_at_login.setChecked(on)
        self.start_at_login.blockSignals(False)

    def show_machine(self, resources: tuple[int, int, int] | None, note: str = "") -> None:
        """The machine's settings, or none (no machine, or the native engine)."""
        for widget in (self.cpus, self.memory, self.disk, self.apply):
            widget.setEnabled(resources is not None)
        if resources is not None:
            cpus, memory, disk = resources
            self.cpus.setValue(cpus)
            self.memory.setValue(memory)
            self.disk.setValue(disk)
        self.machine_note.setText(note or ("" if resources is not None else NO_MACHINE))
