"""Start: cgroup, bundle and shim, attach streams connected, then the process released.

Starting is two-phase (see ``shim_client``): attach clients that were waiting are
connected to the shim before ``go``, so they see the first byte of output. Each
running container then has a monitor thread blocked on its shim's ``wait``; after the
exit it applies the restart policy or ``--rm``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from typing import Any

from cove.runtime import errors
from cove.runtime.containers import shim_client
from cove.runtime.containers.record import Container
from cove.runtime.engine import create_config
from cove.runtime.engine.containers import exits, namespace_sharing, remove, restart_policy
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.engine.containers.shim_spec import resources, shim_spec


def start_container(ctx: ContainerContext, container: Container) -> None:
    """The caller holds ``container.op_lock``."""
    with container.lock:
        if container.removed:
            raise errors.no_such_container(container.id)
        if container.running:
            raise errors.NotModified("container already started")
        container.private["manually_stopped"] = False
    manager = ctx.cgroup(container)
    shutil.rmtree(ctx.layout.bundle_dir(container.id), ignore_errors=True)
    try:
        ctx.network.check_exists(container)
        manager.create(resources(container))
        sharing = namespace_sharing.plan(
            ctx, container,
            container.host_config.get("ShmSize") or create_config.DEFAULT_SHM_SIZE)
        if sharing.network_donor is not None:  # dockerd: the joiner takes X's name
            donor = sharing.network_donor.config
            with container.lock:
                container.config.update(Hostname=donor.get("Hostname") or "",
                                        Domainname=donor.get("Domainname") or "")
        shim = shim_client.start(ctx.layout, container.id,
                                 shim_spec(ctx, container, manager, sharing))
    except errors.EngineError as exc:
        _start_failed(ctx, container, exc)
        raise
    except Exception as exc:  # a bug or the OS: still leave no cgroup or bundle behind
        failure = errors.SystemError_(f"failed to start container: {exc}")
        _start_failed(ctx, container, failure)
        raise failure from exc
    try:  # the init waits for "go": its network is ready before the user's process runs
        ctx.network.attach(container, shim.pid)
    except errors.EngineError as exc:
        shim.abort()
        _start_failed(ctx, container, exc)
        raise
    except Exception as exc:  # a bug or the OS: leave no endpoint, cgroup or bundle behind
        shim.abort()
        failure = errors.SystemError_(f"failed to start container: {exc}")
        _start_failed(ctx, container, failure)
        raise failure from exc
    attaches = _take_pending_attaches(container)
    for attach in attaches:
        attach.connect_to_shim()
    try:
        shim.go()
    except errors.EngineError as exc:
        shim.abort()
        for attach in attaches:
            attach.close()
        _start_failed(ctx, container, exc)
        raise
    with container.lock:
        container.set_running(shim.pid)
        container.save_eventually()
    ctx.volumes.publish_mounts(container.id, ctx.mount_points(container) or [], "mount")
    ctx.publish(container, "start")
    watch(ctx, container, shim.popen)


def watch(ctx: ContainerContext, container: Container,
          popen: subprocess.Popen[bytes] | None) -> None:
    """Start the monitor thread of a running container (``popen``: its shim, when this
    daemon started it)."""
    threading.Thread(target=_monitor, args=(ctx, container, popen),
                     name=f"monitor-{container.id[:12]}", daemon=True).start()


def _monitor(ctx: ContainerContext, container: Container,
             popen: subprocess.Popen[bytes] | None) -> None:
    after_exit(ctx, container, exits.wait_for_exit(ctx, container, popen))


def after_exit(ctx: ContainerContext, container: Container, result: dict[str, Any]) -> None:
    """Record the exit, then restart the container when its policy says so, or remove it
    when it was run with ``--rm``."""
    with container.lock:
        started_at = container.state.get("StartedAt") or ""
    if exits.record_exit(ctx, container, result):
        threading.Thread(target=_restart_later, args=(ctx, container, started_at),
                         daemon=True).start()
    elif container.host_config.get("AutoRemove"):
        remove.delete(ctx, container, volumes=True)


def _restart_later(ctx: ContainerContext, container: Container, started_at: str) -> None:
    if not restart_policy.wait_for_restart(container, started_at):
        return
    try:
        with container.op_lock:
            start_container(ctx, container)
    except errors.EngineError:
        pass


def _start_failed(ctx: ContainerContext, container: Container, exc: errors.EngineError) -> None:
    exits.discard_runtime_state(ctx, container)
    code = getattr(exc, "exit_code", 128)
    with container.lock:
        container.set_start_failed(code, exc.message)
        container.save_eventually()
    ctx.publish(container, "die", {"exitCode": str(code)})
    if container.host_config.get("AutoRemove"):
        remove.delete(ctx, container, volumes=True)


def _take_pending_attaches(container: Container) -> list[Any]:
    with container.lock:
        pending, container.pending_attaches = container.pending_attaches, []
    return pending
