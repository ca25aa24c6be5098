"""A follower of the engine's open responses (events, logs): a thread of its own that
reads one response at a time, and a ``stop`` that wakes it from a blocked read by
aborting that response, so no thread outlives its window or the app."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject

from cove.desktop.client.api import APIClient
from cove.desktop.client.wire import StreamingResponse

JOIN_TIMEOUT = 5.0  # seconds stop() waits for the thread once its response is aborted


class StreamThread(QObject):
    thread_name = "cove-stream"

    def __init__(self, client: APIClient, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self._stopping = threading.Event()
        self._response: StreamingResponse | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    @property
    def streaming(self) -> bool:
        """Whether a response is open now."""
        return self._response is not None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """End the thread, waking it from a blocked read."""
        self._stopping.set()
        response = self._response
        if response is not None:
            response.abort()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT)
            self._thread = None

    def _hold(self, response: StreamingResponse) -> bool:
        """Keep ``response`` as the one ``stop`` aborts; False when stop() came first."""
        self._response = response
        return not self._stopping.is_set()

    def _release(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def _run(self) -> None:
        raise NotImplementedError
