"""What pull and push share: running work in a thread while its progress streams out,
temp dirs under the data root's tmp/, and blob reads that stop at a size limit."""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidParameter, Unavailable
from .progress import Message

Emit = Callable[[Message], None]
Work = Callable[[Emit, threading.Event], None]
TMP_PREFIXES = ("pull-", "push-")
_DONE = object()

if TYPE_CHECKING:
    import requests


class Cancelled(Exception):
    """The client went away; the operation stops and discards its partial work."""


def stream(work: Work) -> Iterator[Message]:
    """Run ``work(emit, cancel)`` in a thread and yield what it emits, in order.

    An exception in ``work`` is raised here after the messages before it, so an
    error before the first message can still be answered as a plain HTTP error.
    Closing the iterator (the client hung up) sets ``cancel``."""
    messages: queue.Queue[object] = queue.Queue()
    cancel = threading.Event()

    def run() -> None:
        try:
            work(messages.put, cancel)
            messages.put((_DONE, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            messages.put((_DONE, exc))

    threading.Thread(target=run, name="registry-transfer", daemon=True).start()
    try:
        while True:
            item = messages.get()
            if isinstance(item, tuple) and item and item[0] is _DONE:
                if item[1] is not None:
                    raise item[1]
                return
            assert isinstance(item, dict)
            yield item
    finally:
        cancel.set()


def work_dir(tmp_root: Path, prefix: str) -> Path:
    tmp_root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_root))


def remove_leftovers(tmp_root: Path) -> None:
    """Partial downloads and uploads a crash interrupted: never visible, now gone."""
    if not tmp_root.is_dir():
        return
    for entry in tmp_root.iterdir():
        if entry.name.startswith(TMP_PREFIXES) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def read_limited(resp: requests.Response, limit: int, what: str) -> bytes:
    """The whole body, refusing more than ``limit`` bytes (a huge manifest or config)."""
    import requests

    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        resp.close()
        raise InvalidParameter(f"{what} is too large: {length} bytes, the limit is {limit}")
    parts, total = [], 0
    try:
        for chunk in resp.iter_content(1 << 16):
            total += len(chunk)
            if total > limit:
                raise InvalidParameter(f"{what} is too large: more than {limit} bytes")
            parts.append(chunk)
    except requests.RequestException as exc:
        raise Unavailable(f"reading {what}: {exc}") from exc
    finally:
        resp.close()
    return b"".join(parts)
