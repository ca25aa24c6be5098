"""Health checks: the image's ``HEALTHCHECK`` (or ``--health-*``) run as dockerd runs it.

While a container with a check runs, a thread runs the probe in it every ``Interval``
(an exec, as dockerd's probes are) and keeps ``State.Health``: ``starting`` until the
first success, ``healthy``, or ``unhealthy`` after ``Retries`` failures in a row;
failures inside ``StartPeriod`` do not count. The last five results are kept in
``Log`` with their (truncated) output, and every change of status is an event
(``health_status: healthy``) - which is what ``docker ps`` shows and what compose's
``depends_on: condition: service_healthy`` waits for.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.record import now_rfc3339

log = logging.getLogger("coved.health")

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096
STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"


_LONGEST_WAIT = 365 * 24 * 3600.0  # a year: longer waits overflow the platform's time_t


def _seconds(nanoseconds: Any, default: float) -> float:
    """A Healthcheck duration (ns) in seconds. Any int64 is valid in the API: past a year
    it is cut to a year (no one tells the difference) rather than overflow the wait and
    kill the check's thread."""
    if not isinstance(nanoseconds, int) or nanoseconds <= 0:
        return default
    return min(nanoseconds / 1e9, _LONGEST_WAIT)


def probe_command(check: dict[str, Any] | None, shell: list[str] | None) -> list[str] | None:
    """The argv of the probe, or None when the container has no (enabled) check."""
    test = list((check or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return test[1:] or None
    if test[0] == "CMD-SHELL":
        return [*(shell or ["/bin/sh", "-c"]), " ".join(test[1:])]
    raise errors.InvalidParameter(f"unknown healthcheck type {test[0]!r}")


class _Probe:
    """One check of one container, on its own thread until the container stops."""

    def __init__(self, monitor: HealthMonitor, container: Any, argv: list[str]) -> None:
        check = container.config.get("Healthcheck") or {}
        self.monitor, self.container, self.argv = monitor, container, argv
        self.interval = _seconds(check.get("Interval"), DEFAULT_INTERVAL)
        self.timeout = _seconds(check.get("Timeout"), DEFAULT_TIMEOUT)
        self.start_period = _seconds(check.get("StartPeriod"), 0.0)
        retries = check.get("Retries")
        self.retries = retries if isinstance(retries, int) and retries > 0 else DEFAULT_RETRIES
        self.stop = threading.Event()
        self.started = time.monotonic()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            if not self.container.running or self.container.removed:
                return
            try:
                code, output, start, end = self._probe_once()
            except errors.EngineError as exc:  # stopped between the check and the exec
                if not self.container.running:
                    return
                code, output, start, end = -1, exc.message, now_rfc3339(), now_rfc3339()
            self._record(code, output, start, end)

    def _probe_once(self) -> tuple[int, str, str, str]:
        execs = self.monitor.execs
        eid = execs.create(self.container.id, {"Cmd": self.argv, "AttachStdout": True,
                                               "AttachStderr": True})["Id"]
        instance = execs.prepare_start(eid)
        chunks: list[bytes] = []
        size = 0

        def send(_stream: int, data: bytes) -> None:
            nonlocal size
            if size < MAX_OUTPUT:
                chunks.append(data[:MAX_OUTPUT - size])
                size += len(chunks[-1])

        start = now_rfc3339()
        runner = threading.Thread(target=execs.run_attached, args=(instance, None, send),
                                  daemon=True)
        runner.start()
        runner.join(self.timeout)
        if runner.is_alive():  # dockerd kills the probe and calls it a failure
            if instance.pid:
                try:
                    os.killpg(instance.pid, signal.SIGKILL)
                except OSError:
                    pass
            runner.join(5)
            return -1, f"Health check exceeded timeout ({self.timeout:g}s)", start, now_rfc3339()
        code = instance.exit_code if instance.exit_code is not None else -1
        return code, b"".join(chunks).decode("utf-8", "replace"), start, now_rfc3339()

    def _record(self, code: int, output: str, start: str, end: str) -> None:
        container = self.container
        with container.lock:
            if not container.running:
                return
            health = container.state.setdefault("Health", {"Status": STARTING,
                                                           "FailingStreak": 0, "Log": []})
            before = health["Status"]
            entries = (health.get("Log") or []) + [
                {"Start": start, "End": end, "ExitCode": code, "Output": output}]
            health["Log"] = entries[-MAX_LOG_ENTRIES:]
            if code == 0:
                health["Status"], health["FailingStreak"] = HEALTHY, 0
            elif time.monotonic() - self.started >= self.start_period or before != STARTING:
                health["FailingStreak"] = health.get("FailingStreak", 0) + 1
                if health["FailingStreak"] >= self.retries:
                    health["Status"] = UNHEALTHY
            after = health["Status"]
            container.save_eventually()  # a full disk must not end the probes
        if after != before:
            self.monitor.publish(container, f"health_status: {after}")


class HealthMonitor:
    """Starts a probe thread when a container with a check starts; stops it at exit.

    It follows the engine's own container events (start, die), so the lifecycle code
    needs no health hooks; ``watch`` also picks up the running containers a restarted
    daemon adopted.
    """

    def __init__(self, containers: Any, execs: Any) -> None:
        self.containers = containers
        self.execs = execs
        self.publish = containers.publish
        self._probes: dict[str, _Probe] = {}
        self._lock = threading.Lock()
        self._queue: Any = None

    def watch(self, events: Any) -> None:
        _past, self._queue = events.subscribe()
        for summary in self.containers.list(False, None, False, {}):
            self.started(self.containers.get(summary["Id"]))
        threading.Thread(target=self._follow, args=(events, self._queue), name="health",
                         daemon=True).start()

    def _follow(self, events: Any, q: Any) -> None:
        while True:
            event = q.get()
            if event is None:
                events.unsubscribe(q)
                return
            if event.get("Type") != "container":
                continue
            action = event.get("Action")
            if action in ("start", "die"):
                try:
                    container = self.containers.get(event["Actor"]["ID"])
                except errors.EngineError:
                    continue
                if action == "start":
                    self.started(container)
                else:
                    self.stopped(container)

    def started(self, container: Any) -> None:
        try:
            argv = probe_command(container.config.get("Healthcheck"),
                                 container.config.get("Shell"))
        except errors.EngineError as exc:
            log.warning("container %s: %s", container.id[:12], exc.message)
            return
        if argv is None:
            return
        with container.lock:
            container.state["Health"] = {"Status": STARTING, "FailingStreak": 0, "Log": []}
        probe = _Probe(self, container, argv)
        with self._lock:
            old = self._probes.pop(container.id, None)
            self._probes[container.id] = probe
        if old is not None:
            old.stop.set()
        threading.Thread(target=probe.run, name=f"health-{container.id[:12]}",
                         daemon=True).start()

    def stopped(self, container: Any) -> None:
        with self._lock:
            probe = self._probes.pop(container.id, None)
        if probe is not None:
            probe.stop.set()

    def close(self) -> None:
        if self._queue is not None:
            self._queue.put(None)
        with self._lock:
            probes, self._probes = list(self._probes.values()), {}
        for probe in probes:
            probe.stop.set()
