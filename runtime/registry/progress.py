"""Docker's JSON progress messages for pull and push, in the shapes the docker CLI renders.

Each message is one object of ``jsonmessage.JSONMessage``: ``status``, ``id``,
``progressDetail`` (``current``/``total``) and the ``progress`` text dockerd
pre-renders for clients without a terminal. ``Throttle`` keeps a fast download from
flooding the stream (dockerd sends at most one update per 100 ms per layer).
"""

from __future__ import annotations

import time
from typing import Any

Message = dict[str, Any]
BAR_WIDTH = 50
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def short_id(digest: str) -> str:
    return digest.partition(":")[2][:12] if ":" in digest else digest[:12]


def human_size(size: float) -> str:
    """go-units ``HumanSize``: decimal units, four significant digits."""
    i = 0
    while size >= 1000 and i < len(_UNITS) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.4g}{_UNITS[i]}"


def progress_bar(current: int, total: int) -> str:
    """``JSONProgress.String()`` at dockerd's width: ``[===>   ]  1.2MB/2.3MB``."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    filled = min(int(current / total * 100) // 2, BAR_WIDTH)
    bar = f"[{'=' * filled}>{' ' * max(BAR_WIDTH - filled, 0)}] "
    return f"{bar}{human_size(current):>8}/{human_size(total)}"


def status(text: str, id_: str | None = None) -> Message:
    message: Message = {"status": text}
    if id_ is not None:
        message["id"] = id_
    return message


def layer(text: str, id_: str) -> Message:
    return {"status": text, "progressDetail": {}, "id": id_}


def bar(text: str, id_: str, current: int, total: int) -> Message:
    return {"status": text, "progressDetail": {"current": current, "total": total},
            "progress": progress_bar(current, total), "id": id_}


def push_result(tag: str, digest: str, size: int) -> list[Message]:
    """Two messages, as dockerd sends them: the CLI prints the first and hands the
    second (``aux``) to its callback without printing it."""
    return [{"status": f"{tag}: digest: {digest} size: {size}"},
            {"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest, "Size": size}}]


class Throttle:
    """True at most every ``interval`` seconds (and always for the last update)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last = 0.0

    def ready(self, final: bool = False) -> bool:
        now = time.monotonic()
        if final or now - self._last >= self.interval:
            self._last = now
            return True
        return False
