"""The daemon's registry settings, under dockerd's names.

``registry-mirrors`` and ``insecure-registries`` come from ``daemon.json`` (in the
data root, or ``--config-file``) and from the matching command-line flags, merged
as dockerd merges them. ``localhost`` and 127.0.0.0/8 are insecure by default, as
in dockerd, so a registry started for a test needs no configuration.
``registry-timeout`` is Cove's own (seconds a registry may stay silent), so tests
can make a hanging registry fail quickly.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidParameter

DEFAULT_INSECURE_CIDRS = ("127.0.0.0/8", "::1/128")
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0


def _strip_scheme(text: str) -> str:
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.rstrip("/")


@dataclass
class RegistryConfig:
    mirrors: list[str] = field(default_factory=list)  # full URLs, e.g. http://127.0.0.1:5000
    insecure: list[str] = field(default_factory=list)  # hosts[:port] or CIDRs
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT

    def is_insecure(self, host: str) -> bool:
        """dockerd's ``isSecureIndex`` negated: listed by name, or an IP in a listed CIDR."""
        bare = host
        if bare.startswith("["):
            bare = bare[1:].partition("]")[0]
        elif bare.count(":") == 1:
            bare = bare.partition(":")[0]
        if host in self.insecure or bare in self.insecure or bare == "localhost":
            return True
        try:
            address = ipaddress.ip_address(bare)
        except ValueError:
            return False
        for cidr in (*DEFAULT_INSECURE_CIDRS, *self.insecure):
            try:
                if address in ipaddress.ip_network(cidr, strict=False):
                    return True
            except ValueError:
                continue
        return False


def _mirror_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise InvalidParameter(f"invalid mirror: unsupported scheme in {text!r}: "
                               "mirrors must start with http:// or https://")
    return text.rstrip("/")


def load(data_root: str | os.PathLike[str] | None = None, config_file: str | None = None,
         mirrors: list[str] | None = None, insecure: list[str] | None = None,
         timeout: float | None = None) -> RegistryConfig:
    """Settings from ``config_file`` (else ``<data_root>/daemon.json`` if present) and flags."""
    settings: dict[str, Any] = {}
    path = Path(config_file) if config_file else (
        Path(data_root) / "daemon.json" if data_root is not None else None)
    if path is not None and path.exists():
        try:
            settings = json.loads(path.read_text() or "{}")
        except ValueError as exc:
            raise InvalidParameter(f"invalid daemon configuration file {path}: {exc}") from exc
    config = RegistryConfig(
        mirrors=[_mirror_url(m) for m in [*settings.get("registry-mirrors", []), *(mirrors or [])]],
        insecure=[_strip_scheme(i) for i in
                  [*settings.get("insecure-registries", []), *(insecure or [])]],
    )
    read = timeout if timeout is not None else settings.get("registry-timeout")
    if read is not None:
        config.read_timeout = float(read)
        config.connect_timeout = min(CONNECT_TIMEOUT, float(read))
    return config
