"""What the host and the guest agent say to each other: one schema, imported by both
``cove.vm`` (on macOS, Windows and Linux) and ``cove.guest_agent`` (in the guest), so it is
plain Python with no imports of either side.

The host reaches the agent through its SSH tunnel, on the guest's loopback: one JSON
object per line each way, a request and its answer.

    {"op": "time", "host_ns": N}   -> {"ok": true, "drift_ns": D, "adjusted": bool}
        the guest sets its clock to the host's when they differ by more than
        ``MAX_DRIFT_NS`` (after a laptop sleeps, the guest's clock is minutes behind)
    {"op": "status"}               -> {"ok": true, "os": "...", "kernel": "...",
                                       "uptime_s": F, "engine": bool}
    anything else                  -> {"ok": false, "error": "..."}
"""

from __future__ import annotations

import json
from typing import Any

ENGINE_PORT = 2375  # the engine bridge: a TCP door to /run/cove.sock
AGENT_PORT = 2376  # this protocol
MAX_DRIFT_NS = 100_000_000  # 100 ms, as Lima resyncs
MAX_LINE = 64 * 1024


class ProtocolError(ValueError):
    """A line that is not one JSON object, or too long."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_LINE:
        raise ProtocolError("message too long")
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("not a JSON object")
    return message


def time_request(host_ns: int) -> dict[str, Any]:
    return {"op": "time", "host_ns": host_ns}


def status_request() -> dict[str, Any]:
    return {"op": "status"}
