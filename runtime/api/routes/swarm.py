"""Swarm's routes (/swarm, /nodes, /services, /tasks, /secrets, /configs), answered as
dockerd answers them on a node that is not in a swarm.

Cove has no swarm mode, so every read and change of swarm objects is dockerd's 503 "not a
swarm manager" (the docker CLI prints it as it does against a plain dockerd), and joining
or starting a swarm is refused plainly instead of pretending to succeed.
"""

from __future__ import annotations

from typing import Any

from cove.runtime import errors
from cove.runtime.api.server import Request, Route

NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
                 '"docker swarm join" to connect this node to swarm and try again.')


def _not_a_manager(req: Request) -> Any:
    raise errors.Unavailable(NOT_A_MANAGER)


def _not_in_a_swarm(req: Request) -> Any:
    raise errors.Unavailable("This node is not part of a swarm")


def _no_swarm_mode(req: Request) -> Any:
    raise errors.NotImplementedByEngine("swarm mode is not supported by Cove")


def _versioned_update(kind: str, go_parse_error: bool) -> Any:
    """An update names the object's version first: dockerd checks it (400) before it finds
    that there is no swarm (503)."""

    def update(req: Request) -> Any:
        raw = req.param("version", "") or ""
        if not raw.isascii() or not raw.isdigit():
            if go_parse_error:
                raise errors.InvalidParameter(
                    f"invalid {kind} version '{raw}': strconv.ParseUint: parsing "
                    f'"{raw}": invalid syntax')
            raise errors.InvalidParameter(f"invalid {kind} version")
        raise errors.Unavailable(NOT_A_MANAGER)

    return update


def routes() -> list[Route]:
    return [
        ("POST", "/swarm/init", _no_swarm_mode),
        ("POST", "/swarm/join", _no_swarm_mode),
        ("POST", "/swarm/leave", _not_in_a_swarm),
        ("GET", "/swarm", _not_a_manager),
        ("GET", "/swarm/unlockkey", _not_a_manager),
        ("POST", "/swarm/update", _versioned_update("swarm", True)),
        ("POST", "/swarm/unlock", _not_a_manager),

        ("GET", "/services", _not_a_manager),
        ("GET", "/services/{id}", _not_a_manager),
        ("POST", "/services/create", _not_a_manager),
        ("POST", "/services/{id}/update", _versioned_update("service", True)),
        ("DELETE", "/services/{id}", _not_a_manager),
        ("GET", "/services/{id}/logs", _not_a_manager),

        ("GET", "/nodes", _not_a_manager),
        ("GET", "/nodes/{id}", _not_a_manager),
        ("DELETE", "/nodes/{id}", _not_a_manager),
        ("POST", "/nodes/{id}/update", _versioned_update("node", True)),

        ("GET", "/tasks", _not_a_manager),
        ("GET", "/tasks/{id}", _not_a_manager),
        ("GET", "/tasks/{id}/logs", _not_a_manager),

        ("GET", "/secrets", _not_a_manager),
        ("POST", "/secrets/create", _not_a_manager),
        ("DELETE", "/secrets/{id}", _not_a_manager),
        ("GET", "/secrets/{id}", _not_a_manager),
        ("POST", "/secrets/{id}/update", _versioned_update("secret", False)),

        ("GET", "/configs", _not_a_manager),
        ("POST", "/configs/create", _not_a_manager),
        ("DELETE", "/configs/{id}", _not_a_manager),
        ("GET", "/configs/{id}", _not_a_manager),
        ("POST", "/configs/{id}/update", _versioned_update("config", False)),
    ]
