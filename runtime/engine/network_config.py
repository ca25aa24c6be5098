"""The daemon's network settings: dockerd's ``bridge``, ``bip`` and
``default-address-pools``, from daemon.json and the flags (flags win), checked at start as
dockerd checks them."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cove.runtime import errors
from cove.runtime.network.pools import (
    AddressPool,
    parse_address_pools,
    parse_bip,
    parse_pool_flag,
)

NO_BRIDGE = "none"


@dataclass(frozen=True)
class NetworkConfig:
    """The daemon's network settings: dockerd's ``bridge``, ``bip`` and
    ``default-address-pools`` (flags over daemon.json)."""

    bridge: str = ""
    bip: str | None = None
    pools: tuple[AddressPool, ...] | None = None

    @property
    def enabled(self) -> bool:
        return self.bridge != NO_BRIDGE


DISABLED = NetworkConfig(bridge=NO_BRIDGE)


def load_config(
    data_root: str | os.PathLike[str],
    config_file: str | None,
    bridge: str | None,
    bip: str | None,
    pool_flags: Sequence[str],
) -> NetworkConfig:
    """The settings from ``config_file`` (else ``<data-root>/daemon.json``) and the flags;
    a bad value is an error at start, as dockerd's."""
    path = Path(config_file) if config_file else Path(data_root) / "daemon.json"
    settings: dict[str, Any] = {}
    if path.exists():
        try:
            settings = json.loads(path.read_text() or "{}")
        except ValueError as exc:
            raise errors.InvalidParameter(
                f"invalid daemon configuration file {path}: {exc}"
            ) from exc
    name = bridge if bridge is not None else settings.get("bridge", "")
    if not isinstance(name, str) or len(name) > 15 or "/" in name:
        raise errors.InvalidParameter(f"invalid bridge name: {name!r}")
    address = bip if bip is not None else settings.get("bip")
    if address is not None:
        if not isinstance(address, str):
            raise errors.InvalidParameter(f"invalid bip: {address!r}")
        parse_bip(address)
    pools: tuple[AddressPool, ...] | None = None
    if pool_flags:
        pools = tuple(parse_pool_flag(text) for text in pool_flags)
    elif "default-address-pools" in settings:
        pools = parse_address_pools(settings["default-address-pools"])
    if name == NO_BRIDGE and address:
        raise errors.InvalidParameter(
            "You specified -b & --bip, mutually exclusive options. Please specify only one"
        )
    return NetworkConfig(name, address or None, pools)
