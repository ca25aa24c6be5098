"""The step cache: a build step's parent image and inputs -> the image built for them.

A later build that meets the same step on the same parent takes that image instead of
running the step again; ``builder prune --all`` forgets every entry.
"""

from __future__ import annotations

import hashlib
import threading

from cove.runtime.store.layout import Layout, atomic_write_json, read_json


class BuildCache:
    """(parent image, step inputs) -> image built for them, kept in one small JSON file."""

    def __init__(self, layout: Layout) -> None:
        self._path = layout.build_cache
        self._lock = threading.Lock()
        try:
            self._entries: dict[str, str] = read_json(self._path)
        except (OSError, ValueError):
            self._entries = {}

    @staticmethod
    def key(parent: str, step: str) -> str:
        return hashlib.sha256(f"{parent}\n{step}".encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, image_id: str) -> None:
        with self._lock:
            self._entries[key] = image_id
            atomic_write_json(self._path, self._entries)

    def clear(self) -> list[str]:
        """Forget every step (the next build runs them all again); the keys dropped."""
        with self._lock:
            dropped = list(self._entries)
            self._entries = {}
            atomic_write_json(self._path, self._entries)
            return dropped
