"""Adoption at daemon start: containers whose shims outlived the previous daemon.

A running container's shim keeps serving on its socket, so the new daemon watches it
as if it had started it; a container that exited meanwhile gets the exit its shim
recorded. Then the restart policies that apply at daemon start are honoured.
"""

from __future__ import annotations

import os

from cove.runtime import errors
from cove.runtime.containers import shim_client
from cove.runtime.containers.record import Container, Status
from cove.runtime.engine.containers import exits, pause, remove, restart_policy, start
from cove.runtime.engine.containers.context import ContainerContext


def load_all(ctx: ContainerContext) -> list[Container]:
    """Every container record on disk, into the table, their volumes marked in use."""
    loaded = []
    for entry in sorted(os.listdir(ctx.layout.containers_dir)):
        try:
            container = Container.load(ctx.layout, entry)
        except (OSError, ValueError):
            continue  # a half-created container: its record was never renamed into place
        ctx.add(container)
        ctx.volumes.adopt(container.id, ctx.mount_points(container) or [])
        loaded.append(container)
    return loaded


def adopt_all(ctx: ContainerContext) -> None:
    """Re-attach to containers whose shims outlived the previous daemon; settle the rest.
    The bridge is set up first, with the endpoints of those still running: their ports
    answer again before anything else starts."""
    loaded = load_all(ctx)
    ctx.network.setup([c for c in loaded if c.running and shim_client.alive(ctx.layout, c.id)])
    for container in loaded:
        _settle(ctx, container)
        _thaw_after_commit(ctx, container)
    for container in ctx.all():
        if container.running or container.status == Status.CREATED:
            continue
        if restart_policy.restarts_at_daemon_start(container):
            try:
                with container.op_lock:
                    start.start_container(ctx, container)
            except errors.EngineError:
                pass


def _settle(ctx: ContainerContext, container: Container) -> None:
    state = container.state
    if state["Status"] == "removing":
        remove.delete(ctx, container)
        return
    shim_alive = shim_client.alive(ctx.layout, container.id)
    if state["Running"]:
        if shim_alive:
            start.watch(ctx, container, None)
        else:
            start.after_exit(ctx, container, exits.exit_from_disk(ctx, container))
    elif shim_alive:
        # released just before the previous daemon died, so never recorded running
        shim_state = shim_client.state(ctx.layout, container.id)
        if shim_state.get("running"):
            with container.lock:
                container.set_running(int(shim_state["pid"]))
                container.save_eventually()
        start.watch(ctx, container, None)
    else:
        if ctx.layout.bundle_dir(container.id).exists():  # a start cut short
            exits.discard_runtime_state(ctx, container)
        if state["Status"] == "restarting":
            with container.lock:
                container.state.update(Status="exited", Restarting=False)
                container.save_eventually()


def _thaw_after_commit(ctx: ContainerContext, container: Container) -> None:
    """A commit that paused the container was cut short (its marker is still there):
    thaw it, whatever the record says (the crash may have come between the freeze and
    the save), and record it running."""
    marker = ctx.layout.commit_pause_marker(container.id)
    if not marker.exists():
        return
    if container.running:
        was_paused = bool(container.state.get("Paused"))
        pause.thaw_quietly(ctx, container)
        with container.lock:
            container.save_eventually()
        if was_paused:
            ctx.publish(container, "unpause")
    marker.unlink(missing_ok=True)
