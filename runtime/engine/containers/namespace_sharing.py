"""Which namespaces a container shares when it starts, and the /dev/shm that goes with them.

``--pid``/``--ipc``/``--uts host`` keep the host's namespace; ``container:X`` joins X's
through ``/proc/<X's init>/ns/<kind>``, so X must be running (dockerd's errors when it is
not). The IPC mode also decides /dev/shm, as dockerd does: private (a tmpfs in the
container), none (no /dev/shm), host (the host's), shareable (a tmpfs mounted on the
engine's side, so joiners can bind the same one) or container:X (X's, which only a
shareable or host-IPC X has: dockerd's "non-shareable IPC" error otherwise).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from cove.runtime import errors
from cove.runtime.containers.record import Container
from cove.runtime.engine import host_modes
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.linux import namespaces
from cove.runtime.linux.syscalls import KernelError, kernel

HOST_SHM = "/dev/shm"
_MODE_KEYS = (("pid", "PidMode"), ("ipc", "IpcMode"), ("uts", "UTSMode"),
              ("net", "NetworkMode"))


@dataclass
class Sharing:
    """What the shim spec says about namespaces (``ContainerSpec.namespaces``) and shm."""

    namespaces: dict[str, str] = field(default_factory=dict)
    private_shm: bool = True
    shm_source: str = ""
    network_donor: Container | None = None  # --network container:X: X (its stack, its files)

    def shm_mounts(self) -> list[dict[str, Any]]:
        """The bind of a shared /dev/shm, before the user's mounts (which may cover it)."""
        if not self.shm_source:
            return []
        return [{"type": "bind", "source": self.shm_source, "destination": "/dev/shm",
                 "readonly": False, "recursive": False}]


def shareable_shm_path(ctx: ContainerContext, container: Container) -> str:
    return os.path.join(ctx.layout.container_dir(container.id), "shm")


def plan(ctx: ContainerContext, container: Container, shm_size: int) -> Sharing:
    """The sharing for this start; mounts a shareable container's /dev/shm tmpfs (undone by
    ``release``). Raises dockerd's errors for a donor that is gone or not running."""
    host = container.host_config
    sharing = Sharing()
    donors: dict[str, Container] = {}
    for kind, key in _MODE_KEYS:
        mode = host.get(key) or ""
        if mode == "host":
            sharing.namespaces[kind] = namespaces.HOST
        ref = host_modes.joined_container(mode)
        if ref is not None:
            donors[kind] = _running_donor(ctx, ref, kind, container.id)
            sharing.namespaces[kind] = f"/proc/{donors[kind].state.get('Pid')}/ns/{kind}"
    sharing.network_donor = donors.get("net")
    ipc = host.get("IpcMode") or host_modes.DEFAULT_IPC_MODE
    if ipc == "host":
        sharing.private_shm, sharing.shm_source = False, HOST_SHM
    elif ipc == "none":
        sharing.private_shm = False
    elif ipc == "shareable":
        path = shareable_shm_path(ctx, container)
        release(ctx, container)
        try:
            namespaces.mount_shareable_shm(kernel(), path, shm_size)
        except KernelError as exc:
            raise errors.SystemError_(f"failed to mount shm: {exc}") from exc
        sharing.private_shm, sharing.shm_source = False, path
    elif "ipc" in donors:
        sharing.private_shm = False
        sharing.shm_source = _donor_shm(ctx, donors["ipc"])
    return sharing


def release(ctx: ContainerContext, container: Container) -> None:
    """Unmount the shareable /dev/shm a run mounted, if any (joiners keep theirs)."""
    path = shareable_shm_path(ctx, container)
    try:
        namespaces.unmount_shareable_shm(kernel(), path)
    except KernelError as exc:
        raise errors.SystemError_(f"failed to unmount shm: {exc}") from exc


def _running_donor(ctx: ContainerContext, ref: str, kind: str,
                   container_id: str = "") -> Container:
    try:
        donor = ctx.get(ref)
    except errors.NotFound as exc:
        if kind == "net":
            raise
        if kind == "ipc":
            raise errors.SystemError_(f"can't join IPC of container {ref}: {exc.message}") \
                from exc
        raise errors.SystemError_(
            f"cannot join PID of a non running container: {ref}: {exc.message}") from exc
    with donor.lock:
        running = donor.running and not donor.state.get("Restarting")
    if kind == "net" and donor.id == container_id:
        raise errors.InvalidParameter("cannot join own network")
    if not running and kind == "net":
        raise errors.Conflict(f"cannot join network of a non running container: {donor.id}")
    if not running:
        message = f"container {donor.id} is not running"
        if kind == "ipc":
            message = f"can't join IPC of container {donor.id}: {message}"
        raise errors.SystemError_(message)
    return donor


def _donor_shm(ctx: ContainerContext, donor: Container, depth: int = 0) -> str:
    """The /dev/shm source a joiner of ``donor``'s IPC binds: the host's, the donor's
    shareable tmpfs, or what the donor itself joined."""
    mode = donor.host_config.get("IpcMode") or host_modes.DEFAULT_IPC_MODE
    if mode == "host":
        return HOST_SHM
    path = shareable_shm_path(ctx, donor)
    if mode == "shareable" and os.path.ismount(path):
        return path
    ref = host_modes.joined_container(mode)
    if ref is not None and depth < 8:
        try:
            return _donor_shm(ctx, ctx.get(ref), depth + 1)
        except errors.NotFound:
            pass
    raise errors.SystemError_(
        f"can't join IPC of container {donor.id}: non-shareable IPC (hint: use "
        "IpcMode:shareable for the donor container)")
