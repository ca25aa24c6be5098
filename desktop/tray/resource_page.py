"""A dashboard page listing one kind of thing the engine keeps (images, volumes): a table,
actions on the selected row, and actions on the whole kind (prune, pull).

The page shows rows and asks (``action_requested``); the controller calls the engine
and gives the rows back, reloading the list on the kind's events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

KEY_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class Row:
    key: str  # what the actions are called with (an image ID, a volume name)
    cells: tuple[str, ...]


def human_size(size: object) -> str:
    """As docker shows sizes: decimal units, three significant digits."""
    if not isinstance(size, int | float) or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.3g}{unit}"
        value /= 1000
    return ""


class ResourcePage(QWidget):
    action_requested = Signal(str, str)  # action, key ("" for the whole kind)

    def __init__(
        self,
        columns: Sequence[str],
        row_actions: Sequence[str],
        kind_actions: Sequence[str],
        entry_hint: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.table = QTreeWidget(self)
        self.table.setColumnCount(len(columns))
        self.table.setHeaderLabels(list(columns))
        self.table.setRootIsDecorated(False)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.entry = QLineEdit(self)
        self.entry.setPlaceholderText(entry_hint)
        self.entry.setVisible(bool(entry_hint))
        self.progress = QLabel(self)
        self.buttons: dict[str, QPushButton] = {}
        self._row_actions = tuple(row_actions)
        bar = QHBoxLayout()
        for action in (*row_actions, *kind_actions):
            button = QPushButton(action.capitalize(), self)
            keyed = action in row_actions
            button.clicked.connect(
                lambda _=False, a=action, k=keyed: self.action_requested.emit(
                    a, self.selected() if k else self.entry.text().strip()
                )
            )
            self.buttons[action] = button
            bar.addWidget(button)
        bar.addWidget(self.entry, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    def replace_all(self, rows: Sequence[Row]) -> None:
        chosen = self.selected()
        self.table.setSortingEnabled(False)
        self.table.clear()
        for row in rows:
            item = QTreeWidgetItem(list(row.cells))
            item.setData(0, KEY_ROLE, row.key)
            self.table.addTopLevelItem(item)
            if row.key == chosen:
                item.setSelected(True)
        self.table.setSortingEnabled(True)
        self._update_buttons()

    def keys(self) -> list[str]:
        found = []
        for index in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(index)
            if item is not None:
                found.append(str(item.data(0, KEY_ROLE)))
        return found

    def column(self, index: int) -> list[str]:
        """One column's texts, top to bottom (what a user reads)."""
        texts = []
        for row in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(row)
            if item is not None:
                texts.append(item.text(index))
        return texts

    def select(self, key: str) -> None:
        for index in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(index)
            if item is not None and item.data(0, KEY_ROLE) == key:
                self.table.setCurrentItem(item)

    def selected(self) -> str:
        items = self.table.selectedItems()
        return str(items[0].data(0, KEY_ROLE)) if items else ""

    def _update_buttons(self) -> None:
        chosen = bool(self.selected())
        for action in self._row_actions:
            self.buttons[action].setEnabled(chosen)
