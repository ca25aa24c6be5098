"""The volume service: ``/volumes`` and the volumes containers mount.

API shapes follow the Engine API v1.41 swagger (``Volume``, ``VolumeListResponse``,
``VolumePruneResponse``) and dockerd 20.10's answers (``Labels``/``Options`` null when
empty, ``Invalid filter 'x'``, prune removing every unused volume). Containers get
their volumes here at create (named ones made if missing, anonymous ones named with
64 hex digits, empty ones filled from the image) and give them back at removal.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cove.runtime import errors
from cove.runtime.engine import mounts
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.mounts import MountPoint
from cove.runtime.store.layout import Layout, tree_size
from cove.runtime.volumes import copyup
from cove.runtime.volumes.store import LOCAL_DRIVER, Volume, VolumeStore

LIST_FILTERS = ("name", "label", "dangling", "driver")
PRUNE_FILTERS = ("label", "label!")


def _truthy(key: str, values: list[str]) -> bool:
    value = values[-1].lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise errors.InvalidParameter(f"Invalid filter '{key}=[{' '.join(values)}]'")


def _label_matches(labels: dict[str, str], selector: str) -> bool:
    key, sep, value = selector.partition("=")
    if key not in labels:
        return False
    return not sep or labels[key] == value


def _matches(pattern: str, text: str) -> bool:
    """dockerd's ``filters.Match``: the value as a regular expression, else a substring."""
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return pattern in text



def plan_mounts(config: dict[str, Any], host: dict[str, Any],
                points_of: Callable[[str], list[MountPoint]]) -> list[MountPoint]:
    """Every mount of a new container, by destination: ``--volumes-from`` first
    (``points_of`` gives another container's), then Binds, Mounts and Tmpfs over them,
    then ``Config.Volumes`` where nothing is mounted yet (dockerd's order)."""
    planned: dict[str, MountPoint] = {}
    for spec in host.get("VolumesFrom") or []:
        if not isinstance(spec, str):
            raise errors.InvalidParameter(
                "json: cannot unmarshal value into Go struct field HostConfig.VolumesFrom "
                "of type string")
        ref, mode = mounts.parse_volumes_from(spec)
        for point in points_of(ref):
            inherited = mounts.inherited_point(point, mode)
            if inherited is not None:
                planned[inherited.destination] = inherited
    for point in mounts.mount_points(host, check_source=False):
        planned[point.destination] = point
    return list(planned.values()) + mounts.config_volume_points(config.get("Volumes"),
                                                                set(planned))


class VolumeService:
    def __init__(self, layout: Layout, events: EventBus) -> None:
        self.layout = layout
        self.events = events
        self.store = VolumeStore(layout)

    def view(self, volume: Volume) -> dict[str, Any]:
        """A ``Volume`` as the API shows it (dockerd leaves Status and UsageData out)."""
        return {"CreatedAt": volume.created_at, "Driver": volume.driver,
                "Labels": dict(volume.labels) or None,
                "Mountpoint": self.store.mountpoint(volume.name), "Name": volume.name,
                "Options": dict(volume.options) or None, "Scope": "local"}

    def _publish(self, action: str, name: str, extra: dict[str, str] | None = None) -> None:
        self.events.publish("volume", action, name, {"driver": LOCAL_DRIVER, **(extra or {})})

    # the API
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        for key in ("Name", "Driver"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise errors.InvalidParameter(
                    f"json: cannot unmarshal value into Go struct field "
                    f"VolumeCreateBody.{key} of type string")
        for key in ("Labels", "DriverOpts"):
            value = body.get(key)
            if value is not None and not (isinstance(value, dict) and
                                          all(isinstance(v, str) for v in value.values())):
                raise errors.InvalidParameter(
                    f"json: cannot unmarshal value into Go struct field "
                    f"VolumeCreateBody.{key} of type map[string]string")
        volume, made = self.store.create(body.get("Name") or "", body.get("Driver") or "",
                                         body.get("Labels"), body.get("DriverOpts"))
        if made:
            self._publish("create", volume.name)
        return self.view(volume)

    def inspect(self, name: str) -> dict[str, Any]:
        return self.view(self.store.get(name))

    def list(self, filters: dict[str, builtins.list[str]]) -> dict[str, Any]:
        for key in filters:
            if key not in LIST_FILTERS:
                raise errors.InvalidParameter(f"Invalid filter '{key}'")
        dangling = _truthy("dangling", filters["dangling"]) if filters.get("dangling") else None
        shown = []
        for volume in self.store.list():
            if not all(_matches(v, volume.name) for v in filters.get("name", [])):
                continue
            if not all(_matches(v, volume.driver) for v in filters.get("driver", [])):
                continue
            if not all(_label_matches(volume.labels, v) for v in filters.get("label", [])):
                continue
            if dangling is not None and self.store.in_use(volume.name) == dangling:
                continue
            shown.append(self.view(volume))
        return {"Volumes": shown, "Warnings": None}

    def remove(self, name: str, force: bool) -> None:
        if self.store.remove(name, force):
            self._publish("destroy", name)

    def prune(self, filters: dict[str, builtins.list[str]]) -> dict[str, Any]:
        """API 1.41: every volume no container uses, named or anonymous."""
        for key in filters:
            if key not in PRUNE_FILTERS:
                raise errors.InvalidParameter(f"Invalid filter '{key}'")
        deleted, reclaimed = [], 0
        for volume in self.store.list():
            labels = volume.labels
            if not all(_label_matches(labels, v) for v in filters.get("label", [])):
                continue
            if any(_label_matches(labels, v) for v in filters.get("label!", [])):
                continue
            if self.store.in_use(volume.name):
                continue
            size = tree_size(self.store.mountpoint(volume.name))
            try:
                self.store.remove(volume.name)
            except (errors.Conflict, errors.NotFound):
                continue  # taken by a container (or removed) since the check
            self._publish("destroy", volume.name)
            deleted.append(volume.name)
            reclaimed += size
        self.events.publish("volume", "prune", "", {"reclaimed": str(reclaimed)})
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    # containers
    def attach(self, cid: str, points: builtins.list[MountPoint], lower_dirs: builtins.list[str]) -> builtins.list[MountPoint]:
        """The container's mount points with every volume made (or found) and referenced
        by ``cid``, empty ones filled from the image unless nocopy. On failure the
        references are dropped and the anonymous volumes made here removed."""
        resolved: builtins.list[MountPoint] = []
        try:
            for point in points:
                if point.type != "volume":
                    resolved.append(point)
                    continue
                if point.source:  # from --volumes-from: made for the other container
                    self.store.acquire(point.name, cid)
                    resolved.append(point)
                    continue
                volume, made = self.store.create(point.name, point.driver,
                                                 point.volume_labels, point.volume_options,
                                                 ref=cid)
                if made:
                    self._publish("create", volume.name)
                done = replace(point, name=volume.name, driver=volume.driver,
                               source=self.store.mountpoint(volume.name),
                               volume_labels=None, volume_options=None)
                resolved.append(done)
                if point.copy_data:
                    copyup.copy_image_path(lower_dirs, point.destination, done.source,
                                           str(self.layout.tmp_dir))
        except BaseException:
            self.detach(cid, resolved, remove_anonymous=True)
            raise
        return resolved

    def adopt(self, cid: str, points: builtins.list[MountPoint]) -> None:
        """Reference the volumes of a container loaded from disk (daemon start)."""
        for point in points:
            if point.type == "volume" and point.name:
                self.store.acquire(point.name, cid)

    def detach(self, cid: str, points: builtins.list[MountPoint], remove_anonymous: bool) -> None:
        """Drop ``cid``'s references; with ``remove_anonymous`` (``rm -v``, ``--rm``) remove
        its anonymous volumes that no other container uses (dockerd ignores the others)."""
        for point in points:
            if point.type != "volume" or not point.name:
                continue
            self.store.release(point.name, cid)
            if remove_anonymous and point.anonymous:
                try:
                    self.remove(point.name, force=True)
                except errors.Conflict:
                    pass

    def publish_mounts(self, cid: str, points: builtins.list[MountPoint], action: str) -> None:
        """``mount`` / ``unmount`` events for a container's volumes, as dockerd sends."""
        for point in points:
            if point.type != "volume" or not point.name:
                continue
            extra = {"container": cid}
            if action == "mount":
                extra.update({"destination": point.destination,
                              "read/write": "true" if point.rw else "false",
                              "propagation": ""})
            self._publish(action, point.name, extra)
