"""A container's logs as they are written: ``GET /containers/{id}/logs?follow=1`` on a
thread, split into lines by stream, with the daemon's timestamps.

The frames are taken apart by the CLI's own ``write_frames`` (the code behind
``cove logs``), writing into line sinks instead of the terminal.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from cove.desktop.client.api import APIClient
from cove.desktop.client.errors import ClientError
from cove.desktop.client.streams import write_frames
from cove.desktop.client.wire import StreamingResponse

from .stream_thread import StreamThread

TAIL = 1000  # lines of history shown when the logs are opened


@dataclass(frozen=True)
class LogLine:
    stream: str  # "stdout" or "stderr"
    timestamp: str  # RFC 3339 with nanoseconds, as the daemon stamps it
    text: str

    @classmethod
    def parse(cls, stream: str, raw: str) -> LogLine:
        """A line as the daemon sends it with ``timestamps=1``: ``<time> <text>``."""
        stamp, space, text = raw.partition(" ")
        if not space or not stamp[:4].isdigit() or "T" not in stamp:
            return cls(stream, "", raw)
        return cls(stream, stamp, text)

    def shown(self, timestamps: bool) -> str:
        return f"{self.timestamp} {self.text}" if timestamps and self.timestamp else self.text


class _LineSink(io.BytesIO):
    """A stream of the container as lines: ``write_frames`` writes and flushes here."""

    def __init__(self, stream: str, lines: list[LogLine]) -> None:
        super().__init__()
        self.stream = stream
        self.lines = lines
        self.partial = b""

    def write(self, data: bytes) -> int:  # type: ignore[override]  # bytes only
        self.partial += data
        *complete, self.partial = self.partial.split(b"\n")
        for raw in complete:
            text = raw.decode("utf-8", "replace").rstrip("\r")
            self.lines.append(LogLine.parse(self.stream, text))
        return len(data)


class LogsFollower(StreamThread):
    """Emits ``arrived`` with each batch of lines, then ``ended`` with why it ended."""

    arrived = Signal(object)  # list[LogLine]
    ended = Signal(str)

    def __init__(self, host: str, container_id: str, parent: QObject | None = None) -> None:
        super().__init__(APIClient(host), parent)
        self.container_id = container_id

    thread_name = "cove-logs"

    def _run(self) -> None:
        pending: list[LogLine] = []
        try:
            inspected = self.client.inspect_container(self.container_id) or {}
            tty = bool(inspected.get("Config", {}).get("Tty"))
            response = self.client.logs(
                self.container_id, follow=True, timestamps=True, tail=str(TAIL)
            )
            if not self._hold(response):
                return
            out, err = _LineSink("stdout", pending), _LineSink("stderr", pending)
            write_frames(self._batches(response, pending), out, err, tty)
        except (ClientError, OSError, ValueError) as exc:
            if not self.stopping:
                self.ended.emit(str(exc))
            return
        finally:
            self._release()
        if not self.stopping:
            self.ended.emit("")

    def _batches(self, response: StreamingResponse, pending: list[LogLine]) -> Iterator[bytes]:
        """The response's chunks; before each, the lines the previous one completed go out."""
        for chunk in response:
            yield chunk
            self._send(pending)
        self._send(pending)

    def _send(self, pending: list[LogLine]) -> None:
        if pending and not self.stopping:
            self.arrived.emit(list(pending))
        pending.clear()
