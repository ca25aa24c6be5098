"""Follows the engine: ``GET /events`` as it happens, whether the engine answers, and a
slow resync as the fallback for anything the stream missed.

A thread of its own (not a pool worker: it blocks for the app's life) reads the stream;
``stop`` aborts the open response, so the thread ends at once. The client's socket
timeout is the heartbeat: an idle stream ends every ``idle`` seconds and is reopened from
the last event's time, so a wedged connection is noticed within that. When the engine stops answering the thread
pings it every ``retry`` seconds and says so the moment it answers again; every time
it comes up the app reloads in full, since events of the gap are lost; the stream is
opened from a little before that, so no event falls between the reload and the stream.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QObject, Signal

from cove.desktop.client.api import APIClient
from cove.desktop.client.errors import ClientError, NotImplementedByDaemon
from cove.desktop.client.wire import iter_json_lines

from .containers import EngineEvent
from .stream_thread import StreamThread

IDLE = 5.0  # seconds an events stream may stay silent before it is reopened
RETRY = 0.25  # seconds between pings of an engine that is down
RESYNC = 30.0  # seconds between full reloads while events flow (the slow fallback)
POLL = 3.0  # seconds between full reloads of an engine without /events
SKEW = 1.0  # seconds the engine's clock may trail ours (a VM's is kept within 0.1 s)


class EventsFollower(StreamThread):
    """Emits ``happened`` per engine event, ``up``/``down`` on changes of the engine's
    reachability, and ``resync`` when the whole list should be read again."""

    happened = Signal(object)  # EngineEvent
    up = Signal()
    down = Signal(str)
    resync = Signal()

    def __init__(self, host: str, parent: QObject | None = None, idle: float = IDLE,
                 retry: float = RETRY, resync_every: float = RESYNC) -> None:  # fmt: skip
        super().__init__(APIClient(host, timeout=idle), parent)
        self.retry = retry
        self.resync_every = resync_every

    thread_name = "cove-events"

    def _run(self) -> None:
        answering: bool | None = None
        since = ""
        seen: deque[EngineEvent] = deque(maxlen=256)  # a reopened stream repeats a few
        last_resync = time.monotonic()
        while not self.stopping:
            try:
                self.client.ping()
            except ClientError as exc:
                if answering is not False:
                    answering = False
                    self.down.emit(str(exc))
                self._stopping.wait(self.retry)
                continue
            if answering is not True:
                answering = True
                # from before the app hears "up" (and reloads): an event between that and
                # the stream's opening is replayed, not lost (a second covers clock skew)
                since = f"{time.time() - SKEW:.9f}"
                last_resync = time.monotonic()
                self.up.emit()
            elif time.monotonic() - last_resync > self.resync_every:
                last_resync = time.monotonic()
                self.resync.emit()
            try:
                response = self.client.events_response(since=since)
                if not self._hold(response):
                    return  # stop() came between the open and the read
                for raw in iter_json_lines(iter(response)):
                    if not isinstance(raw, dict):
                        continue
                    event = EngineEvent.from_json(raw)
                    if event in seen:
                        continue
                    seen.append(event)
                    if event.time_nano:
                        since = event.since
                    self.happened.emit(event)
                    if self.stopping:
                        return
            except NotImplementedByDaemon:
                self._poll()  # an engine without /events: reload every POLL seconds
            except (ClientError, OSError):
                pass  # idle timeout or a dropped stream: ping and reopen
            finally:
                self._release()

    def _poll(self) -> None:
        while not self._stopping.wait(POLL):
            try:
                self.client.ping()
            except ClientError:
                return
            self.resync.emit()
