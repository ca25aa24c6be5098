"""Create: check the request, merge it with the image, plan the mounts, write the record.

The name is reserved first and everything made on the way (volumes, the container
directory) is undone if any step fails, so a refused create leaves nothing behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.record import ZERO_TIME, Container, now_rfc3339
from cove.runtime.engine import create_config, host_modes, mounts, system
from cove.runtime.engine import volumes as volume_service
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.engine.mounts import MountPoint
from cove.runtime.store.layout import atomic_write


def create(ctx: ContainerContext, body: Any, name: str | None,
           platform: str | None = None) -> dict[str, Any]:
    config, host = create_config.validate(body)
    image_id = ctx.images.resolve(config["Image"])
    _check_platform(ctx, platform, config["Image"], image_id)
    _resolve_joined_containers(ctx, host)
    merged = create_config.merge_image_config(config, ctx.images.config(image_id))
    host = create_config.normalize_host_config(host)
    warnings = ctx.network.check_create(merged, host)
    cid = secrets.token_hex(32)
    canonical = ctx.reserve_name(name, cid)
    points: list[MountPoint] = []
    try:
        planned = volume_service.plan_mounts(merged, host, lambda ref: _volumes_from(ctx, ref))
        points = ctx.volumes.attach(cid, planned, ctx.images.lower_dirs(image_id))
        container = _write_record(ctx, cid, canonical, merged, host, image_id, points,
                                  body.get("NetworkingConfig"))
    except BaseException as exc:
        ctx.release_name(canonical)
        ctx.volumes.detach(cid, points, remove_anonymous=True)
        shutil.rmtree(ctx.layout.container_dir(cid), ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in errors.DISK_ERRNOS:
            raise errors.disk_failure(exc, "Error creating container") from exc
        raise
    ctx.add(container)
    ctx.publish(container, "create")
    return {"Id": cid, "Warnings": host_modes.runtime_warnings(host) + warnings}


def _check_platform(ctx: ContainerContext, platform: str | None, ref: str,
                    image_id: str) -> None:
    if not platform:
        return
    image = ctx.images.inspect(image_id)
    host_modes.check_platform(platform, ref, f"{image.get('Os') or 'linux'}/"
                              f"{image.get('Architecture') or system.arch()}",
                              f"linux/{system.arch()}")


def _resolve_joined_containers(ctx: ContainerContext, host: dict[str, Any]) -> None:
    """``--pid``/``--ipc container:X``: X must exist now (dockerd's 400), and is kept by
    its full id, as dockerd records it; whether it runs is checked at each start.
    ``--network container:X`` is kept by full id when X exists, as given otherwise."""
    for key in ("PidMode", "IpcMode", "NetworkMode"):
        ref = host_modes.joined_container(host.get(key) or "")
        if ref is None:
            continue
        try:
            host[key] = "container:" + ctx.get(ref).id
        except errors.NotFound as exc:
            if key == "NetworkMode":  # dockerd: kept as given, a 404 at start
                continue
            raise errors.InvalidParameter(exc.message) from exc


def _volumes_from(ctx: ContainerContext, ref: str) -> list[MountPoint]:
    """A ``--volumes-from`` container's mounts; dockerd answers a missing one with 400."""
    try:
        container = ctx.get(ref)
    except errors.NotFound as exc:
        raise errors.InvalidParameter(exc.message) from exc
    points = ctx.mount_points(container)
    if points is None:
        points = mounts.mount_points(container.host_config, check_source=False)
    return points


def _write_record(ctx: ContainerContext, cid: str, name: str, config: dict[str, Any],
                  host: dict[str, Any], image_id: str, points: list[MountPoint],
                  networking: Any = None) -> Container:
    """The container's directory, its /etc files and its record, in inspect's shape."""
    lay = ctx.layout
    lay.container_dir(cid).mkdir(mode=0o710)
    lay.container_upper(cid).mkdir()
    lay.container_work(cid).mkdir()
    host_network = host.get("NetworkMode") == "host"
    # --network host: the host's name and its /etc files, as dockerd gives them
    config["Hostname"] = config.get("Hostname") or (
        os.uname().nodename if host_network else cid[:12])
    atomic_write(lay.container_hostname(cid), (config["Hostname"] + "\n").encode())
    gateway = ctx.network.host_gateway()
    atomic_write(lay.container_hosts(cid), (
        create_config.hosts_file(host, gateway=gateway) if not host_network
        else create_config.host_hosts_file(host, gateway=gateway)).encode())
    atomic_write(lay.container_resolv(cid), create_config.resolv_conf(
        host, keep_loopback=host_network).encode())
    argv = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
    lower = ctx.images.lower_dirs(image_id)
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
        "NetworkSettings": ctx.network.created_settings(host, networking),
        "_cove": {"mount_points": [point.to_record() for point in points]},
    }
    container = Container(lay, data)
    container.save()
    return container
