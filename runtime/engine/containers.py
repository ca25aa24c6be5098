"""The container service: create, find, list, rename, remove, prune, top.

Lifecycle (start, stop, wait, restart policies, re-adoption) is in
``lifecycle.py``; streams (attach, logs) in ``attach.py``. Handlers call this
service only; it calls the image store, the container records and the shim.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
from typing import Any

from cove.runtime import errors
from cove.runtime.containers import names
from cove.runtime.containers.record import ZERO_TIME, Container, Status, now_rfc3339, parse_rfc3339
from cove.runtime.engine import create_config, mounts
from cove.runtime.engine import volumes as volume_service
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.lifecycle import LifecycleMixin
from cove.runtime.engine.mounts import MountPoint
from cove.runtime.engine.volumes import VolumeService
from cove.runtime.store.layout import Layout, atomic_write, tree_size


class ContainerService(LifecycleMixin):
    def __init__(self, layout: Layout, images: Any, events: EventBus,
                 volumes: VolumeService | None = None) -> None:
        self.layout = layout
        self.images = images
        self.events = events
        self.volumes = volumes or VolumeService(layout, events)
        self._lock = threading.RLock()
        self._containers: dict[str, Container] = {}
        self._names: dict[str, str] = {}  # "/name" -> id

    # registry
    def load_all(self) -> list[Container]:
        loaded = []
        for entry in sorted(os.listdir(self.layout.containers_dir)):
            try:
                container = Container.load(self.layout, entry)
            except (OSError, ValueError):
                continue  # a half-created container: its record was never renamed into place
            self._containers[container.id] = container
            self._names[container.data["Name"]] = container.id
            self.volumes.adopt(container.id, self.mount_points(container) or [])
            loaded.append(container)
        return loaded

    def mount_points(self, container: Container) -> list[MountPoint] | None:
        """The record's resolved mount points; None for a record made before volumes (its
        HostConfig is parsed again instead)."""
        recorded = container.private.get("mount_points")
        if recorded is None:
            return None
        return [MountPoint.from_record(item) for item in recorded]

    def _points_of(self, ref: str) -> list[MountPoint]:
        """A ``--volumes-from`` container's mounts; dockerd answers a missing one with 400."""
        try:
            container = self.get(ref)
        except errors.NotFound as exc:
            raise errors.InvalidParameter(exc.message) from exc
        points = self.mount_points(container)
        if points is None:
            points = mounts.mount_points(container.host_config, check_source=False)
        return points

    def get(self, ref: str) -> Container:
        """By full ID, name, or unique ID prefix (dockerd's lookup order)."""
        with self._lock:
            if ref in self._containers:
                return self._containers[ref]
            cid = self._names.get("/" + ref.lstrip("/"))
            if cid:
                return self._containers[cid]
            if ref:
                found = [c for i, c in self._containers.items() if i.startswith(ref)]
                if len(found) == 1:
                    return found[0]
                if len(found) > 1:
                    raise errors.InvalidParameter(
                        f"multiple IDs found with provided prefix: {ref}")
        raise errors.no_such_container(ref)

    def all(self) -> list[Container]:
        with self._lock:
            return list(self._containers.values())

    def image_in_use(self, image_id: str) -> bool:
        return any(c.data["Image"] == image_id for c in self.all())

    def publish(self, container: Container, action: str, extra: dict[str, str] | None = None) -> None:
        attrs = dict(container.config.get("Labels") or {})
        attrs.update(image=container.config.get("Image", ""), name=container.name)
        attrs.update(extra or {})
        self.events.publish("container", action, container.id, attrs)

    # create
    def create(self, body: Any, name: str | None) -> dict[str, Any]:
        config, host = create_config.validate(body)
        image_ref = config["Image"]
        image_id = self.images.resolve(image_ref)
        merged = create_config.merge_image_config(config, self.images.config(image_id))
        host = create_config.normalize_host_config(host)
        cid = secrets.token_hex(32)
        with self._lock:
            if name:
                canonical = names.validate(name)
                if canonical in self._names:
                    raise errors.Conflict(
                        f'Conflict. The container name "{canonical}" is already in use by '
                        f'container "{self._names[canonical]}". You have to remove (or rename) '
                        "that container to be able to reuse that name.")
            else:
                canonical = "/" + names.generate(set(self._names))
            self._names[canonical] = cid  # reserve while the record is written
        points: list[MountPoint] = []
        try:
            planned = volume_service.plan_mounts(merged, host, self._points_of)
            points = self.volumes.attach(cid, planned, self.images.lower_dirs(image_id))
            container = self._write_new(cid, canonical, merged, host, image_id, points)
        except BaseException:
            with self._lock:
                self._names.pop(canonical, None)
            self.volumes.detach(cid, points, remove_anonymous=True)
            shutil.rmtree(self.layout.container_dir(cid), ignore_errors=True)
            raise
        with self._lock:
            self._containers[cid] = container
        self.publish(container, "create")
        return {"Id": cid, "Warnings": []}

    def _write_new(self, cid: str, name: str, config: dict[str, Any], host: dict[str, Any],
                   image_id: str, points: list[MountPoint]) -> Container:
        lay = self.layout
        cdir = lay.container_dir(cid)
        cdir.mkdir(mode=0o710)
        lay.container_upper(cid).mkdir()
        lay.container_work(cid).mkdir()
        config["Hostname"] = config.get("Hostname") or cid[:12]
        atomic_write(lay.container_hostname(cid), (config["Hostname"] + "\n").encode())
        atomic_write(lay.container_hosts(cid), create_config.hosts_file(host).encode())
        atomic_write(lay.container_resolv(cid), create_config.resolv_conf(host).encode())
        argv = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
        lower = self.images.lower_dirs(image_id)
        data = {
            "Id": cid, "Created": now_rfc3339(), "Path": argv[0], "Args": argv[1:],
            "State": {"Status": "created", "Running": False, "Paused": False,
                      "Restarting": False, "OOMKilled": False, "Dead": False, "Pid": 0,
                      "ExitCode": 0, "Error": "", "StartedAt": ZERO_TIME,
                      "FinishedAt": ZERO_TIME},
            "Image": image_id,
            "ResolvConfPath": str(lay.container_resolv(cid)),
            "HostnamePath": str(lay.container_hostname(cid)),
            "HostsPath": str(lay.container_hosts(cid)),
            "LogPath": str(lay.container_log(cid)),
            "Name": name, "RestartCount": 0, "Driver": "overlay2", "Platform": "linux",
            "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None,
            "HostConfig": host,
            "GraphDriver": {"Name": "overlay2", "Data": {
                "LowerDir": ":".join(lower),
                "UpperDir": str(lay.container_upper(cid)),
                "WorkDir": str(lay.container_work(cid)),
                "MergedDir": str(lay.bundle_rootfs(cid))}},
            "Mounts": mounts.inspect_mounts(host, points),
            "Config": config,
            "NetworkSettings": {"Bridge": "", "SandboxID": "", "Ports": {}, "Networks": {},
                                "IPAddress": "", "Gateway": "", "MacAddress": ""},
            "_cove": {"mount_points": [point.to_record() for point in points]},
        }
        container = Container(self.layout, data)
        container.save()
        return container

    # read
    def inspect(self, ref: str) -> dict[str, Any]:
        container = self.get(ref)
        data = container.inspect()
        data["ExecIDs"] = self.exec_ids(container.id) or None
        return data

    def exec_ids(self, cid: str) -> list[str]:
        return []  # replaced by the exec service when it is wired in

    def list(self, all_: bool, limit: int | None, size: bool,
             filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        for key in filters:
            if key not in ("id", "name", "label", "status", "exited", "ancestor", "before",
                           "since", "isolation", "health", "network", "volume", "is-task",
                           "publish", "expose"):
                raise errors.InvalidParameter(f"invalid filter '{key}'")
        for status in filters.get("status", []):
            if status not in [s.value for s in Status]:
                raise errors.InvalidParameter(f"invalid filter 'status={status}'")
        containers = sorted(self.all(), key=lambda c: c.data["Created"], reverse=True)
        before = self._created_of(filters.get("before"))
        since = self._created_of(filters.get("since"))
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
            if not self._matches(container, filters):
                continue
            result.append(self._summary(container, size))
            if limit and limit > 0 and len(result) >= limit:
                break
        return result

    def _created_of(self, refs: list[str] | None) -> str | None:
        if not refs:
            return None
        return self.get(refs[0]).data["Created"]

    def _matches(self, container: Container, filters: dict[str, list[str]]) -> bool:
        def any_of(key: str, test: Any) -> bool:
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
            and all(_label_matches(labels, v) for v in filters.get("label", []))
            and any_of("ancestor", lambda v: self._is_ancestor(v, image_id, container))
        )

    def _is_ancestor(self, ref: str, image_id: str, container: Container) -> bool:
        if container.config.get("Image") == ref:
            return True
        try:
            return self.images.resolve(ref) == image_id
        except errors.NotFound:
            return False

    def _summary(self, container: Container, size: bool) -> dict[str, Any]:
        data = container.data
        command = data["Path"]
        if data["Args"]:
            command += " " + " ".join(data["Args"])
        image = container.config.get("Image", "")
        try:
            if self.images.resolve(image) != data["Image"]:
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
            summary["SizeRw"] = tree_size(self.layout.container_upper(container.id))
            store = self.images.store
            try:
                image_size = sum(store.layer_size(c) for c in store.layer_chain(data["Image"]))
            except errors.EngineError:  # its image was removed with -f
                image_size = 0
            summary["SizeRootFs"] = summary["SizeRw"] + image_size
        return summary

    # rename, remove, prune, top
    def rename(self, ref: str, new_name: str | None) -> None:
        if not new_name:
            raise errors.InvalidParameter("Neither old nor new names may be empty")
        container = self.get(ref)
        canonical = names.validate(new_name)
        with self._lock:
            if canonical == container.data["Name"]:
                raise errors.InvalidParameter("Renaming a container with the same name as its "
                                              "current name")
            if canonical in self._names:
                raise errors.Conflict(
                    f'Conflict. The container name "{canonical}" is already in use by '
                    f'container "{self._names[canonical]}". You have to remove (or rename) '
                    "that container to be able to reuse that name.")
            old = container.data["Name"]
            with container.lock:
                container.data["Name"] = canonical
                container.save()
            del self._names[old]
            self._names[canonical] = container.id
        self.publish(container, "rename", {"oldName": old})

    def remove(self, ref: str, force: bool, volumes: bool = False) -> None:
        """``volumes`` (``rm -v``) also removes the container's anonymous volumes."""
        container = self.get(ref)
        with container.lock:
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
            self.kill(container.id, "KILL")
            self.wait_not_running(container, 15.0)
        self._delete(container, volumes)

    def _delete(self, container: Container, volumes: bool = False) -> None:
        with self._lock:
            if container.removed:
                return
            container.removed = True
            self._containers.pop(container.id, None)
            if self._names.get(container.data["Name"]) == container.id:
                del self._names[container.data["Name"]]
        with container.lock:
            container.state["Status"] = "removing"
        shutil.rmtree(self.layout.bundle_dir(container.id), ignore_errors=True)
        # the record goes first, so a crash mid-delete never resurrects a half container
        try:
            os.unlink(self.layout.container_config(container.id))
        except FileNotFoundError:
            pass
        shutil.rmtree(self.layout.container_dir(container.id), ignore_errors=True)
        self.volumes.detach(container.id, self.mount_points(container) or [], volumes)
        self.publish(container, "destroy")
        with container.lock:
            container.changed.notify_all()

    def prune(self, filters: dict[str, list[str]]) -> dict[str, Any]:
        for key in filters:
            if key not in ("until", "label", "label!"):
                raise errors.InvalidParameter(f"invalid filter '{key}'")
        until = _until(filters.get("until"))
        deleted, reclaimed = [], 0
        for container in self.all():
            if container.running or container.status == Status.RESTARTING:
                continue
            labels = container.config.get("Labels") or {}
            if not all(_label_matches(labels, v) for v in filters.get("label", [])):
                continue
            if any(_label_matches(labels, v) for v in filters.get("label!", [])):
                continue
            if until is not None and parse_rfc3339(container.data["Created"]) >= until:
                continue
            size = tree_size(self.layout.container_upper(container.id))
            try:
                self._delete(container)
            except OSError:
                continue
            deleted.append(container.id)
            reclaimed += size
        self.events.publish("container", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    def top(self, ref: str, ps_args: str | None) -> dict[str, Any]:
        container = self.get(ref)
        if not container.running:
            raise errors.Conflict(f"Container {container.id} is not running")
        pids = set(self.cgroup(container).pids())
        args = (ps_args or "-ef").split()
        try:
            out = subprocess.run(["ps", *args], capture_output=True, text=True, timeout=10)
        except OSError as exc:
            raise errors.SystemError_(f"ps: {exc}") from exc
        if out.returncode != 0:
            raise errors.InvalidParameter(f"Error running ps: {out.stderr.strip()}")
        lines = out.stdout.splitlines()
        titles = lines[0].split()
        if "PID" not in titles:
            raise errors.InvalidParameter("Couldn't find PID field in ps output")
        pid_col = titles.index("PID")
        processes = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > pid_col and fields[pid_col].isdigit() and int(fields[pid_col]) in pids:
                processes.append(fields)
        return {"Titles": titles, "Processes": processes}


def _label_matches(labels: dict[str, str], selector: str) -> bool:
    key, sep, value = selector.partition("=")
    if key not in labels:
        return False
    return not sep or labels[key] == value


def _until(values: list[str] | None) -> float | None:
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


