"""The dashboard's settings page: start at login, what shows at start, and the Cove
machine's CPUs, memory and disk, registry mirrors and shared folders (applied at its next
start, and the page says so).

Each change is saved as it is made; there is no "OK" to forget. The machine's settings are
cove.vm's (``cove machine set`` writes the same file): the page shows what cove.vm read
back after each change, never a copy of its own.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from . import settings as app_settings
from .engine_control import MachineLists
from .settings import AppSettings

READ_ONLY = " (read-only)"

NO_MACHINE = (
    "The engine is this machine's own coved: it uses the machine's resources. "
    "The Cove machine's are set here in the vm context."
)
NO_MACHINE_LISTS = (
    "The native coved takes its registry mirrors from its own daemon.json "
    "(/var/lib/cove/daemon.json, \"registry-mirrors\", or coved --registry-mirror), and its "
    "bind mounts see every folder of this machine: there is nothing to share."
)
APPLIES = "Applied at the next restart of the engine."


class SettingsPage(QWidget):
    changed = Signal(object)  # AppSettings, after it was saved
    machine_change_requested = Signal(int, int, int)  # cpus, memory MiB, disk GiB
    lists_change_requested = Signal(object)  # MachineLists
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

        engine = QGroupBox("Cove machine's engine", self)
        self.mirrors = QListWidget(engine)
        self.mirror_entry = QLineEdit(engine)
        self.mirror_entry.setPlaceholderText("https://mirror.example.com")
        self.add_mirror = QPushButton("Add", engine)
        self.remove_mirror = QPushButton("Remove", engine)
        self.add_mirror.clicked.connect(self._add_mirror)
        self.mirror_entry.returnPressed.connect(self._add_mirror)
        self.remove_mirror.clicked.connect(lambda: self._remove(self.mirrors))
        self.shares = QListWidget(engine)
        self.share_entry = QLineEdit(engine)
        self.share_entry.setPlaceholderText("a folder of this computer, e.g. /Users/me/code")
        self.share_read_only = QCheckBox("read-only", engine)
        self.browse_share = QPushButton("Browse…", engine)
        self.add_share = QPushButton("Add", engine)
        self.remove_share = QPushButton("Remove", engine)
        self.browse_share.clicked.connect(self._browse)
        self.add_share.clicked.connect(self._add_share)
        self.share_entry.returnPressed.connect(self._add_share)
        self.remove_share.clicked.connect(lambda: self._remove(self.shares))
        for view in (self.mirrors, self.shares):
            view.setMaximumHeight(96)  # a few entries each; the page stays one screen
        self.lists_note = QLabel(NO_MACHINE_LISTS, engine)
        self.lists_note.setWordWrap(True)
        lists = QFormLayout(engine)
        lists.addRow("Registry mirrors", self.mirrors)
        lists.addRow(_row(self.mirror_entry, self.add_mirror, self.remove_mirror))
        lists.addRow("Shared folders", self.shares)
        lists.addRow(_row(self.share_entry, self.share_read_only, self.browse_share,
                          self.add_share, self.remove_share))
        lists.addRow(self.lists_note)
        self.show_lists(None)

        layout = QVBoxLayout(self)
        layout.addWidget(general)
        layout.addWidget(machine)
        layout.addWidget(engine)
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

    # registry mirrors and shared folders ----------------------------------------
    def _lists(self) -> MachineLists:
        """What the two lists show now."""
        mirrors = tuple(self.mirrors.item(i).text() for i in range(self.mirrors.count()))
        shares = []
        for i in range(self.shares.count()):
            text = self.shares.item(i).text()
            shares.append((text.removesuffix(READ_ONLY), text.endswith(READ_ONLY)))
        return MachineLists(mirrors, tuple(shares))

    def _request(self, lists: MachineLists) -> None:
        self._set_lists_enabled(False)  # until cove.vm has saved them (or refused)
        self.lists_change_requested.emit(lists)

    def _add_mirror(self) -> None:
        url = self.mirror_entry.text().strip()
        if url:
            current = self._lists()
            self._request(MachineLists((*current.registry_mirrors, url), current.shares))

    def _add_share(self) -> None:
        path = self.share_entry.text().strip()
        if path:
            current = self._lists()
            shares = (*current.shares, (path, self.share_read_only.isChecked()))
            self._request(MachineLists(current.registry_mirrors, shares))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Share a folder with the Cove machine")
        if folder:
            self.share_entry.setText(folder)

    def _remove(self, view: QListWidget) -> None:
        row = view.currentRow()
        if row < 0:
            return
        current = self._lists()
        if view is self.mirrors:
            mirrors = current.registry_mirrors[:row] + current.registry_mirrors[row + 1:]
            self._request(MachineLists(mirrors, current.shares))
        else:
            shares = current.shares[:row] + current.shares[row + 1:]
            self._request(MachineLists(current.registry_mirrors, shares))

    def _set_lists_enabled(self, on: bool) -> None:
        for widget in (self.mirrors, self.mirror_entry, self.add_mirror, self.remove_mirror,
                       self.shares, self.share_entry, self.share_read_only, self.browse_share,
                       self.add_share, self.remove_share):
            widget.setEnabled(on)

    def show_lists(self, lists: MachineLists | None, note: str = "") -> None:
        """The machine's mirrors and shared folders as cove.vm has them, or none (no
        machine, or the native engine: the fields are disabled, and the note says why)."""
        self._set_lists_enabled(lists is not None)
        self.mirrors.clear()
        self.shares.clear()
        if lists is not None:
            for url in lists.registry_mirrors:
                self.mirrors.addItem(QListWidgetItem(url))
            for path, readonly in lists.shares:
                self.shares.addItem(QListWidgetItem(path + (READ_ONLY if readonly else "")))
            self.mirror_entry.clear()
            self.share_entry.clear()
        self.lists_note.setText(note or (APPLIES if lists is not None else NO_MACHINE_LISTS))


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    box = QHBoxLayout(row)
    box.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        box.addWidget(widget)
    return row
