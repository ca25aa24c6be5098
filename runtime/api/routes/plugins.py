"""The plugin routes, answered as dockerd answers them with no plugin installed.

Cove has no managed plugins: the list is empty, a named plugin is dockerd's 404 "plugin
not found", and installing one (pull, create, or reading a remote plugin's privileges
before a pull) is refused plainly rather than accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from cove.runtime import errors
from cove.runtime.api.server import Request, Route

LIST_FILTERS = ("capability", "enabled")


def _list(req: Request) -> Any:
    for key, values in req.filters().items():
        if key not in LIST_FILTERS:
            raise errors.InvalidParameter(f"Invalid filter '{key}'")
        if key == "enabled" and not {"true", "false"} & set(values):
            raise errors.InvalidParameter(f"Invalid filter 'enabled=[{' '.join(values)}]'")
    return []


def _not_found(req: Request) -> Any:
    raise errors.NotFound(f'plugin "{req.args["name"]}" not found')


def _enable(req: Request) -> Any:
    timeout = req.param("timeout", "") or ""
    if not timeout.lstrip("+-").isdigit():
        raise errors.SystemError_(f'strconv.Atoi: parsing "{timeout}": invalid syntax')
    return _not_found(req)


def _no_plugins(req: Request) -> Any:
    raise errors.NotImplementedByEngine("plugins are not supported by Cove")


def routes() -> list[Route]:
    return [
        ("GET", "/plugins", _list),
        ("GET", "/plugins/privileges", _no_plugins),
        ("POST", "/plugins/pull", _no_plugins),
        ("POST", "/plugins/create", _no_plugins),
        ("GET", "/plugins/{name:.*}/json", _not_found),
        ("DELETE", "/plugins/{name:.*}", _not_found),
        ("POST", "/plugins/{name:.*}/enable", _enable),
        ("POST", "/plugins/{name:.*}/disable", _not_found),
        ("POST", "/plugins/{name:.*}/push", _not_found),
        ("POST", "/plugins/{name:.*}/upgrade", _not_found),
        ("POST", "/plugins/{name:.*}/set", _not_found),
    ]
