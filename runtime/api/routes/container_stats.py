"""GET /containers/{id}/stats: a JSON sample a second, or one (``stream=false``)."""

from __future__ import annotations

from typing import Any

from cove.runtime.api.server import HANDLED, Request, Route
from cove.runtime.api.streams import peer_closed
from cove.runtime.engine import stats as container_stats


def routes(engine: Any) -> list[Route]:
    containers = engine.containers

    def stats(req: Request) -> Any:
        container = containers.get(req.args["id"])
        conn = req.handler.connection
        samples = container_stats.stats(
            container, containers.cgroup(container), stream=req.flag("stream", True),
            one_shot=req.flag("one-shot"), client_gone=lambda: peer_closed(conn),
            is_running=lambda: container.running and not container.removed)
        out = req.start_stream("application/json")
        try:
            for message in samples:
                out.write_json(message)
        except (BrokenPipeError, ConnectionResetError):
            return HANDLED
        out.close()
        return HANDLED

    return [("GET", "/containers/{id}/stats", stats)]
