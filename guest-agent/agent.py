"""The guest agent's long-running service: the engine bridge, and the host's requests
(clock, status) on the guest's loopback. One process for both, because every Python
start costs seconds under TCG.

Started and restarted by the guest's init; reached only through the host's SSH tunnel.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from cove.common.version import VERSION
from cove.guest_agent import engine_bridge, protocol

ClockSetter = Callable[[int], None]


def _set_clock(ns: int) -> None:
    time.clock_settime_ns(time.CLOCK_REALTIME, ns)


def answer(request: dict[str, Any], now_ns: Callable[[], int] = time.time_ns,
           set_clock: ClockSetter = _set_clock) -> dict[str, Any]:
    """One request's answer; never raises for a client's mistake."""
    op = request.get("op")
    if op == "time":
        host_ns = request.get("host_ns")
        if not isinstance(host_ns, int) or isinstance(host_ns, bool):
            return {"ok": False, "error": "time: host_ns must be an integer"}
        drift = host_ns - now_ns()
        adjusted = abs(drift) > protocol.MAX_DRIFT_NS
        if adjusted:
            set_clock(host_ns)
        return {"ok": True, "drift_ns": drift, "adjusted": adjusted}
    if op == "status":
        return {"ok": True, "os": _os_name(), "kernel": os.uname().release,
                "uptime_s": _uptime(), "engine": engine_bridge.ping(), "version": VERSION,
                "shares": _shares()}
    return {"ok": False, "error": f"unknown op {op!r}"}


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError:
        return "Linux"
    return fields.get("PRETTY_NAME", "Linux").strip('"')


def _shares() -> list[Any]:
    """What init said of the shared folders (none before the go, or without any)."""
    try:
        with open(protocol.SHARES_REPORT) as f:
            found = json.load(f)
    except (OSError, ValueError):
        return []
    return found if isinstance(found, list) else []


def _uptime() -> float:
    try:
        with open("/proc/uptime") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def serve(port: int = protocol.AGENT_PORT, ready: threading.Event | None = None,
          set_clock: ClockSetter = _set_clock) -> None:
    listener = socket.create_server(("127.0.0.1", port), backlog=16)
    if ready is not None:
        ready.set()
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_session, args=(client, set_clock), daemon=True).start()


def _session(client: socket.socket, set_clock: ClockSetter) -> None:
    with client, client.makefile("rb") as lines:
        for line in lines:
            try:
                reply = answer(protocol.decode(line), set_clock=set_clock)
            except protocol.ProtocolError as exc:
                reply = {"ok": False, "error": str(exc)}
            try:
                client.sendall(protocol.encode(reply))
            except OSError:
                return


def main() -> None:
    threading.Thread(target=serve, daemon=True).start()
    engine_bridge.serve()


if __name__ == "__main__":
    main()
