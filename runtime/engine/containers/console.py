"""A container's terminal size: kept in the record for the next start, and sent to the
shim while the container runs."""

from __future__ import annotations

from cove.runtime import errors
from cove.runtime.containers import shim_client
from cove.runtime.containers.record import Container, Status
from cove.runtime.engine.containers.context import ContainerContext


def resize(ctx: ContainerContext, container: Container, height: int, width: int) -> None:
    with container.lock:
        container.private["console"] = {"height": height, "width": width}
        running = container.running
    if not running:
        if container.status == Status.CREATED:
            return
        raise errors.Conflict(f"Container {container.id} is not running")
    try:
        shim_client.resize(ctx.layout, container.id, height, width)
    except OSError as exc:
        raise errors.SystemError_(f"resize: {exc}") from exc
