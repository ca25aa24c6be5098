"""The dashboard's containers page: the live list and its start/stop/restart/remove buttons.

The page only shows rows and asks for actions (``action_requested``); the controller
makes the calls and feeds the rows back, from events.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .containers import ContainerRow

COLUMNS = ("Name", "Image", "State", "Status", "Ports")
ACTIONS = ("start", "stop", "restart", "remove", "logs", "details", "shell")
ID_ROLE = Qt.ItemDataRole.UserRole


class ContainersPage(QWidget):
    action_requested = Signal(str, str)  # action, container id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, ContainerRow] = {}
        self._items: dict[str, QTreeWidgetItem] = {}
        self.table = QTreeWidget(self)
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.header().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda *_: self._request("logs"))
        self.placeholder = QLabel("No containers yet: run one with cove run", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setEnabled(False)
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for action in ACTIONS:
            button = QPushButton(action.capitalize(), self)
            button.clicked.connect(lambda _=False, a=action: self._request(a))
            self.buttons[action] = button
            bar.addWidget(button)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.placeholder, 1)
        self._engine_up = True
        self.stopped_hint = "The engine is stopped: start it from the tray"
        self._update_placeholder()
        self._update_buttons()

    # rows ----------------------------------------------------------------
    def replace_all(self, rows: list[ContainerRow]) -> None:
        wanted = {row.id for row in rows}
        for gone in set(self.rows) - wanted:
            self.remove(gone)
        for row in rows:
            self.upsert(row)

    def upsert(self, row: ContainerRow) -> None:
        self.rows[row.id] = row
        item = self._items.get(row.id)
        if item is None:
            item = QTreeWidgetItem()
            item.setData(0, ID_ROLE, row.id)
            self._items[row.id] = item
            self.table.addTopLevelItem(item)
        for column, text in enumerate((row.name, row.image, row.state, row.status, row.ports)):
            item.setText(column, text)
        self._update_placeholder()
        self._update_buttons()

    def remove(self, container_id: str) -> None:
        self.rows.pop(container_id, None)
        item = self._items.pop(container_id, None)
        if item is not None:
            self.table.takeTopLevelItem(self.table.indexOfTopLevelItem(item))
        self._update_placeholder()
        self._update_buttons()

    def names(self) -> dict[str, str]:
        """name -> state, as the list shows them (what a user reads; tests read it too)."""
        shown = {}
        for index in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(index)
            if item is not None:
                shown[item.text(0)] = item.text(2)
        return shown

    def select(self, container_id: str) -> None:
        item = self._items.get(container_id)
        if item is not None:
            self.table.setCurrentItem(item)

    def selected(self) -> ContainerRow | None:
        items = self.table.selectedItems()
        if not items:
            return None
        return self.rows.get(str(items[0].data(0, ID_ROLE)))

    # engine --------------------------------------------------------------
    def set_engine_up(self, up: bool) -> None:
        """A stopped engine has no containers to show: the list empties and says why."""
        self._engine_up = up
        if not up:
            self.replace_all([])
        self._update_placeholder()
        self._update_buttons()

    def _update_placeholder(self) -> None:
        empty = not self.rows
        self.placeholder.setText(
            "No containers yet: run one with cove run" if self._engine_up else self.stopped_hint
        )
        self.placeholder.setVisible(empty)
        self.table.setVisible(not empty)

    def _update_buttons(self) -> None:
        row = self.selected() if self._engine_up else None
        running = row is not None and row.running
        self.buttons["start"].setEnabled(row is not None and not running)
        self.buttons["stop"].setEnabled(running)
        self.buttons["restart"].setEnabled(row is not None)
        self.buttons["remove"].setEnabled(row is not None)
        self.buttons["logs"].setEnabled(row is not None)
        self.buttons["details"].setEnabled(row is not None)
        self.buttons["shell"].setEnabled(running)

    def _request(self, action: str) -> None:
        row = self.selected()
        if row is not None:
            self.action_requested.emit(action, row.id)
