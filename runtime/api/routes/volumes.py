"""/volumes/...: list, create, inspect, remove and prune local volumes."""

from __future__ import annotations

from typing import Any

from cove.runtime.api import validation
from cove.runtime.api.backend import VolumeBackend
from cove.runtime.api.server import Json, Request, Route


def routes(volumes: VolumeBackend) -> list[Route]:
    def list_(req: Request) -> Any:
        return volumes.list(req.filters())

    def create(req: Request) -> Any:
        body = validation.checked(validation.VOLUME_CREATE, req.json_object("volume config"))
        return Json(volumes.create(body), 201)

    def inspect(req: Request) -> Any:
        return volumes.inspect(req.args["name"])

    def remove(req: Request) -> Any:
        volumes.remove(req.args["name"], req.flag("force"))

    def prune(req: Request) -> Any:
        return volumes.prune(req.filters())

    return [
        ("GET", "/volumes", list_),
        ("POST", "/volumes/create", create),
        ("POST", "/volumes/prune", prune),
        ("GET", "/volumes/{name}", inspect),
        ("DELETE", "/volumes/{name}", remove),
    ]
