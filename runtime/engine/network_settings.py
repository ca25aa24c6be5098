"""A container's ``NetworkSettings`` as dockerd 20.10's inspect shows them.

Each network the container is on has an entry in ``Networks`` (by network name): its
NetworkID, EndpointID, address, gateway, MAC, aliases (on a user network the short
container ID is added to the user's, as dockerd adds it) and the IPAM settings asked for.
The deprecated top-level fields (``IPAddress``, ``Gateway``, ``MacAddress``…) come from
the default bridge's entry only, as dockerd fills them; they are empty for a container on
user networks alone. A stopped container keeps its entries, with the endpoint's fields
emptied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cove.runtime.network import ports

if TYPE_CHECKING:
    from cove.runtime.network.bridge import Endpoint

DEFAULT_NETWORK = "bridge"


def network_entry(endpoint_id: str = "", gateway: str = "", prefix: int = 0,
                  address: str = "", *, network_id: str = "", mac: str = "",
                  aliases: list[str] | None = None,
                  ipam: dict[str, Any] | None = None) -> dict[str, Any]:
    """One entry of ``NetworkSettings.Networks``."""
    return {
        "IPAMConfig": ipam or None,
        "Links": None,
        "Aliases": aliases or None,
        "NetworkID": network_id,
        "EndpointID": endpoint_id,
        "Gateway": gateway,
        "IPAddress": address,
        "IPPrefixLen": prefix,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": mac,
        "DriverOpts": None,
    }


def endpoint_entry(entry: dict[str, Any], network_id: str, endpoint: Endpoint,
                   aliases: list[str] | None, gateway: str) -> dict[str, Any]:
    """``entry`` (what create or connect asked for, its settings kept as given) with the
    endpoint made for it; ``gateway`` is the network's (empty on an internal one), shown
    whether or not the container's default route goes through it, as dockerd shows it."""
    made = network_entry(
        endpoint.endpoint_id,
        gateway,
        endpoint.address.network.prefixlen,
        str(endpoint.address.ip),
        network_id=network_id,
        mac=endpoint.mac_address,
    )
    for key in ("IPAMConfig", "Links", "Aliases", "DriverOpts"):
        made[key] = entry.get(key)
    if aliases is not None:
        made["Aliases"] = aliases
    return made


def top_level(settings: dict[str, Any]) -> None:
    """The deprecated top-level fields from the default bridge's entry (or emptied)."""
    bridge = (settings.get("Networks") or {}).get(DEFAULT_NETWORK) or {}
    settings.update(EndpointID=bridge.get("EndpointID", ""), Gateway=bridge.get("Gateway", ""),
                    IPAddress=bridge.get("IPAddress", ""),
                    IPPrefixLen=bridge.get("IPPrefixLen", 0),
                    MacAddress=bridge.get("MacAddress", ""))


def cleared(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry once its endpoint is gone (the container stopped)."""
    return {**entry, "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "MacAddress": ""}


def running_settings(exposed: list[str], networks: dict[str, dict[str, Any]],
                     primary: Endpoint | None, pid: int) -> dict[str, Any]:
    """The whole ``NetworkSettings`` of a running container."""
    bridge = networks.get(DEFAULT_NETWORK) or {}
    return {
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports.network_settings_ports(
            exposed, primary.publications if primary is not None else ()),
        "SandboxKey": f"/proc/{pid}/ns/net",
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": bridge.get("EndpointID", ""),
        "Gateway": bridge.get("Gateway", ""),
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": bridge.get("IPAddress", ""),
        "IPPrefixLen": bridge.get("IPPrefixLen", 0),
        "IPv6Gateway": "",
        "MacAddress": bridge.get("MacAddress", ""),
        "Networks": networks,
    }
