"""``GET /images/search``: a registry's v1 search endpoint, as dockerd queries it.

A term naming a registry (``myregistry:5000/app``, ``localhost/x``) searches that
registry; any other term searches Docker Hub's index. The results are filtered here
(``stars``, ``is-official``, ``is-automated``) because the search API does not.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParameter
from .auth import AuthConfig
from .client import Registry, RegistryFailed, registry_error
from .config import RegistryConfig

HUB_INDEX_HOST = "index.docker.io"
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
FILTERS = ("stars", "is-automated", "is-official")


def split_term(term: str) -> tuple[str, str]:
    """(registry host, remote term): dockerd's ``splitReposSearchTerm``."""
    if "/" in term:
        first, rest = term.split("/", 1)
        if "." in first or ":" in first or first == "localhost":
            return first, rest
    return HUB_INDEX_HOST, term.removeprefix("library/")


def _check_filters(filters: dict[str, list[str]]) -> tuple[int, bool | None, bool | None]:
    for key in filters:
        if key not in FILTERS:
            raise InvalidParameter(f"Invalid filter '{key}'")
    stars = 0
    if filters.get("stars"):
        try:
            stars = max(int(value) for value in filters["stars"])
        except ValueError as exc:
            raise InvalidParameter(
                f"Invalid filter 'stars={filters['stars'][-1]}'") from exc

    def flag(key: str) -> bool | None:
        values = filters.get(key)
        if not values:
            return None
        if values[-1].lower() not in ("true", "false", "1", "0"):
            raise InvalidParameter(f"Invalid filter '{key}={values[-1]}'")
        return values[-1].lower() in ("true", "1")

    return stars, flag("is-automated"), flag("is-official")


def search(config: RegistryConfig, term: str, limit: int | None,
           filters: dict[str, list[str]], auth: AuthConfig) -> list[dict[str, Any]]:
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(f"limit {limit} is outside the range of [1, {MAX_LIMIT}]")
    stars, automated, official = _check_filters(filters)
    host, remote = split_term(term)
    reg = Registry(host, config, auth)
    try:
        schemes = ["https", "http"] if reg.insecure and host != HUB_INDEX_HOST else ["https"]
        basic = (auth.username, auth.password) if auth.username else None
        last: Exception | None = None
        for scheme in schemes:
            try:
                resp = reg._send("GET", f"{scheme}://{host}/v1/search",  # noqa: SLF001
                                 params={"q": remote, "n": str(limit)}, auth=basic)
            except Exception as exc:  # noqa: BLE001 - try the next scheme, report the last
                last = exc
                continue
            if resp.status_code != 200:
                raise registry_error(f"Unexpected status code {resp.status_code}",
                                     resp.status_code)
            try:
                results = resp.json().get("results") or []
            except ValueError as exc:
                raise RegistryFailed(f"error decoding search results: {exc}", 200) from exc
            break
        else:
            assert last is not None
            raise last
    finally:
        reg.close()
    found = []
    for item in results:
        if not isinstance(item, dict):
            continue
        if int(item.get("star_count") or 0) < stars:
            continue
        if official is not None and bool(item.get("is_official")) != official:
            continue
        if automated is not None and bool(item.get("is_automated")) != automated:
            continue
        found.append({"star_count": int(item.get("star_count") or 0),
                      "is_official": bool(item.get("is_official")),
                      "name": str(item.get("name") or ""),
                      "is_automated": bool(item.get("is_automated")),
                      "description": str(item.get("description") or "")})
    return found[:limit]
