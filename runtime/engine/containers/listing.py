"""``GET /containers/json``: the filters dockerd knows and the summary ``docker ps`` shows."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Any

from cove.runtime import errors
from cove.runtime.build.layers import ENGINE_STUBS
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
    _check_filters(filters)
    containers = sorted(ctx.all(), key=lambda c: c.data["Created"], reverse=True)
    before = _created_of(ctx, filters.get("before"))
    since = _created_of(ctx, filters.get("since"))
    if limit and limit > 0 or before or since:
        all_ = True
    if filters.get("status") or filters.get("exited"):
        all_ = True
    result = []
    for container in containers:
        # a container waiting for its policy restart is listed too: dockerd counts it running
        if not all_ and not (container.running or container.status == Status.RESTARTING):
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


HEALTH_STATES = ("starting", "healthy", "unhealthy", "none")


def _check_filters(filters: dict[str, list[str]]) -> None:
    """Refuse what dockerd refuses, in its words, before looking at any container."""
    for key in filters:
        if key not in LIST_FILTERS:
            raise errors.InvalidParameter(f"Invalid filter '{key}'")
    for status in filters.get("status", []):
        if status not in [s.value for s in Status]:
            raise errors.InvalidParameter(f"Invalid filter 'status={status}'")
    for health in filters.get("health", []):
        if health not in HEALTH_STATES:
            raise errors.InvalidParameter(f"Unrecognised filter value for health: {health}")
    for task in filters.get("is-task", []):
        if task not in ("true", "false"):
            raise errors.InvalidParameter(f"Invalid filter 'is-task=[{task}]'")
    for code in filters.get("exited", []):
        if not code.lstrip("-").isdigit():
            raise errors.InvalidParameter(f'strconv.Atoi: parsing "{code}": invalid syntax')
    for key in ("expose", "publish"):
        for value in filters.get(key, []):
            _port_range(key, value)


def _port_range(key: str, value: str) -> tuple[int, int, str]:
    """``80``, ``80/udp`` or ``8000-8080/tcp`` as (first, last, protocol)."""
    ports, _, proto = value.partition("/")
    first, _, last = ports.partition("-")
    numbers = []
    for number in (first, last or first):
        if not number.isdigit() or int(number) > 65535:
            raise errors.InvalidParameter(
                f'error while looking up for {key} {value}: strconv.ParseUint: parsing '
                f'"{number}": invalid syntax')
        numbers.append(int(number))
    return numbers[0], numbers[1], proto or "tcp"


def _ports_match(key: str, selector: str, ports: list[str]) -> bool:
    """Whether any of ``ports`` ("8080/tcp") falls in the filter's port or range."""
    first, last, proto = _port_range(key, selector)
    for port in ports:
        number, _, port_proto = port.partition("/")
        if number.isdigit() and first <= int(number) <= last and (port_proto or "tcp") == proto:
            return True
    return False


def _uses_volume(container: Container, selector: str) -> bool:
    """dockerd's ``volume=``: a mount's volume name, its source or its destination."""
    for mount in container.data.get("Mounts") or []:
        if selector in (mount.get("Name"), mount.get("Source"), mount.get("Destination")):
            return True
    return False


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
    host = container.host_config
    networks = (container.data.get("NetworkSettings") or {}).get("Networks") or {}
    exposed = container.config.get("ExposedPorts") or {}
    published = host.get("PortBindings") or {}
    return (
        any_of("id", container.id.startswith)
        and any_of("name", lambda v: v.lstrip("/") in container.name)
        and any_of("status", lambda v: v == status)
        and any_of("exited", lambda v: not state["Running"] and status == "exited"
                   and str(state["ExitCode"]) == v)
        and all(label_matches(labels, v) for v in filters.get("label", []))
        and any_of("ancestor", lambda v: _is_ancestor(ctx, v, image_id, container))
        and any_of("health", lambda v: v == (state.get("Health") or {}).get("Status", "none"))
        and any_of("isolation", lambda v: v == (host.get("Isolation") or "default"))
        and any_of("is-task", lambda v: v == "false")  # no swarm: no container is a task
        and any_of("volume", lambda v: _uses_volume(container, v))
        and any_of("network", lambda v: v in networks or any(  # a name, or an ID prefix
            ((n or {}).get("NetworkID") or "").startswith(v) for n in networks.values()))
        and any_of("expose", lambda v: _ports_match("expose", v, list(exposed)))
        and any_of("publish", lambda v: _ports_match("publish", v, list(published)))
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
    if data["Args"]:  # dockerd's quoting: an argument with a space in single quotes
        command += " " + " ".join(f"'{arg}'" if " " in arg else arg for arg in data["Args"])
    image = container.config.get("Image", "")
    try:
        if ctx.images.resolve(image) != data["Image"]:
            image = data["Image"]
    except errors.NotFound:
        image = data["Image"]
    summary = {
        "Id": container.id, "Names": [data["Name"]], "Image": image,
        "ImageID": data["Image"], "Command": command,
        "Created": int(parse_rfc3339(data["Created"])), "Ports": summary_ports(container),
        "Labels": container.config.get("Labels") or {},
        "State": "paused" if container.state["Paused"] else container.state["Status"],
        "Status": container.uptime_text(),
        "HostConfig": {"NetworkMode": container.host_config.get("NetworkMode", "default")},
        "NetworkSettings": {"Networks": (data.get("NetworkSettings") or {}).get("Networks")
                            or {}},
        "Mounts": data.get("Mounts") or [],
    }
    if size:  # dockerd's omitempty: a size of 0 is left out of the list
        written, root = container_sizes(ctx, container)
        if written:
            summary["SizeRw"] = written
        if root:
            summary["SizeRootFs"] = root
    return summary


def summary_ports(container: Container) -> list[dict[str, Any]]:
    """``Ports`` of ``docker ps``: each published binding, and each exposed port of a
    running container that has none (dockerd's list, from NetworkSettings.Ports)."""
    found: list[dict[str, Any]] = []
    for key, bindings in ((container.data.get("NetworkSettings") or {}).get("Ports")
                          or {}).items():
        port, _, proto = key.partition("/")
        if not bindings:
            found.append({"PrivatePort": int(port), "Type": proto or "tcp"})
            continue
        for binding in bindings:
            found.append({"IP": binding.get("HostIp") or "0.0.0.0", "PrivatePort": int(port),
                          "PublicPort": int(binding.get("HostPort") or 0),
                          "Type": proto or "tcp"})
    return found


def container_sizes(ctx: ContainerContext, container: Container) -> tuple[int, int]:
    """``SizeRw`` and ``SizeRootFs``: what the container wrote, and that with its image."""
    written = _written_size(ctx.layout.container_upper(container.id))
    store = ctx.images.store
    try:
        image_size = sum(store.layer_size(c) for c in store.layer_chain(container.data["Image"]))
    except errors.EngineError:  # its image was removed with -f
        image_size = 0
    return written, written + image_size


def _written_size(upper: os.PathLike[str]) -> int:
    """``SizeRw``: what the container wrote. The engine's init links in its upper dir
    (``/etc/mtab``) are left out: dockerd keeps them in an init layer beneath the
    container's, so they never count there (its empty stubs count 0 anyway)."""
    total = tree_size(upper)
    for rel in ENGINE_STUBS:
        try:
            st = os.lstat(os.path.join(upper, rel))
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            total -= st.st_size
    return total
