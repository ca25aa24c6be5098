"""Remove and prune: a container's record, directory and anonymous volumes go.

The record is unlinked before the container's directory goes, so a daemon that dies
halfway never brings a half-removed container back; one found "removing" at start is
finished off (``adopt``).
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.record import Container, Status, parse_rfc3339
from cove.runtime.engine.containers import stop, wait
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.engine.containers.listing import label_matches
from cove.runtime.store.layout import tree_size

PRUNE_FILTERS = ("until", "label", "label!")
FORCED_STOP_TIMEOUT = 15.0


def remove(ctx: ContainerContext, ref: str, force: bool, volumes: bool) -> None:
    """``volumes`` (``rm -v``) also removes the container's anonymous volumes."""
    container = ctx.get(ref)
    with container.lock:
        if container.status == Status.RESTARTING and not force:  # dockerd: running too
            raise errors.Conflict(
                f"You cannot remove a restarting container {container.id}. Stop the "
                "container before attempting removal or force remove")
        if container.running:
            if container.state["Paused"] and not force:
                raise errors.Conflict(
                    f"You cannot remove a paused container {container.id}. Unpause and "
                    "then stop the container before attempting removal or force remove")
            if not force:
                raise errors.Conflict(
                    f"You cannot remove a running container {container.id}. Stop the "
                    "container before attempting removal or force remove")
    if container.running:
        stop.kill(ctx, container.id, "KILL")
        wait.wait_not_running(container, FORCED_STOP_TIMEOUT)
    delete(ctx, container, volumes)


def delete(ctx: ContainerContext, container: Container, volumes: bool = False) -> None:
    """Remove a stopped container for good; a second call does nothing."""
    if not ctx.forget(container):
        return
    with container.lock:
        container.state["Status"] = "removing"
    shutil.rmtree(ctx.layout.bundle_dir(container.id), ignore_errors=True)
    try:
        os.unlink(ctx.layout.container_config(container.id))
    except FileNotFoundError:
        pass
    shutil.rmtree(ctx.layout.container_dir(container.id), ignore_errors=True)
    ctx.volumes.detach(container.id, ctx.mount_points(container) or [], volumes)
    ctx.publish(container, "destroy")
    with container.lock:
        container.changed.notify_all()


def prune(ctx: ContainerContext, filters: dict[str, list[str]]) -> dict[str, Any]:
    for key in filters:
        if key not in PRUNE_FILTERS:
            raise errors.InvalidParameter(f"Invalid filter '{key}'")
    until = _until(filters.get("until"))
    deleted, reclaimed = [], 0
    for container in ctx.all():
        if container.running or container.status == Status.RESTARTING:
            continue
        labels = container.config.get("Labels") or {}
        if not all(label_matches(labels, v) for v in filters.get("label", [])):
            continue
        if any(label_matches(labels, v) for v in filters.get("label!", [])):
            continue
        if until is not None and parse_rfc3339(container.data["Created"]) >= until:
            continue
        size = tree_size(ctx.layout.container_upper(container.id))
        try:
            delete(ctx, container)
        except OSError:
            continue
        deleted.append(container.id)
        reclaimed += size
    ctx.events.publish("container", "prune", "", {"reclaimed": str(reclaimed)})
    return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}


def _until(values: list[str] | None) -> float | None:
    """An ``until`` filter as seconds since the epoch: a timestamp, a duration ago
    ("10m"), or an RFC 3339 time."""
    if not values:
        return None
    value = values[0]
    try:
        return float(value)
    except ValueError:
        pass
    units = {"s": 1, "m": 60, "h": 3600}
    if value[-1:] in units and value[:-1].replace(".", "").isdigit():
        return time.time() - float(value[:-1]) * units[value[-1]]
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise errors.InvalidParameter(f"invalid until filter: {value}") from exc
