"""A container's exit: learnt from its shim, recorded once, its runtime state cleared.

The exit the shim reports is the only path to the exited state, whether this daemon
started the shim or adopted it after a restart. What follows an exit (a restart,
``--rm``) is ``start.after_exit``'s.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from typing import Any

from cove.runtime import errors
from cove.runtime.containers import shim_client
from cove.runtime.containers.record import Container
from cove.runtime.engine.containers import namespace_sharing, restart_policy
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.store.layout import read_json

log = logging.getLogger(__name__)
SHIM_EXIT_SECONDS = 5.0  # a shim exits within its grace time once it has said the exit


def wait_for_exit(ctx: ContainerContext, container: Container,
                  popen: subprocess.Popen[bytes] | None) -> dict[str, Any]:
    """Block until the container exits: its shim's exit record (see ``shim_client.wait``)."""
    try:
        result = shim_client.wait(ctx.layout, container.id)
    except (OSError, ValueError):
        result = exit_from_disk(ctx, container)
    if popen is not None:
        _reap(popen)
    return result


def _reap(popen: subprocess.Popen[bytes]) -> None:
    """Reap the shim that has just reported the exit; one still busy (retrying its exit
    record on a full disk) is reaped in the background, so the exit is recorded now."""
    try:
        popen.wait(timeout=SHIM_EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        threading.Thread(target=popen.wait, name=f"reap-shim-{popen.pid}",
                         daemon=True).start()


def exit_from_disk(ctx: ContainerContext, container: Container) -> dict[str, Any]:
    """The exit the shim recorded, or 255 when the shim died without recording one."""
    try:
        recorded: dict[str, Any] = read_json(ctx.layout.exit_file(container.id))
        return recorded
    except (OSError, ValueError):
        return {"exit_code": 255, "oom_killed": False, "finished_at": None}


def discard_runtime_state(ctx: ContainerContext, container: Container) -> None:
    """The endpoint on the bridge, the cgroup, the bundle and a shareable /dev/shm a run
    leaves behind; the record stays."""
    try:
        ctx.network.detach(container)
    except errors.EngineError as exc:
        log.warning("detaching container %s from the bridge: %s", container.id[:12], exc)
    try:
        ctx.cgroup(container).destroy()
    except errors.EngineError:
        pass
    try:
        namespace_sharing.release(ctx, container)
    except errors.EngineError:
        pass
    shutil.rmtree(ctx.layout.bundle_dir(container.id), ignore_errors=True)


def record_exit(ctx: ContainerContext, container: Container, result: dict[str, Any]) -> bool:
    """Save the exit, publish oom/die; returns whether the restart policy asks for a restart
    (the container is then left "restarting")."""
    oom = bool(result.get("oom_killed"))
    try:
        oom = oom or ctx.cgroup(container).oom_killed()
    except errors.EngineError:
        pass
    discard_runtime_state(ctx, container)
    ctx.volumes.publish_mounts(container.id, ctx.mount_points(container) or [], "unmount")
    code = int(result.get("exit_code", 255))
    with container.lock:
        container.set_exited(code, oom, result.get("finished_at"))
        restart = restart_policy.should_restart(container, code)
        if restart:  # counted now, as dockerd's monitor counts it, not when it starts
            container.data["RestartCount"] += 1
            container.state.update(Status="restarting", Restarting=True)
        container.save_eventually()
    if oom:
        ctx.publish(container, "oom")
    ctx.publish(container, "die", {"exitCode": str(code)})
    return restart
