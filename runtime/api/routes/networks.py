"""/networks/...: list, inspect, create, remove, prune, connect and disconnect (Engine API
1.41). Thin handlers over the network service."""

from __future__ import annotations

from typing import Any

from cove.runtime.api.backend import NetworkBackend
from cove.runtime.api.server import HANDLED, Json, Request, Route


def routes(networks: NetworkBackend) -> list[Route]:
    def list_(req: Request) -> Any:
        return networks.list(req.filters())

    def inspect(req: Request) -> Any:
        return networks.inspect(req.args["id"], req.flag("verbose"), req.param("scope"))

    def create(req: Request) -> Any:
        return Json(networks.create(req.json_object("network config", required=True)), 201)

    def remove(req: Request) -> Any:
        networks.remove(req.args["id"])  # 204, as dockerd

    def prune(req: Request) -> Any:
        return networks.prune(req.filters())

    def connect(req: Request) -> Any:
        networks.connect(req.args["id"], req.json_object("connect request", required=True))
        req.send_raw(200, {}, b"")  # dockerd answers 200 with no body
        return HANDLED

    def disconnect(req: Request) -> Any:
        networks.disconnect(req.args["id"],
                            req.json_object("disconnect request", required=True))
        req.send_raw(200, {}, b"")
        return HANDLED

    return [
        ("GET", "/networks", list_),
        ("POST", "/networks/create", create),
        ("POST", "/networks/prune", prune),
        ("GET", "/networks/{id}", inspect),
        ("DELETE", "/networks/{id}", remove),
        ("POST", "/networks/{id}/connect", connect),
        ("POST", "/networks/{id}/disconnect", disconnect),
    ]
