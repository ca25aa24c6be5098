"""``POST /networks/create``: the request checked as dockerd checks it, with its words,
and what Cove does not implement refused rather than ignored (other drivers, IPv6,
ingress, config-only networks, driver options other than the bridge's name).

Pure: the subnet of a network created without one is chosen by the caller
(``choose_subnet`` over the default address pools, avoiding the host's routes and the
other networks), then ``pools`` makes the IPAM configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from typing import Any

from cove.runtime import errors
from cove.runtime.network.records import BRIDGE_NAME_OPTION, PREDEFINED, IpamPool

SUPPORTED_OPTIONS = (BRIDGE_NAME_OPTION,)
OTHER_DRIVERS = ("overlay", "macvlan", "ipvlan")


@dataclass(frozen=True)
class PoolRequest:
    """One ``IPAM.Config`` entry as asked: everything but the subnet may be left out."""

    subnet: IPv4Network | None = None
    ip_range: IPv4Network | None = None
    gateway: IPv4Address | None = None
    aux: tuple[tuple[str, IPv4Address], ...] = ()


@dataclass(frozen=True)
class CreateRequest:
    name: str
    check_duplicate: bool = False
    internal: bool = False
    attachable: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] | None = None  # null when sent as null, as dockerd keeps it
    pool: PoolRequest = field(default_factory=PoolRequest)


def _network(text: Any) -> IPv4Network:
    try:
        net = ip_network(str(text), strict=False)
    except ValueError:
        raise errors.InvalidParameter(f"invalid CIDR address: {text}") from None
    if not isinstance(net, IPv4Network):
        raise errors.InvalidParameter(
            f"IPv6 subnets are not supported by Cove yet: {text}")
    return net


def _address(text: Any, what: str) -> IPv4Address:
    try:
        address = ip_address(str(text))
    except ValueError:
        raise errors.InvalidParameter(f"invalid {what} address: {text}") from None
    if not isinstance(address, IPv4Address):
        raise errors.InvalidParameter(f"IPv6 addresses are not supported by Cove yet: {text}")
    return address


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise errors.InvalidParameter(
            f"json: cannot unmarshal value into Go struct field NetworkCreateRequest.{what} "
            "of type map[string]string")
    return {str(k): v for k, v in value.items()}


def parse(body: Any) -> CreateRequest:
    """The request, checked; raises dockerd's errors."""
    if not isinstance(body, dict):
        raise errors.InvalidParameter("invalid JSON: the network config must be an object")
    name = body.get("Name") or ""
    if not isinstance(name, str) or not name:
        raise errors.InvalidParameter(f"invalid name: {name if isinstance(name, str) else ''}")
    if name in PREDEFINED:
        raise errors.Forbidden(f"operation is not permitted on predefined {name} network ")
    driver = body.get("Driver") or "bridge"
    if driver != "bridge":
        if driver in ("host", "null"):
            raise errors.Forbidden(f'only one instance of "{driver}" network is allowed')
        if driver in OTHER_DRIVERS:
            raise errors.InvalidParameter(
                f"the {driver} network driver is not supported by Cove: only bridge")
        raise errors.NotFound(f'plugin "{driver}" not found')
    if body.get("EnableIPv6"):
        raise errors.InvalidParameter("IPv6 networks are not supported by Cove yet")
    if body.get("Ingress"):
        raise errors.InvalidParameter("ingress networks need swarm mode, which Cove does not have")
    if body.get("ConfigOnly") or (body.get("ConfigFrom") or {}).get("Network"):
        raise errors.InvalidParameter("config-only networks are not supported by Cove")
    scope = body.get("Scope") or "local"
    if scope != "local":
        raise errors.InvalidParameter(f"{scope} scope networks are not supported by Cove")
    options = _strings(body.get("Options"), "Options")
    for key in options:
        if key not in SUPPORTED_OPTIONS:
            raise errors.InvalidParameter(f"network option {key} is not supported by Cove yet")
    bridge_name = options.get(BRIDGE_NAME_OPTION)
    if bridge_name is not None and (not bridge_name or len(bridge_name) > 15
                                    or "/" in bridge_name or " " in bridge_name):
        raise errors.InvalidParameter(f"invalid bridge name: {bridge_name}")
    ipam = body.get("IPAM") or {}
    if not isinstance(ipam, dict):
        raise errors.InvalidParameter("json: cannot unmarshal value into Go struct field "
                                      "NetworkCreateRequest.IPAM of type network.IPAM")
    ipam_driver = ipam.get("Driver") or "default"
    if ipam_driver != "default":
        raise errors.NotFound(f'plugin "{ipam_driver}" not found')
    ipam_options = _strings(ipam.get("Options"), "IPAM.Options")
    if ipam_options:
        raise errors.InvalidParameter(
            f"IPAM option {sorted(ipam_options)[0]} is not supported by Cove yet")
    return CreateRequest(
        name=name,
        check_duplicate=bool(body.get("CheckDuplicate")),
        internal=bool(body.get("Internal")),
        attachable=bool(body.get("Attachable")),
        labels=_strings(body.get("Labels"), "Labels"),
        options=options,
        ipam_options=None if ipam.get("Options") is None else ipam_options,
        pool=_pool_request(ipam.get("Config") or []),
    )


def _pool_request(configs: Any) -> PoolRequest:
    if not isinstance(configs, list):
        raise errors.InvalidParameter("json: cannot unmarshal value into Go struct field "
                                      "IPAM.IPAM.Config of type []network.IPAMConfig")
    if not configs:
        return PoolRequest()
    if len(configs) > 1:
        raise errors.InvalidParameter("bridge driver doesn't support multiple subnets")
    config = configs[0]
    if not isinstance(config, dict):
        raise errors.InvalidParameter("invalid IPAM config")
    subnet = _network(config["Subnet"]) if config.get("Subnet") else None
    ip_range = _network(config["IPRange"]) if config.get("IPRange") else None
    gateway = _address(config["Gateway"], "gateway") if config.get("Gateway") else None
    aux = tuple((str(k), _address(v, "auxiliary"))
                for k, v in sorted((config.get("AuxiliaryAddresses") or {}).items()))
    if subnet is None:
        if ip_range is not None or gateway is not None or aux:
            raise errors.InvalidParameter(
                "ipam config: a gateway, an IP range or auxiliary addresses need a subnet")
        return PoolRequest()
    if ip_range is not None and not ip_range.subnet_of(subnet):
        raise errors.InvalidParameter(f"no matching subnet for range {ip_range}")
    if gateway is not None and gateway not in subnet:
        raise errors.InvalidParameter(f"no matching subnet for gateway {gateway}")
    for _name, address in aux:
        if address not in subnet:
            raise errors.InvalidParameter(f"no matching subnet for aux-address {address}")
    return PoolRequest(subnet, ip_range, gateway, aux)


def pools(request: PoolRequest, subnet: IPv4Network) -> tuple[IpamPool, ...]:
    """The network's IPAM configuration once its subnet is known: the gateway is the
    one asked for, else the subnet's first host address (shown by inspect unless the user
    gave the subnet without it, as dockerd shows it)."""
    gateway = request.gateway or next(subnet.hosts(), subnet.network_address)
    shown = request.subnet is None or request.gateway is not None
    return (IpamPool(subnet, gateway, request.ip_range, request.aux, shown),)


def overlapping(subnet: IPv4Network, others: Iterable[IPv4Network]) -> bool:
    return any(subnet.overlaps(other) for other in others)
