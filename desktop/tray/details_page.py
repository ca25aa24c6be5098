"""The dashboard's details page: one container's inspect, by section, and the raw JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping

from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .details import sections


class DetailsPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Choose a container's Details on the Containers page", self)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["", "Value"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.raw = QPlainTextEdit(self)
        self.raw.setReadOnly(True)
        split = QSplitter(self)
        split.addWidget(self.tree)
        split.addWidget(self.raw)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)

    def show_container(self, inspected: Mapping[str, object]) -> None:
        name = str(inspected.get("Name", "")).lstrip("/")
        self.title.setText(f"Details of {name}")
        self.tree.clear()
        for heading, rows in sections(inspected):
            top = QTreeWidgetItem(
                [f"{heading} ({len(rows)})" if heading != "Overview" else heading]
            )
            for key, value in rows:
                top.addChild(QTreeWidgetItem([key, value]))
            self.tree.addTopLevelItem(top)
            top.setExpanded(heading in ("Overview", "Ports", "Mounts"))
        self.raw.setPlainText(json.dumps(inspected, indent=2))

    def value(self, heading: str, key: str) -> str | None:
        """The value shown under ``heading`` for ``key`` (what a user reads)."""
        for index in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(index)
            if top is None or not top.text(0).startswith(heading):
                continue
            for row in range(top.childCount()):
                child = top.child(row)
                if child is not None and child.text(0) == key:
                    return child.text(1)
        return None
