"""Waiting for a container: until it is not running, exits next, or is removed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.record import Container, Status
from cove.runtime.engine.containers.context import ContainerContext

WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


def wait_not_running(container: Container, timeout: float | None) -> bool:
    """False when ``timeout`` passed with the container still running (or restarting)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with container.lock:
        while container.running or container.status == Status.RESTARTING:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            container.changed.wait(remaining)
    return True


def prepare_wait(ctx: ContainerContext, ref: str,
                 condition: str | None) -> Callable[[], dict[str, Any]]:
    """Checks the request now (404 before any bytes are sent); the returned
    function blocks until the condition holds."""
    condition = condition or "not-running"
    if condition not in WAIT_CONDITIONS:
        raise errors.InvalidParameter(f"invalid condition: {condition!r}")
    container = ctx.get(ref)
    with container.lock:
        seq = container.exit_seq

    def block() -> dict[str, Any]:
        with container.lock:
            if condition == "removed":
                while not container.removed:
                    container.changed.wait()
            else:
                # an exit ends the wait even when the restart policy starts the container
                # again (dockerd's SetRestarting wakes waiters as SetStopped does)
                while container.exit_seq == seq and not container.removed and (
                        condition == "next-exit" or container.running
                        or container.status == Status.RESTARTING):
                    container.changed.wait()
            code = container.last_exit_code if container.exit_seq != seq \
                else container.state["ExitCode"]
        # a start failure is reported by the start call itself, as dockerd does
        return {"StatusCode": code, "Error": None}

    return block
