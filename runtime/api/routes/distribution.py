"""/auth and /distribution/{name}/json: registry login and remote manifest inspection."""

from __future__ import annotations

from typing import Any

from cove.runtime.api import validation
from cove.runtime.api.backend import ImageBackend
from cove.runtime.api.registry_auth import decode_registry_auth
from cove.runtime.api.server import Request, Route


def routes(images: ImageBackend) -> list[Route]:
    def auth(req: Request) -> Any:
        return images.login(validation.checked(
            validation.AUTH_CONFIG, req.json_object("auth config", required=True)))

    def distribution(req: Request) -> Any:
        return images.distribution(req.args["name"],
                                   decode_registry_auth(req.headers.get("X-Registry-Auth")))

    return [
        ("POST", "/auth", auth),
        ("GET", "/distribution/{name:.*}/json", distribution),
    ]
