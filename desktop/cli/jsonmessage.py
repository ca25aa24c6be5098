"""Docker's JSON progress stream rendered as docker renders it (moby ``pkg/jsonmessage``).

pull, push, load and build answer with a stream of ``{"status", "id", "progressDetail",
"progress", "error"...}`` objects. On a terminal each layer id owns a line that later
messages rewrite in place (cursor up, erase line, write, cursor down); otherwise only the
messages without a progress bar are printed, one per line. The byte sequence matches the
docker CLI's, which the unit tests check against captured docker output.
"""

from __future__ import annotations

import os

from .errors import StreamError
from .units import human_size

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TextIO

DEFAULT_WIDTH = 200
"""Width docker assumes when the terminal's size cannot be read."""


class Discard:
    """Where ``-q`` sends a progress stream (Go's ``io.Discard``)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _go_duration(seconds: int) -> str:
    """Go's ``Duration.String`` for whole seconds: ``0s``, ``45s``, ``2m5s``, ``1h0m3s``."""
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def progress_string(detail: dict[str, Any], width: int, now: float | None = None) -> str:
    """``JSONProgress.String``: bar (only wider than 110 columns), counts, time left."""
    current = int(detail.get("current") or 0)
    total = int(detail.get("total") or 0)
    units = str(detail.get("units") or "")
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current, 4):>8}" if not units else f"{current} {units}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = ""
    if width > 110:
        bar = "[" + "=" * percentage + ">" + " " * max(50 - percentage, 0) + "] "
    numbers = ""
    if detail.get("hidecounts"):
        pass
    elif not units:
        numbers = f"{human_size(current, 4):>8}/{human_size(total, 4)}"
        if current > total:
            numbers = f"{human_size(current, 4):>8}"
    else:
        numbers = f"{current}/{total} {units}"
        if current > total:
            numbers = f"{current} {units}"
    left = ""
    start = int(detail.get("start") or 0)
    if current > 0 and start > 0 and percentage < 50:
        import time

        elapsed_ns = int(((now if now is not None else time.time()) - start) * 1e9)
        per_entry = elapsed_ns // current
        remaining = (total - current) * per_entry // 1_000_000_000
        if width > 50:
            left = " " + _go_duration(remaining)
    return bar + numbers + left


def _timestamp(message: dict[str, Any]) -> str:
    """RFC3339NanoFixed prefix for messages carrying ``timeNano``/``time``."""
    import time

    nano = int(message.get("timeNano") or 0)
    seconds = int(message.get("time") or 0)
    if not nano and not seconds:
        return ""
    if nano:
        seconds, fraction = divmod(nano, 1_000_000_000)
    else:
        fraction = 0
    local = time.localtime(seconds)
    offset = time.strftime("%z", local)
    zone = "Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{fraction:09d}{zone} "


def display(message: dict[str, Any], out: TextIO, terminal: bool, width: int) -> None:
    """One message (``JSONMessage.Display``); raises ``StreamError`` for an error."""
    error = message.get("errorDetail")
    if error or message.get("error"):
        detail = error if isinstance(error, dict) else {}
        raise StreamError(str(detail.get("message") or message.get("error") or ""),
                          int(detail.get("code") or 0))
    progress_detail = message.get("progressDetail")
    has_progress = isinstance(progress_detail, dict)
    stream = message.get("stream") or ""
    progress = progress_string(progress_detail, width) if isinstance(progress_detail, dict) else ""
    endl = ""
    if terminal and not stream and has_progress:
        out.write("\x1b[2K\r")
        endl = "\r"
    elif has_progress and progress:
        return  # no progress bars off a terminal
    parts = [_timestamp(message)]
    if message.get("id"):
        parts.append(f"{message['id']}: ")
    if message.get("from"):
        parts.append(f"(from {message['from']}) ")
    status = message.get("status") or ""
    if has_progress and terminal:
        parts.append(f"{status} {progress}{endl}")
    elif message.get("progress"):
        parts.append(f"{status} {message['progress']}{endl}")
    elif stream:
        parts.append(f"{stream}{endl}")
    else:
        parts.append(f"{status}{endl}\n")
    out.write("".join(parts))


def terminal_width(out: TextIO) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return DEFAULT_WIDTH


def is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (ValueError, AttributeError):
        return False


def display_stream(messages: Iterable[Any], out: TextIO, terminal: bool | None = None,
                   width: int | None = None,
                   aux: Callable[[dict[str, Any]], None] | None = None) -> None:
    """``DisplayJSONMessagesStream``: render every message; the first error is raised.

    ``terminal``/``width`` default to what ``out`` is; tests pass them explicitly.
    """
    if terminal is None:
        terminal = is_terminal(out)
    if width is None:
        width = terminal_width(out) if terminal else DEFAULT_WIDTH
    lines: dict[str, int] = {}
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("aux") is not None:
            if aux is not None:
                aux(message)
            continue
        ident = message.get("id") or ""
        diff = 0
        tracked = ident and (isinstance(message.get("progressDetail"), dict)
                             or message.get("progress"))
        if tracked:
            line = lines.get(ident)
            if line is None:
                line = len(lines)
                lines[ident] = line
                if terminal:
                    out.write("\n")
            diff = len(lines) - line
            if terminal and diff:
                out.write(f"\x1b[{diff}A")
        else:
            lines = {}  # a line without progress ends the block of updatable lines
        try:
            display(message, out, terminal, width)
        finally:
            if ident and terminal and diff:
                out.write(f"\x1b[{diff}B")
            out.flush()
