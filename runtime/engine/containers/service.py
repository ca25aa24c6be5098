"""``ContainerService``: the container operations the API calls, by ID or name.

Each method finds the container and hands it to the module of its operation; the
state they share is the ``ContainerContext`` (the table, the stores) and each
container's record.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cove.runtime import errors
from cove.runtime.containers.record import Container
from cove.runtime.engine.container_network import ContainerNetworks
from cove.runtime.engine.containers import (
    adopt,
    console,
    create,
    listing,
    pause,
    remove,
    shim_spec,
    start,
    stop,
    top,
    wait,
)
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.mounts import MountPoint
from cove.runtime.engine.volumes import VolumeService
from cove.runtime.linux import cgroups
from cove.runtime.store.layout import Layout

if TYPE_CHECKING:
    from cove.runtime.engine.images import ImageService


class ContainerService:
    def __init__(self, layout: Layout, images: ImageService, events: EventBus,
                 volumes: VolumeService | None = None,
                 network: ContainerNetworks | None = None) -> None:
        self.layout = layout
        self._ctx = ContainerContext(layout, images, events,
                                     volumes or VolumeService(layout, events), network)

    # what the other services share
    def get(self, ref: str) -> Container:
        """By full ID, name, or unique ID prefix (dockerd's lookup order)."""
        return self._ctx.get(ref)

    def all(self) -> list[Container]:
        return self._ctx.all()

    def publish(self, container: Container, action: str,
                extra: dict[str, str] | None = None) -> None:
        self._ctx.publish(container, action, extra)

    def cgroup(self, container: Container) -> cgroups.CgroupManager:
        return self._ctx.cgroup(container)

    def mount_points(self, container: Container) -> list[MountPoint] | None:
        """The container's binds, volumes and tmpfs mounts, as its record keeps them."""
        return self._ctx.mount_points(container)

    def process_privileges(self, container: Container) -> dict[str, Any]:
        """What execs get of the container's process spec (capabilities, groups, ulimits)."""
        return shim_spec.process_privileges(container, self._ctx.layout.data_root).to_json()

    def exec_ids(self, cid: str) -> list[str]:
        return []  # replaced by the exec service when it is wired in

    # create, read, rename
    def create(self, body: Any, name: str | None, platform: str | None = None) -> dict[str, Any]:
        return create.create(self._ctx, body, name, platform)

    def inspect(self, ref: str, size: bool = False) -> dict[str, Any]:
        container = self.get(ref)
        data = container.inspect()
        data["ExecIDs"] = self.exec_ids(container.id) or None
        if size:  # inspect --size: both, even when 0 (dockerd's are pointers there)
            data["SizeRw"], data["SizeRootFs"] = listing.container_sizes(self._ctx, container)
        return data

    def list(self, all_: bool, limit: int | None, size: bool,
             filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return listing.list_containers(self._ctx, all_, limit, size, filters)

    def rename(self, ref: str, new_name: str | None) -> None:
        if not new_name:
            raise errors.InvalidParameter("Neither old nor new names may be empty")
        container = self.get(ref)
        old = self._ctx.rename(container, new_name)
        self.publish(container, "rename", {"oldName": old})

    def top(self, ref: str, ps_args: str | None) -> dict[str, Any]:
        return top.top(self._ctx, self.get(ref), ps_args)

    # lifecycle
    def start(self, ref: str) -> None:
        container = self.get(ref)
        with container.op_lock:
            start.start_container(self._ctx, container)

    def stop(self, ref: str, timeout: int | None, signal: str | None = None) -> None:
        container = self.get(ref)
        with container.op_lock:
            stop.stop_container(self._ctx, container, timeout, signal)

    def restart(self, ref: str, timeout: int | None) -> None:
        container = self.get(ref)
        with container.op_lock:
            if container.running:
                stop.stop_container(self._ctx, container, timeout, None)
            start.start_container(self._ctx, container)
        self.publish(container, "restart")

    def kill(self, ref: str, signal: str | None) -> None:
        stop.kill(self._ctx, ref, signal)

    def pause(self, ref: str) -> None:
        pause.pause(self._ctx, self.get(ref))

    def unpause(self, ref: str) -> None:
        pause.unpause(self._ctx, self.get(ref))

    def resize(self, ref: str, height: int, width: int) -> None:
        console.resize(self._ctx, self.get(ref), height, width)

    def prepare_wait(self, ref: str, condition: str | None) -> Callable[[], dict[str, Any]]:
        """Checks the request now (404 before any bytes are sent); the returned
        function blocks until the condition holds."""
        return wait.prepare_wait(self._ctx, ref, condition)

    def remove(self, ref: str, force: bool, volumes: bool = False) -> None:
        """``volumes`` (``rm -v``) also removes the container's anonymous volumes."""
        remove.remove(self._ctx, ref, force, volumes)

    def prune(self, filters: dict[str, builtins.list[str]]) -> dict[str, Any]:
        return remove.prune(self._ctx, filters)

    def adopt_all(self) -> None:
        """At daemon start: re-attach to the containers whose shims outlived the previous
        daemon, settle the rest."""
        adopt.adopt_all(self._ctx)
