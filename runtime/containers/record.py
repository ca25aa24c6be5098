"""A container's record: its configuration and state, persisted atomically.

The record is kept in the shape ``GET /containers/{id}/json`` returns (so inspect is
a copy), plus a few private fields under ``_cove``. Every change goes through
``save`` (write, fsync, rename), so a crash leaves the previous or the new record.
Waiters (``wait``, attach, restart monitors) block on ``changed``.
"""

from __future__ import annotations

import copy
import enum
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from cove.runtime.store.layout import Layout, atomic_write_json, read_json

ZERO_TIME = "0001-01-01T00:00:00Z"
SAVE_RETRY_FIRST, SAVE_RETRY_MAX = 0.25, 10.0  # backoff of a save the disk refused

log = logging.getLogger(__name__)


class Status(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"


def now_rfc3339() -> str:
    """RFC 3339 with nanoseconds, UTC, as Go's time.RFC3339Nano prints it."""
    ns = time.time_ns()
    return format_ns(ns)


def format_ns(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch for an RFC 3339 time (nanoseconds allowed)."""
    if not text or text.startswith("0001-"):
        return 0.0
    main, _, rest = text.partition(".")
    frac = ""
    if rest:
        digits = ""
        for ch in rest:
            if ch.isdigit():
                digits += ch
            else:
                break
        frac = digits
    base = datetime.strptime(main.rstrip("Z"), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return base.timestamp() + (float("0." + frac) if frac else 0.0)


class Container:
    def __init__(self, layout: Layout, data: dict[str, Any]) -> None:
        self.layout = layout
        self.data = data
        self.lock = threading.RLock()
        self.op_lock = threading.Lock()  # serialises start/stop/restart
        self.changed = threading.Condition(self.lock)
        self.exit_seq = 0  # bumped at every exit, for wait condition=next-exit
        self.last_exit_code = 0  # kept for waiters even when a restart resets ExitCode
        self.removed = False
        self.pending_attaches: list[Any] = []
        self._save_retrying = False

    @property
    def id(self) -> str:
        return cast(str, self.data["Id"])

    @property
    def name(self) -> str:
        return cast(str, self.data["Name"]).lstrip("/")

    @property
    def state(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.data["State"])

    @property
    def config(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.data["Config"])

    @property
    def host_config(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.data["HostConfig"])

    @property
    def private(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.data.setdefault("_cove", {}))

    @property
    def status(self) -> Status:
        return Status(self.state["Status"])

    @property
    def running(self) -> bool:
        return bool(self.state["Running"])

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    def inspect(self) -> dict[str, Any]:
        """The record as inspect shows it. A container waiting out its restart delay reads
        Running as well as Restarting, as dockerd's SetRestarting leaves it (the record
        itself keeps Running for a live process)."""
        with self.lock:
            data = copy.deepcopy(self.data)
        data.pop("_cove", None)
        if data["State"].get("Restarting"):
            data["State"]["Running"] = True
        return data

    def save(self) -> None:
        """Write the record as it is in memory; raises OSError when the disk refuses."""
        with self.lock:
            atomic_write_json(self.layout.container_config(self.id), self.data, 0o600)

    def change(self, apply: Callable[[dict[str, Any]], None]) -> None:
        """Apply ``apply`` to the record on disk first, then in memory: when the write
        fails (a full disk) the OSError is raised and the record is as it was, in both."""
        with self.lock:
            updated = copy.deepcopy(self.data)
            apply(updated)
            atomic_write_json(self.layout.container_config(self.id), updated, 0o600)
            apply(self.data)

    def save_eventually(self) -> None:
        """Save a change that has already happened (an exit): the state in memory is the
        truth, so a write the disk refuses is retried in the background, with backoff,
        until it lands or the container is removed; the caller never sees the failure."""
        with self.lock:
            try:
                self.save()
                return
            except OSError as exc:
                if self._save_retrying:
                    return
                self._save_retrying = True
                log.warning("saving container %s failed (%s); retrying in the background",
                            self.id[:12], exc)
        threading.Thread(target=self._retry_save, name=f"save-{self.id[:12]}",
                         daemon=True).start()

    def _retry_save(self) -> None:
        delay = SAVE_RETRY_FIRST
        attempts = 0
        while True:
            time.sleep(delay)
            attempts += 1
            with self.lock:
                if self.removed:
                    self._save_retrying = False
                    return
                try:
                    self.save()
                except OSError:
                    delay = min(delay * 2, SAVE_RETRY_MAX)
                    continue
                self._save_retrying = False
            log.info("container %s saved after %d retries", self.id[:12], attempts)
            return

    @classmethod
    def load(cls, layout: Layout, cid: str) -> Container:
        return cls(layout, read_json(layout.container_config(cid)))

    # state transitions (caller holds the lock and saves)
    def set_running(self, pid: int) -> None:
        self.state.update(Status="running", Running=True, Paused=False, Restarting=False,
                          OOMKilled=False, Dead=False, Pid=pid, ExitCode=0, Error="",
                          StartedAt=now_rfc3339())
        self.changed.notify_all()

    def set_exited(self, exit_code: int, oom_killed: bool, finished_at: str | None = None) -> None:
        self.state.update(Status="exited", Running=False, Paused=False, Restarting=False,
                          OOMKilled=oom_killed, Pid=0, ExitCode=exit_code,
                          FinishedAt=finished_at or now_rfc3339())
        self.exit_seq += 1
        self.last_exit_code = exit_code
        self.changed.notify_all()

    def set_start_failed(self, exit_code: int, message: str) -> None:
        self.state.update(ExitCode=exit_code, Error=message, Running=False, Pid=0)
        self.changed.notify_all()

    def uptime_text(self) -> str:
        """The STATUS column of ``docker ps``, as dockerd's State.String() says it."""
        from cove.common.humanize import human_duration

        st = self.state
        status = st["Status"]
        now = time.time()
        if st["Running"]:
            text = "Up " + human_duration(now - parse_rfc3339(st["StartedAt"]))
            if st["Paused"]:
                return text + " (Paused)"
            health = (st.get("Health") or {}).get("Status")
            if health == "starting":
                return text + " (health: starting)"
            if health:
                return f"{text} ({health})"
            return text
        if status == "restarting":
            return f"Restarting ({st['ExitCode']}) {human_duration(now - parse_rfc3339(st['FinishedAt']))} ago"
        if status == "removing":
            return "Removal In Progress"
        if status == "dead":
            return "Dead"
        if status == "created" or st["FinishedAt"] == ZERO_TIME:
            return "Created"
        return f"Exited ({st['ExitCode']}) {human_duration(now - parse_rfc3339(st['FinishedAt']))} ago"
