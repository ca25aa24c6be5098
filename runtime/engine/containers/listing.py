"""``GET /containers/json``: the filters dockerd knows and the summary ``docker ps`` shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.record import Container, Status, parse_rfc3339
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.store.layout import tree_size

LIST_FILTERS = ("id", "name", "label", "status", "exited", "ancestor", "before", "since",
                "isolation", "health", "network", "volume", "is-task", "publish", "expose")


def label_matches(labels: dict[str, str], selector: str) -> bool:
    """A ``label=`` filter: "key" asks that the label is set, "key=value" that it has that value."""
    key, sep, value = selector.partition("=")
    if key not in labels:
        return False
    return not sep or labels[key] == value


def list_containers(ctx: ContainerContext, all_: bool, limit: int | None, size: bool,
                    filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    for key in filters:
        if key not in LIST_FILTERS:
            raise errors.InvalidParameter(f"invalid filter '{key}'")
    for status in filters.get("status", []):
        if status not in [s.value for s in Status]:
            raise errors.InvalidParameter(f"invalid filter 'status={status}'")
    containers = sorted(ctx.all(), key=lambda c: c.data["Created"], reverse=True)
    before = _created_of(ctx, filters.get("before"))
    since = _created_of(ctx, filters.get("since"))
    if limit and limit > 0 or before or since:
        all_ = True
    if filters.get("status") or filters.get("exited"):
        all_ = True
    result = []
    for container in containers:
        if not all_ and not container.running:
            continue
        if before is not None and container.data["Created"] >= before:
            continue
        if since is not None and container.data["Created"] <= since:
            continue
        if not _matches(ctx, container, filters):
            continue
        result.append(_summary(ctx, container, size))
        if limit and limit > 0 and len(result) >= limit:
            break
    return result


def _created_of(ctx: ContainerContext, refs: list[str] | None) -> str | None:
    if not refs:
        return None
    created: str = ctx.get(refs[0]).data["Created"]
    return created


def _matches(ctx: ContainerContext, container: Container, filters: dict[str, list[str]]) -> bool:
    def any_of(key: str, test: Callable[[str], bool]) -> bool:
        values = filters.get(key)
        return not values or any(test(v) for v in values)

    labels = container.config.get("Labels") or {}
    state = container.state
    status = "paused" if state["Paused"] else state["Status"]
    image_id = container.data["Image"]
    return (
        any_of("id", container.id.startswith)
        and any_of("name", lambda v: v.lstrip("/") in container.name)
        and any_of("status", lambda v: v == status)
        and any_of("exited", lambda v: not state["Running"] and status == "exited"
                   and str(state["ExitCode"]) == v)
        and all(label_matches(labels, v) for v in filters.get("label", []))
        and any_of("ancestor", lambda v: _is_ancestor(ctx, v, image_id, container))
    )


def _is_ancestor(ctx: ContainerContext, ref: str, image_id: str, container: Container) -> bool:
    if container.config.get("Image") == ref:
        return True
    try:
        return ctx.images.resolve(ref) == image_id
    except errors.NotFound:
        return False


def _summary(ctx: ContainerContext, container: Container, size: bool) -> dict[str, Any]:
    data = container.data
    command = data["Path"]
    if data["Args"]:
        command += " " + " ".join(data["Args"])
    image = container.config.get("Image", "")
    try:
        if ctx.images.resolve(image) != data["Image"]:
            image = data["Image"]
    except errors.NotFound:
        image = data["Image"]
    summary = {
        "Id": container.id, "Names": [data["Name"]], "Image": image,
        "ImageID": data["Image"], "Command": command,
        "Created": int(parse_rfc3339(data["Created"])), "Ports": [],
        "Labels": container.config.get("Labels") or {},
        "State": "paused" if container.state["Paused"] else container.state["Status"],
        "Status": container.uptime_text(),
        "HostConfig": {"NetworkMode": container.host_config.get("NetworkMode", "default")},
        "NetworkSettings": {"Networks": {}}, "Mounts": data.get("Mounts") or [],
    }
    if size:
        summary["SizeRw"] = tree_size(ctx.layout.container_upper(container.id))
        store = ctx.images.store
        try:
            image_size = sum(store.layer_size(c) for c in store.layer_chain(data["Image"]))
        except errors.EngineError:  # its image was removed with -f
            image_size = 0
        summary["SizeRootFs"] = summary["SizeRw"] + image_size
    return summary
