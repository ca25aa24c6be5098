"""The registry credentials a client sends in headers, decoded into plain values.

- ``X-Registry-Auth``: base64url JSON AuthConfig, sent with pull, push, search and
  distribution inspect.
- ``X-Registry-Config``: base64url JSON ``{server: AuthConfig}``, every login the client
  has, sent with a build.
The engine gets the JSON objects; it decides what a credential means.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cove.runtime import errors
from cove.runtime.api import validation


def _decode_header(name: str, header: str) -> object:
    """base64url (padding optional, std base64 accepted) JSON; None if not base64 at all."""
    text = header.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        try:
            raw = base64.b64decode(padded)
        except (binascii.Error, ValueError):
            return None
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as exc:
        raise errors.InvalidParameter(f"invalid {name} header: {exc}") from exc
    if not isinstance(data, dict):
        raise errors.InvalidParameter(f"invalid {name} header: not an object")
    return data


def decode_registry_auth(header: str | None) -> dict[str, Any]:
    """dockerd's ``registry.DecodeAuthConfig``: empty means anonymous; a header that is not
    base64 at all is anonymous too, as dockerd treats old clients sending ``{}``."""
    data = _decode_header("X-Registry-Auth", header) if header else None
    return validation.checked(validation.AUTH_CONFIG, data) if isinstance(data, dict) else {}


def decode_registry_config(header: str | None) -> dict[str, dict[str, Any]]:
    """``X-Registry-Config`` of a build: server -> credentials (empty when absent)."""
    data = _decode_header("X-Registry-Config", header) if header else None
    if not isinstance(data, dict):
        return {}
    return {str(server): validation.checked(validation.AUTH_CONFIG, value)
            for server, value in data.items() if isinstance(value, dict)}
