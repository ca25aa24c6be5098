"""What a container's record keeps of its endpoints, and the endpoint settings a request
asks for (an address, a MAC), parsed.

Endpoints are kept by network key ("bridge" for the default bridge, else the network's
ID) under ``endpoints``; an older coved kept one, on the default bridge, under
``endpoint``, which is still read, so containers it started are taken back.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from cove.runtime import errors
from cove.runtime.containers.record import Container

if TYPE_CHECKING:
    from cove.runtime.network.bridge import Endpoint

ENDPOINT_KEY = "endpoint"  # an older coved's one endpoint, on the default bridge
ENDPOINTS_KEY = "endpoints"  # by network key
CONTAINER_LINK_PREFIX = "eth"
NEXT_INTERFACE_KEY = "next_interface"  # eth<N> of the next connect while it runs
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")


def recorded_endpoints(container: Container) -> dict[str, Endpoint]:
    """The endpoints kept in the container's record, by network key; an older coved's
    single default-bridge ``endpoint`` is read too."""
    from cove.runtime.network.bridge import Endpoint

    found: dict[str, Endpoint] = {}
    with container.lock:
        old = container.private.get(ENDPOINT_KEY)
        kept = dict(container.private.get(ENDPOINTS_KEY) or {})
    if old:
        endpoint = Endpoint.from_json(old)
        found[endpoint.network] = endpoint
    for data in kept.values():
        endpoint = Endpoint.from_json(data)
        found[endpoint.network] = endpoint
    return found


def keep_endpoints(container: Container, endpoints: dict[str, Endpoint]) -> None:
    """Into the record (the caller holds its lock and saves it)."""
    container.private.pop(ENDPOINT_KEY, None)
    if endpoints:
        container.private[ENDPOINTS_KEY] = {k: e.to_json() for k, e in endpoints.items()}
    else:
        container.private.pop(ENDPOINTS_KEY, None)


def ipv4_address(text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise errors.InvalidParameter(f"invalid IPv4 address: {text}") from None


def mac_address(text: str) -> str:
    if not _MAC.fullmatch(text):
        raise errors.InvalidParameter(f"invalid MAC address: {text}")
    return text.lower()


def ipam_asked(endpoint: dict[str, Any]) -> dict[str, Any] | None:
    ipam = endpoint.get("IPAMConfig") or {}
    if not isinstance(ipam, dict) or not ipam.get("IPv4Address"):
        return None
    return {"IPv4Address": str(ipam["IPv4Address"])}
