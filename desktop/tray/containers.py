"""The containers list as data: rows from ``GET /containers/json`` and what an event from
``GET /events`` does to them.

Events are read by ``Action`` and ``Actor.ID`` only: Docker 29 (API 1.52) dropped the old
top-level ``status``, ``id`` and ``from`` fields, and an app that reads them goes stale.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

# actions that change nothing the list shows (exec, attach and file copies)
_QUIET_ACTIONS = frozenset({
    "attach", "detach", "resize", "top", "exec_create", "exec_start", "exec_die",
    "exec_detach", "archive-path", "extract-to-dir", "copy", "export", "commit",
})  # fmt: skip


@dataclass(frozen=True)
class ContainerRow:
    id: str
    name: str
    image: str
    state: str
    status: str
    ports: str

    @classmethod
    def from_summary(cls, raw: Mapping[str, object]) -> ContainerRow:
        names = raw.get("Names")
        name = str(names[0]).lstrip("/") if isinstance(names, list) and names else ""
        return cls(
            id=str(raw.get("Id", "")),
            name=name,
            image=str(raw.get("Image", "")),
            state=str(raw.get("State", "")),
            status=str(raw.get("Status", "")),
            ports=format_ports(raw.get("Ports")),
        )

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")

    def published(self) -> list[str]:
        """``host:port`` of each published TCP port, for "open in browser"."""
        found = []
        for part in self.ports.split(", "):
            if "->" in part and part.endswith("/tcp"):
                found.append(part.split("->")[0])
        return found


def format_ports(raw: object) -> str:
    """As ``docker ps`` shows them: ``0.0.0.0:8080->80/tcp, 443/tcp``."""
    if not isinstance(raw, list):
        return ""
    shown = []
    for port in raw:
        if not isinstance(port, Mapping):
            continue
        private = f"{port.get('PrivatePort')}/{port.get('Type', 'tcp')}"
        public = port.get("PublicPort")
        shown.append(f"{port.get('IP') or '0.0.0.0'}:{public}->{private}" if public else private)
    return ", ".join(dict.fromkeys(shown))


class Effect(enum.Enum):
    NONE = "none"
    REFRESH = "refresh"  # fetch this container's row again
    REMOVE = "remove"  # it is gone


@dataclass(frozen=True)
class EngineEvent:
    type: str
    action: str
    actor_id: str
    time_nano: int

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> EngineEvent:
        actor = raw.get("Actor")
        actor_id = actor.get("ID", "") if isinstance(actor, Mapping) else ""
        time_nano = raw.get("timeNano")
        if not isinstance(time_nano, int):
            seconds = raw.get("time")
            time_nano = int(seconds) * 1_000_000_000 if isinstance(seconds, int | float) else 0
        return cls(
            type=str(raw.get("Type", "")),
            action=str(raw.get("Action", "")),
            actor_id=str(actor_id),
            time_nano=time_nano,
        )

    @property
    def since(self) -> str:
        """This event's time as ``/events?since=`` takes it (seconds.nanoseconds)."""
        return f"{self.time_nano // 1_000_000_000}.{self.time_nano % 1_000_000_000:09d}"

    def effect(self) -> Effect:
        if self.type != "container" or not self.actor_id:
            return Effect.NONE
        base = self.action.split(":", 1)[0].strip()  # "exec_start: sh", "health_status: ok"
        if base == "destroy":
            return Effect.REMOVE
        if base in _QUIET_ACTIONS:
            return Effect.NONE
        return Effect.REFRESH
