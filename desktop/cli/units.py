"""Docker's human units (go-units): durations, decimal sizes, and size/CPU flag parsing."""

from __future__ import annotations

import re
import time

from cove.common.humanize import human_duration  # noqa: F401 - part of this module's API

_DECIMAL_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
_BINARY_MULTIPLIERS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")


def human_size(size: float, precision: int = 3) -> str:
    """go-units ``HumanSizeWithPrecision``: decimal units, ``precision`` significant digits."""
    index = 0
    while size >= 1000.0 and index < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        index += 1
    return f"{size:.{precision}g}{_DECIMAL_UNITS[index]}"


def bytes_size(size: float) -> str:
    """go-units ``BytesSize``: binary units with 4 significant digits ("1.953GiB")."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    index = 0
    while size >= 1024.0 and index < len(units) - 1:
        size /= 1024.0
        index += 1
    return f"{size:.4g}{units[index]}"


def ram_in_bytes(text: str) -> int:
    """go-units ``RAMInBytes``: ``64m`` -> 67108864; raises ValueError("invalid size: '...'")."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"invalid size: '{text}'")
    number = float(match.group(1)) if match.group(1).count(".") <= 1 else None
    if number is None:
        raise ValueError(f"invalid size: '{text}'")
    unit = (match.group(2) or "").lower()
    return int(number * _BINARY_MULTIPLIERS[unit])


def parse_nano_cpus(text: str) -> int:
    """``--cpus 1.5`` -> 1500000000, as docker's NanoCPUs."""
    try:
        value = float(text)
    except ValueError as exc:
        raise ValueError(f"failed to parse {text} as a rational number") from exc
    if value < 0:
        raise ValueError(f"failed to parse {text} as a rational number")
    return int(round(value * 1e9))


def parse_timestamp(value: str | int | float | None) -> float | None:
    """Seconds since the epoch from an API time (RFC 3339 with nanoseconds) or a number."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if text.startswith("0001-01-01"):
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", text)
    if not match:
        return None
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    from datetime import datetime  # only API times need it; most commands never parse one

    parsed = datetime.fromisoformat(base + zone)
    return parsed.timestamp() + (float(fraction) if fraction else 0.0)


def ago(timestamp: float | None, now: float | None = None) -> str:
    """"2 minutes ago" for a creation time, as docker's CREATED column."""
    if timestamp is None:
        return ""
    current = time.time() if now is None else now
    return human_duration(max(0.0, current - timestamp)) + " ago"


def parse_since(value: str, now: float | None = None) -> str:
    """docker's ``--since``/``--until``: durations ("10m") become absolute Unix seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", value)
    if match:
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[match.group(2)]
        current = time.time() if now is None else now
        return f"{current - float(match.group(1)) * scale:.9f}".rstrip("0").rstrip(".")
    stamp = parse_timestamp(value) if "T" in value else None
    if stamp is not None:
        return f"{stamp:.9f}".rstrip("0").rstrip(".")
    return value
