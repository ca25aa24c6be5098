"""Stop and kill: a signal to the container's init, then SIGKILL when the timeout passes.

Either marks the container stopped by hand, so its restart policy leaves it stopped
(dockerd's ``HasBeenManuallyStopped``).
"""

from __future__ import annotations

import os
import signal as signals

from cove.runtime import errors
from cove.runtime.containers.record import Container
from cove.runtime.engine.containers import pause, restart_policy, wait
from cove.runtime.engine.containers.context import ContainerContext

DEFAULT_STOP_TIMEOUT = 10
KILL_WAIT = 30.0


def parse_signal(value: str | int | None, default: int = signals.SIGKILL) -> int:
    """"KILL", "SIGKILL", "9" -> 9, with dockerd's error for anything else."""
    if value in (None, ""):
        return default
    text = str(value).upper()
    if text.isdigit():
        number = int(text)
        if 0 < number < signals.NSIG:
            return number
    else:
        name = text if text.startswith("SIG") else "SIG" + text
        sig = getattr(signals, name, None)
        if isinstance(sig, signals.Signals):
            return int(sig)
    raise errors.InvalidParameter(f"Invalid signal: {value}")


def send_signal(ctx: ContainerContext, container: Container, sig: int) -> None:
    pid = container.state.get("Pid")
    if not pid:
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    ctx.publish(container, "kill", {"signal": str(sig)})


def kill(ctx: ContainerContext, ref: str, signal: str | None) -> None:
    """Send the signal; for SIGKILL answer only once the exit is recorded, so a script's
    next ``rm`` or ``inspect`` sees it exited (dockerd's ``Kill``). Other signals may be
    caught, so they return at once."""
    container = ctx.get(ref)
    sig = parse_signal(signal)
    with container.lock:
        if restart_policy.call_off(container):
            return
        if not container.running:
            raise errors.Conflict(
                f"Cannot kill container: {ref}: Container {container.id} is not running")
        if sig in (signals.SIGKILL, signals.SIGTERM):
            container.private["manually_stopped"] = True
    if container.state.get("Paused") and sig == signals.SIGKILL:
        pause.thaw_quietly(ctx, container)
    send_signal(ctx, container, sig)
    if sig == signals.SIGKILL and not wait.wait_not_running(container, KILL_WAIT):
        raise errors.SystemError_(
            f"Cannot kill container: {ref}: Container {container.id} did not exit "
            f"within {KILL_WAIT:.0f}s of SIGKILL")


def stop_container(ctx: ContainerContext, container: Container, timeout: int | None,
                   signal: str | None) -> None:
    """The stop signal (the request's, else the image's, else SIGTERM), then SIGKILL after
    ``timeout`` seconds (negative: wait for ever). The caller holds ``container.op_lock``."""
    with container.lock:
        if restart_policy.call_off(container):
            return
        if not container.running:
            raise errors.NotModified("container already stopped")
        container.private["manually_stopped"] = True
        container.save_eventually()
    sig = parse_signal(signal or container.config.get("StopSignal"), signals.SIGTERM)
    if timeout is None:
        timeout = container.config.get("StopTimeout") or DEFAULT_STOP_TIMEOUT
    send_signal(ctx, container, sig)
    if container.state.get("Paused"):
        pause.thaw_quietly(ctx, container)
    if not wait.wait_not_running(container, None if timeout < 0 else float(timeout)):
        send_signal(ctx, container, signals.SIGKILL)
        wait.wait_not_running(container, KILL_WAIT)
    ctx.publish(container, "stop")
