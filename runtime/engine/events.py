"""Docker's event stream: container and image lifecycle messages.

Subscribers get every event published after they subscribe; a bounded history
answers ``--since``. Events are the dicts ``GET /events`` sends, in the shape of
API 1.41 (with the legacy ``status``/``id``/``from`` fields the CLI still reads).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from typing import Any

HISTORY = 1024


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)
        self._subscribers: set[queue.Queue[dict[str, Any]]] = set()

    def publish(self, kind: str, action: str, actor_id: str,
                attributes: dict[str, str] | None = None) -> None:
        now = time.time_ns()
        event: dict[str, Any] = {
            "Type": kind,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": dict(attributes or {})},
            "scope": "local",
            "time": now // 1_000_000_000,
            "timeNano": now,
        }
        if kind == "container":
            event["status"] = action
            event["id"] = actor_id
            event["from"] = (attributes or {}).get("image", "")
        with self._lock:
            self._history.append(event)
            for q in self._subscribers:
                q.put(event)

    def subscribe(self, since_ns: int | None = None) -> tuple[list[dict[str, Any]], queue.Queue[dict[str, Any]]]:
        """Past events at or after ``since_ns`` and a queue of the ones to come."""
        q: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            past = [e for e in self._history if since_ns is not None and e["timeNano"] >= since_ns]
            self._subscribers.add(q)
        return past, q

    def unsubscribe(self, q: queue.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers.discard(q)


def matches(event: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    """Docker's event filters: type, event/action, container, network, image, label."""
    actor = event["Actor"]
    attrs = actor["Attributes"]
    for key, values in filters.items():
        if not values:
            continue
        if key == "type" and event["Type"] not in values:
            return False
        if key in ("event", "action") and not any(
                event["Action"] == v or event["Action"].split(":")[0] == v for v in values):
            return False
        if key == "container" and (event["Type"] != "container" or not any(
                actor["ID"].startswith(v) or attrs.get("name") == v for v in values)):
            return False
        if key == "network" and (event["Type"] != "network" or not any(
                actor["ID"].startswith(v) or attrs.get("name", "").startswith(v)
                for v in values)):
            return False
        if key == "image" and not any(
                attrs.get("image") == v or attrs.get("name") == v or actor["ID"] == v for v in values):
            return False
        if key == "label":
            for v in values:
                k, _, want = v.partition("=")
                if k not in attrs or (want and attrs[k] != want):
                    return False
    return True
