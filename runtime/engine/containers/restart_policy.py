"""Restart policies, applied after each exit as dockerd's restart manager applies them.

``always`` and ``unless-stopped`` restart unless the container was stopped by hand;
``on-failure`` after a non-zero exit, up to MaximumRetryCount times (0: no limit).
The delay before a restart doubles from 100 ms up to a minute, and starts over once
the container had stayed up for 10 s. Checking a policy is ``create_config``'s.
"""

from __future__ import annotations

import time

from cove.runtime import errors
from cove.runtime.containers.record import Container, Status, parse_rfc3339

FIRST_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


def should_restart(container: Container, exit_code: int) -> bool:
    """Whether the exit just recorded calls for a restart (the caller holds the lock)."""
    if container.removed or container.private.get("manually_stopped"):
        return False
    policy = container.host_config.get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure" and exit_code != 0:
        limit = policy.get("MaximumRetryCount") or 0
        return bool(limit == 0 or container.data["RestartCount"] < limit)
    return False


def restarts_at_daemon_start(container: Container) -> bool:
    """Whether a container found stopped when the daemon starts is started again."""
    policy = (container.host_config.get("RestartPolicy") or {}).get("Name")
    return policy == "always" or (policy == "unless-stopped"
                                  and not container.private.get("manually_stopped"))


def wait_for_restart(container: Container, started_at: str) -> bool:
    """Sleep the backoff; False when the container was removed or stopped meanwhile (the
    restart was counted when the exit was recorded). ``started_at`` is when the run that just ended had started."""
    ran = time.time() - parse_rfc3339(started_at) if started_at else 0.0
    previous = container.private.get("backoff")
    if ran >= RESET_AFTER or previous is None:
        delay = FIRST_DELAY
    else:
        delay = min(previous * 2, MAX_DELAY)
    container.private["backoff"] = delay
    time.sleep(delay)
    with container.lock:
        if container.removed or container.status != Status.RESTARTING:
            return False
        if container.private.get("manually_stopped"):  # killed during the backoff
            container.state.update(Status="exited", Restarting=False)
            container.changed.notify_all()
            container.save_eventually()
            return False
    return True


def call_off(container: Container) -> bool:
    """Stop or kill of a container waiting for its restart: the restart is called off and
    the container is left exited, as dockerd's stop and kill leave it (no signal to send).
    False when it was not waiting. The caller holds the lock."""
    if container.status != Status.RESTARTING:
        return False
    container.private["manually_stopped"] = True
    container.state.update(Status="exited", Restarting=False)
    container.changed.notify_all()  # waiters for not-running
    container.save_eventually()
    return True


def refuse_while_restarting(container: Container) -> None:
    """dockerd's conflict for what needs the container's process (pause, top) while it
    waits for its restart."""
    if container.status == Status.RESTARTING:
        raise errors.Conflict(
            f"Container {container.id} is restarting, wait until the container is running")
