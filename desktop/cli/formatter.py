"""Table and ``--format`` output as docker's formatter package writes it.

A ``table`` format gets a header row and goes through a tabwriter with docker's
settings (minwidth 10, padding 3, spaces); any other format is written line by line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .template import Template, TemplateError

MIN_WIDTH = 10
PADDING = 3


def tabwrite(rows: list[list[str]], min_width: int = MIN_WIDTH) -> str:
    """Align tab-separated cells: each column padded to max(widest + 3, min_width); last cell bare."""
    widths: dict[int, int] = {}
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            widths[index] = max(widths.get(index, 0), len(cell))
    lines = []
    for row in rows:
        parts = [cell.ljust(max(widths[i] + PADDING, min_width)) for i, cell in enumerate(row[:-1])]
        if row:
            parts.append(row[-1])
        lines.append("".join(parts))
    return "".join(line + "\n" for line in lines)


def _unescape(source: str) -> str:
    return source.replace("\\t", "\t").replace("\\n", "\n")


def is_table(source: str) -> bool:
    return source.startswith("table")


def render(source: str, items: Iterable[Any], headers: dict[str, str]) -> str:
    """Execute ``source`` for every item; for ``table`` formats add the header and align."""
    table = is_table(source)
    body = _unescape(source[len("table"):].strip() if table else source)
    try:
        template = Template(body)
    except TemplateError as exc:
        raise TemplateError(f"template parsing error: {exc}") from exc
    chunks: list[str] = []
    if table:
        try:
            header = Template(body).execute(_HeaderContext(headers))
        except TemplateError:
            header = ""
        chunks.append(header)
    for item in items:
        try:
            chunks.append(template.execute(item))
        except TemplateError as exc:
            raise TemplateError(f"failed to execute template: {exc}") from exc
    if not table:
        return "".join(chunk + "\n" for chunk in chunks)
    text = "\n".join(chunks)
    rows = [line.split("\t") for line in text.split("\n")]
    return tabwrite(rows)


class _HeaderContext:
    """Dot for the header row: every known field renders as its column title."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        title = self._headers.get(name)
        if title is None:
            raise AttributeError(name)
        return _Title(title)

    def to_json(self) -> str:
        return ""


class _Title(str):
    """A header title that also answers method calls (``{{.Label "k"}}``)."""

    def __call__(self, *args: Any) -> str:
        return str(args[0]) if args else str(self)
