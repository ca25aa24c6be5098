"""Pause and unpause: the container's cgroup frozen and thawed."""

from __future__ import annotations

from cove.runtime import errors
from cove.runtime.containers.record import Container
from cove.runtime.engine.containers import restart_policy
from cove.runtime.engine.containers.context import ContainerContext


def pause(ctx: ContainerContext, container: Container) -> None:
    with container.lock:
        restart_policy.refuse_while_restarting(container)
        if not container.running:
            raise errors.Conflict(f"Container {container.id} is not running")
        if container.state["Paused"]:
            raise errors.Conflict(f"Container {container.id} is already paused")
        manager = ctx.cgroup(container)
        manager.freeze()
        try:
            container.change(lambda data: data["State"].update(Paused=True, Status="paused"))
        except OSError as exc:  # not recorded, so not left frozen either
            manager.thaw()
            raise errors.disk_failure(exc, f"Cannot pause container {container.id}") from exc
    ctx.publish(container, "pause")


def unpause(ctx: ContainerContext, container: Container) -> None:
    with container.lock:
        if not container.state["Paused"]:
            raise errors.Conflict(f"Container {container.id} is not paused")
        ctx.cgroup(container).thaw()
        container.state.update(Paused=False, Status="running")
        container.save_eventually()  # thawed is the truth now, whatever the disk says
    ctx.publish(container, "unpause")


def thaw_quietly(ctx: ContainerContext, container: Container) -> None:
    """Thaw a paused container that is being stopped or killed, so the signal lands."""
    try:
        ctx.cgroup(container).thaw()
    except errors.EngineError:
        pass
    with container.lock:
        container.state.update(Paused=False, Status="running" if container.running else
                               container.state["Status"])
