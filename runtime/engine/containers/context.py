"""What every container operation shares: the engine's stores and the table of containers.

Each operation (create, start, stop, ...) is a function of this object and a
``Container`` record. The record holds one container's state and locks; this holds
the index by ID and name (under ``lock``) and the services the operations call.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from cove.runtime import errors
from cove.runtime.containers import names
from cove.runtime.containers.record import Container
from cove.runtime.engine import host_modes
from cove.runtime.engine.container_network import ContainerNetworks
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.mounts import MountPoint
from cove.runtime.engine.volumes import VolumeService
from cove.runtime.linux import cgroups
from cove.runtime.store.layout import Layout

if TYPE_CHECKING:
    from cove.runtime.engine.images import ImageService


def _name_in_use(canonical: str, holder: str) -> errors.Conflict:
    return errors.Conflict(
        f'Conflict. The container name "{canonical}" is already in use by container '
        f'"{holder}". You have to remove (or rename) that container to be able to reuse '
        "that name.")


class ContainerContext:
    def __init__(self, layout: Layout, images: ImageService, events: EventBus,
                 volumes: VolumeService, network: ContainerNetworks | None = None) -> None:
        self.layout = layout
        self.images = images
        self.events = events
        self.volumes = volumes
        self.network = network or ContainerNetworks(layout)
        self.network.publish = events.publish
        self.network.name_of = self._current_name
        self.lock = threading.RLock()
        self._by_id: dict[str, Container] = {}
        self._names: dict[str, str] = {}  # "/name" -> id

    # the table
    def get(self, ref: str) -> Container:
        """By full ID, name, or unique ID prefix (dockerd's lookup order)."""
        with self.lock:
            if ref in self._by_id:
                return self._by_id[ref]
            cid = self._names.get("/" + ref.lstrip("/"))
            if cid:
                return self._by_id[cid]
            if ref:
                found = [c for i, c in self._by_id.items() if i.startswith(ref)]
                if len(found) == 1:
                    return found[0]
                if len(found) > 1:
                    raise errors.InvalidParameter(
                        f"multiple IDs found with provided prefix: {ref}")
        raise errors.no_such_container(ref)

    def all(self) -> list[Container]:
        with self.lock:
            return list(self._by_id.values())

    def add(self, container: Container) -> None:
        with self.lock:
            self._by_id[container.id] = container
            self._names[container.data["Name"]] = container.id

    def reserve_name(self, name: str | None, cid: str) -> str:
        """The canonical "/name" for a new container (``name`` or a generated one), held
        for ``cid`` while its record is written; Conflict when another holds it."""
        with self.lock:
            if name:
                canonical = names.validate(name)
                if canonical in self._names:
                    raise _name_in_use(canonical, self._names[canonical])
            else:
                canonical = "/" + names.generate(set(self._names))
            self._names[canonical] = cid
        return canonical

    def release_name(self, canonical: str) -> None:
        with self.lock:
            self._names.pop(canonical, None)

    def _current_name(self, cid: str) -> str | None:
        with self.lock:
            container = self._by_id.get(cid)
        return container.name if container is not None else None

    def rename(self, container: Container, new_name: str) -> str:
        """Give ``container`` the name ``new_name`` (checked as dockerd does) and save its
        record; returns the old "/name"."""
        canonical = names.validate(new_name)
        with self.lock:
            if canonical == container.data["Name"]:
                raise errors.InvalidParameter("Renaming a container with the same name as its "
                                              "current name")
            if canonical in self._names:
                raise _name_in_use(canonical, self._names[canonical])
            old: str = container.data["Name"]
            try:  # the record first: when the disk refuses, the table is left untouched
                container.change(lambda data: data.update(Name=canonical))
            except OSError as exc:
                raise errors.disk_failure(
                    exc, f"Error when allocating new name: {canonical.lstrip('/')}") from exc
            del self._names[old]
            self._names[canonical] = container.id
        return old

    def forget(self, container: Container) -> bool:
        """Drop ``container`` from the table and mark it removed; False when it already was."""
        with self.lock:
            if container.removed:
                return False
            container.removed = True
            self._by_id.pop(container.id, None)
            if self._names.get(container.data["Name"]) == container.id:
                del self._names[container.data["Name"]]
        return True

    # what the operations share
    def publish(self, container: Container, action: str,
                extra: dict[str, str] | None = None) -> None:
        attrs = dict(container.config.get("Labels") or {})
        attrs.update(image=container.config.get("Image", ""), name=container.name)
        attrs.update(extra or {})
        self.events.publish("container", action, container.id, attrs)

    def cgroup(self, container: Container) -> cgroups.CgroupManager:
        """Under ``--cgroup-parent``'s path, or "cove" by default."""
        return cgroups.manager_for(container.id, host_modes.cgroup_parent(container.host_config))

    def mount_points(self, container: Container) -> list[MountPoint] | None:
        """The record's resolved mount points; None for a record made before volumes (its
        HostConfig is parsed again instead)."""
        recorded = container.private.get("mount_points")
        if recorded is None:
            return None
        return [MountPoint.from_record(item) for item in recorded]
