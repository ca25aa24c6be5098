"""Blocking work (API calls, starting the machine) off the UI thread, on a QThreadPool.

A call's result or exception comes back as a queued signal to an object living on the
UI thread, so callbacks always run there and may touch widgets; an exception is handed
to the error callback, never raised into Qt's event loop (where it would end the app).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

T = TypeVar("T")
MAX_THREADS = 4


class _Relay(QObject):
    """Carries one task's outcome to the UI thread (created there, so queued)."""

    done = Signal(int, object)
    failed = Signal(int, object)


class _Task(QRunnable):
    def __init__(self, token: int, work: Callable[[], object], relay: _Relay) -> None:
        super().__init__()
        self.token = token
        self.work = work
        self.relay = relay

    def run(self) -> None:
        try:
            result = self.work()
        except Exception as exc:  # noqa: BLE001 - every failure goes to the error callback
            self.relay.failed.emit(self.token, exc)
        else:
            self.relay.done.emit(self.token, result)


class Workers(QObject):
    """Runs ``work`` on a pool thread, then ``on_done(result)`` or ``on_error(exc)`` here."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(MAX_THREADS)
        self._relay = _Relay(self)
        self._relay.done.connect(self._done)
        self._relay.failed.connect(self._failed)
        self._tokens = itertools.count()
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[Exception], None]]] = {}

    def run(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        token = next(self._tokens)
        self._callbacks[token] = (on_done, on_error)
        self.pool.start(_Task(token, work, self._relay))

    @property
    def busy(self) -> int:
        """How many calls have not delivered their outcome yet."""
        return len(self._callbacks)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Wait for the pool's threads (at quit: no thread outlives the app)."""
        return bool(self.pool.waitForDone(timeout_ms))

    @Slot(int, object)
    def _done(self, token: int, result: object) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is not None:
            callbacks[0](result)

    @Slot(int, object)
    def _failed(self, token: int, exc: object) -> None:
        callbacks = self._callbacks.pop(token, None)
        if callbacks is not None:
            assert isinstance(exc, Exception)
            callbacks[1](exc)
