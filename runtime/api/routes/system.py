"""/_ping, /version, /info, /events, /system/df, and /networks/prune.

There are no user-defined networks yet (containers get a loopback-only namespace), so
``POST /networks/prune`` honestly deletes nothing. It exists because ``docker system
prune`` calls it between the container and image prunes and stops at a 404.
"""

from __future__ import annotations

import queue
import time
from typing import Any

from cove.runtime import errors
from cove.runtime.api.server import API_VERSION, HANDLED, Request, Route
from cove.runtime.api.streams import peer_closed
from cove.runtime.engine import system
from cove.runtime.engine.events import matches


def routes(engine: Any) -> list[Route]:
    def ping(req: Request) -> Any:
        req.handler.send_raw(200, {
            "Content-Type": "text/plain; charset=utf-8", "API-Version": API_VERSION,
            "Docker-Experimental": "false", "OSType": "linux", "Builder-Version": "1",
            "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
        }, b"OK")
        req.responded = True
        return HANDLED

    def version(req: Request) -> Any:
        return system.version()

    def info(req: Request) -> Any:
        return system.info(engine)

    def disk_usage(req: Request) -> Any:
        from cove.runtime.engine.disk_usage import disk_usage as usage

        return usage(engine)

    def prune_networks(req: Request) -> Any:
        for key in req.filters():
            if key not in ("until", "label", "label!"):
                raise errors.InvalidParameter(f"invalid filter '{key}'")
        return {"NetworksDeleted": None}

    def events(req: Request) -> Any:
        filters = req.filters()
        for key in filters:
            if key not in ("type", "event", "action", "container", "image", "label", "scope",
                           "network", "volume", "daemon", "plugin", "node", "service",
                           "secret", "config"):
                raise errors.InvalidParameter(f"invalid filter '{key}'")
        since, until = _time_param(req, "since"), _time_param(req, "until")
        past, q = engine.events.subscribe(int(since * 1e9) if since is not None else None)
        try:
            out = req.start_stream("application/json")
            for event in past:
                if until is not None and event["timeNano"] > until * 1e9:
                    break
                if matches(event, filters):
                    out.write_json(event)
            while until is None or time.time() < until:
                try:
                    event = q.get(timeout=0.5)
                except queue.Empty:
                    if peer_closed(req.handler.connection):
                        return HANDLED
                    continue
                if until is not None and event["timeNano"] > until * 1e9:
                    break
                if matches(event, filters):
                    out.write_json(event)
            out.close()
        finally:
            engine.events.unsubscribe(q)
        return HANDLED

    return [
        ("GET", "/_ping", ping),
        ("GET", "/version", version),
        ("GET", "/info", info),
        ("GET", "/events", events),
        ("POST", "/networks/prune", prune_networks),
        ("GET", "/system/df", disk_usage),
    ]


def _time_param(req: Request, name: str) -> float | None:
    value = req.param(name)
    if not value:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise errors.InvalidParameter(f"invalid {name} value: {value}") from exc
