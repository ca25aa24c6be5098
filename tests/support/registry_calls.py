"""Helpers for the registry tests: the X-Registry-Auth header and pull/push over the API."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from tests.support.coved import Coved


def auth_header(username: str, password: str, server: str = "") -> dict[str, str]:
    data = json.dumps({"username": username, "password": password, "serveraddress": server})
    return {"X-Registry-Auth": base64.urlsafe_b64encode(data.encode()).decode()}


def messages(body: Any) -> list[dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def pull(coved: Coved, image: str, tag: str | None = "latest", platform: str | None = None,
         headers: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, Any]:
    query = f"fromImage={quote(image, safe='')}"
    if tag:
        query += f"&tag={quote(tag, safe='')}"
    if platform:
        query += f"&platform={quote(platform, safe='')}"
    status, body = coved.request("POST", f"/images/create?{query}", headers=headers,
                                 timeout=timeout)
    return status, (messages(body) if status == 200 else body)


def push(coved: Coved, name: str, tag: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    path = f"/images/{name}/push" + (f"?tag={tag}" if tag else "")
    status, body = coved.request("POST", path, headers=headers, timeout=120)
    return status, (messages(body) if status == 200 else body)


def errors_in(msgs: list[dict[str, Any]]) -> list[str]:
    return [m["error"] for m in msgs if "error" in m]


def image_ids(coved: Coved) -> set[str]:
    _, images = coved.request("GET", "/images/json")
    return {image["Id"] for image in images}
