"""/_ping, /version, /info, /events and /system/df."""

from __future__ import annotations

import math
import queue
import time
from typing import Any

from cove.runtime import errors
from cove.runtime.api.backend import SystemBackend
from cove.runtime.api.server import HANDLED, Request, Route
from cove.runtime.api.version import API_VERSION, MIN_API_VERSION

EVENT_FILTERS = ("type", "event", "action", "container", "image", "label", "scope", "network",
                 "volume", "daemon", "plugin", "node", "service", "secret", "config")


def routes(system: SystemBackend) -> list[Route]:
    def ping(req: Request) -> Any:
        req.send_raw(200, {
            "Content-Type": "text/plain; charset=utf-8",
            "Docker-Experimental": "false", "OSType": "linux", "Builder-Version": "1",
            "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
        }, b"OK")
        return HANDLED

    def version(req: Request) -> Any:
        return system.version(API_VERSION, MIN_API_VERSION)

    def info(req: Request) -> Any:
        return system.info()

    def disk_usage(req: Request) -> Any:
        return system.disk_usage()

    def events(req: Request) -> Any:
        filters = req.filters()
        for key in filters:
            if key not in EVENT_FILTERS:
                raise errors.InvalidParameter(f"Invalid filter '{key}'")
        since, until = _time_param(req, "since"), _time_param(req, "until")
        past, q = system.subscribe(int(since * 1e9) if since is not None else None)
        try:
            out = req.start_stream("application/json")
            for event in past:
                if until is not None and event["timeNano"] > until * 1e9:
                    break
                if system.event_matches(event, filters):
                    out.write_json(event)
            while until is None or time.time() < until:
                try:
                    event = q.get(timeout=0.5)
                except queue.Empty:
                    if req.client_gone():
                        return HANDLED
                    continue
                if until is not None and event["timeNano"] > until * 1e9:
                    break
                if system.event_matches(event, filters):
                    out.write_json(event)
            out.close()
        finally:
            system.unsubscribe(q)
        return HANDLED

    return [
        ("GET", "/_ping", ping),
        ("GET", "/version", version),
        ("GET", "/info", info),
        ("GET", "/events", events),
        ("GET", "/system/df", disk_usage),
    ]


def _time_param(req: Request, name: str) -> float | None:
    value = req.param(name)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError as exc:
        raise errors.InvalidParameter(f"invalid {name} value: {value}") from exc
    if not math.isfinite(seconds):  # NaN and inf are floats, but no time
        raise errors.InvalidParameter(f"invalid {name} value: {value}")
    return seconds
