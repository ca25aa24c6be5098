"""/auth and /distribution/{name}/json: registry login and remote manifest inspection."""

from __future__ import annotations

from typing import Any

from cove.runtime.api.server import Request, Route
from cove.runtime.registry.auth import AuthConfig, decode_registry_auth


def routes(engine: Any) -> list[Route]:
    images = engine.images

    def auth(req: Request) -> Any:
        body = req.json(required=True)
        return images.login(AuthConfig.from_dict(body if isinstance(body, dict) else {}))

    def distribution(req: Request) -> Any:
        return images.distribution(req.args["name"],
                                   decode_registry_auth(req.headers.get("X-Registry-Auth")))

    return [
        ("POST", "/auth", auth),
        ("GET", "/distribution/{name:.*}/json", distribution),
    ]
