"""The dashboard's logs page: one container's logs, followed as they come, with search
that highlights every match, timestamps on request, and a follow that pauses while the
user is scrolled up reading (the bottom is where new lines go, not where the reader is
dragged back to).
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from .logs import LogLine

KEPT = 20_000  # lines kept and shown; older ones are dropped
MATCH = QColor("#fbd38d")
STDOUT = QTextCharFormat()
STDERR = QTextCharFormat()
STDERR.setForeground(QColor("#c53030"))
CURRENT = QColor("#f6ad55")


class LogsPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines: deque[LogLine] = deque(maxlen=KEPT)
        self.unseen = 0  # lines that arrived while the follow was paused
        self.title = QLabel("Choose a container's Logs on the Containers page", self)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.search.returnPressed.connect(self.find_next)
        self.matches_label = QLabel(self)
        self.timestamps = QCheckBox("Timestamps", self)
        self.timestamps.toggled.connect(self._rerender)
        self.resume = QPushButton(self)
        self.resume.clicked.connect(self.scroll_to_end)
        self.resume.hide()
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setMaximumBlockCount(KEPT)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.verticalScrollBar().valueChanged.connect(self._scrolled)
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.search)
        bar.addWidget(self.matches_label)
        bar.addWidget(self.timestamps)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.resume, 0, Qt.AlignmentFlag.AlignRight)
        self._matches: list[QTextCursor] = []

    # content -------------------------------------------------------------
    def show_container(self, name: str) -> None:
        self.title.setText(f"Logs of {name}")
        self.lines.clear()
        self.view.clear()
        self.unseen = 0
        self.resume.hide()

    def append(self, lines: list[LogLine]) -> None:
        bar = self.view.verticalScrollBar()
        following = self.following
        kept = bar.value()
        self.lines.extend(lines)
        stamps = self.timestamps.isChecked()
        self._write(lines, stamps)
        if following:
            bar.setValue(bar.maximum())
        else:
            bar.setValue(kept)
            self.unseen += len(lines)
            self.resume.setText(f"Paused: {self.unseen} new lines. Follow ↓")
            self.resume.show()
        if self.search.text():
            self._highlight(move=False)

    def _write(self, lines: list[LogLine], stamps: bool) -> None:
        """Append ``lines`` at the end, stderr's in red, a run of one stream at a time."""
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        first = self.view.document().isEmpty()
        start = 0
        while start < len(lines):
            stream = lines[start].stream
            end = start
            while end < len(lines) and lines[end].stream == stream:
                end += 1
            text = "\n".join(line.shown(stamps) for line in lines[start:end])
            cursor.insertText(
                text if first else "\n" + text, STDERR if stream == "stderr" else STDOUT
            )
            first = False
            start = end
        cursor.endEditBlock()

    def text(self) -> str:
        return self.view.toPlainText()

    def _rerender(self) -> None:
        stamps = self.timestamps.isChecked()
        self.view.clear()
        self._write(list(self.lines), stamps)
        self.scroll_to_end()
        if self.search.text():
            self._highlight(move=False)

    # follow --------------------------------------------------------------
    @property
    def following(self) -> bool:
        """At the bottom (or with nothing to scroll): new lines keep it there."""
        bar = self.view.verticalScrollBar()
        return bar.value() >= bar.maximum()

    def scroll_to_end(self) -> None:
        bar = self.view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _scrolled(self, value: int) -> None:
        if value >= self.view.verticalScrollBar().maximum():
            self.unseen = 0
            self.resume.hide()

    # search --------------------------------------------------------------
    @property
    def match_count(self) -> int:
        return len(self._matches)

    def _search_changed(self, _: str) -> None:
        self._highlight(move=True)

    def _highlight(self, move: bool) -> None:
        """Mark every match; with ``move``, select the first one after the cursor."""
        needle = self.search.text()
        self._matches = []
        document = self.view.document()
        if needle:
            cursor = document.find(needle, 0, QTextDocument.FindFlag(0))
            while not cursor.isNull():
                self._matches.append(cursor)
                cursor = document.find(needle, cursor, QTextDocument.FindFlag(0))
        self.matches_label.setText(f"{len(self._matches)} found" if needle else "")
        self._paint(self.view.textCursor())
        if move and self._matches:
            self.find_next()

    def find_next(self) -> None:
        """Select the next match (wrapping), scrolling to it: reading pauses the follow."""
        if not self._matches:
            return
        here = self.view.textCursor().selectionEnd()
        following = [c for c in self._matches if c.selectionStart() >= here]
        target = following[0] if following else self._matches[0]
        self.view.setTextCursor(target)
        self.view.ensureCursorVisible()
        self._paint(target)

    def _paint(self, current: QTextCursor) -> None:
        selections = []
        for cursor in self._matches:
            selection = QTextEdit.ExtraSelection()
            selection.cursor = cursor
            fmt = QTextCharFormat()
            same = cursor.selectionStart() == current.selectionStart()
            fmt.setBackground(CURRENT if same else MATCH)
            selection.format = fmt
            selections.append(selection)
        self.view.setExtraSelections(selections)

    def selected_text(self) -> str:
        return self.view.textCursor().selectedText()
