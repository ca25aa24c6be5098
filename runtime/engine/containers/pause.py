"""Pause and unpause: the container's cgroup frozen and thawed."""

from __future__ import annotations

from cove.runtime import errors
from cove.runtime.containers.record import Container
from cove.runtime.engine.containers.context import ContainerContext


def pause(ctx: ContainerContext, container: Container) -> None:
    with container.lock:
        if not container.running:
            raise errors.Conflict(f"Container {container.id} is not running")
        if container.state["Paused"]:
            raise errors.Conflict(f"Container {container.id} is already paused")
        ctx.cgroup(container).freeze()
        container.state.update(Paused=True, Status="paused")
        container.save()
    ctx.publish(container, "pause")


def unpause(ctx: ContainerContext, container: Container) -> None:
    with container.lock:
        if not container.state["Paused"]:
            raise errors.Conflict(f"Container {container.id} is not paused")
        ctx.cgroup(container).thaw()
        container.state.update(Paused=False, Status="running")
        container.save()
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
