"""``POST /containers/{id}/update``: change a container's limits and restart policy live.

The new values are written to the record (so the next start uses them) and, when the
container runs, to its cgroup at once. dockerd's rules: a memory limit above an already
set memory+swap needs the swap changed too; ``--restart`` cannot be given to an
``--rm`` container; a removed container cannot be updated.
"""

from __future__ import annotations

import copy
from typing import Any

from cove.runtime import errors
from cove.runtime.engine import host_modes
from cove.runtime.engine.create_config import validate_restart_policy
from cove.runtime.linux import cgroups

# what coved can change (HostConfig names); the rest of dockerd's are refused, not ignored
UPDATABLE = ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "PidsLimit", "RestartPolicy",
             "CpusetCpus", "CpusetMems", "CpuQuota", "CpuPeriod")
_LIMITS = ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "PidsLimit", "CpusetCpus",
           "CpusetMems", "CpuQuota", "CpuPeriod")
IGNORED_WHEN_EMPTY = ("BlkioWeight", "CpuRealtimePeriod",
                      "CpuRealtimeRuntime", "KernelMemory",
                      "MemoryReservation", "MemorySwappiness", "KernelMemoryTCP")


def _check(body: dict[str, Any], host: dict[str, Any]) -> None:
    for key, value in body.items():
        if key in UPDATABLE or not value:
            continue
        raise errors.NotImplementedByEngine(f"updating {key} is not supported by this engine")
    memory, swap = body.get("Memory"), body.get("MemorySwap")
    old_swap = host.get("MemorySwap") or 0
    if memory and not swap and old_swap > 0 and memory > old_swap:
        raise errors.InvalidParameter(
            "Memory limit should be smaller than already set memoryswap limit, update the "
            "memoryswap at the same time")
    if memory and 0 < memory < 6 * 1024 * 1024:
        raise errors.InvalidParameter("Minimum memory limit allowed is 6MB")
    host_modes.cpuset_values(body)
    host_modes.cfs_values(body)
    policy = body.get("RestartPolicy") or {}
    if policy.get("Name") not in (None, "", "no") and host.get("AutoRemove"):
        raise errors.InvalidParameter(
            "Restart policy cannot be updated because AutoRemove is enabled for the container")


def update(containers: Any, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    container = containers.get(ref)
    with container.op_lock:
        with container.lock:
            if container.removed:
                raise errors.no_such_container(ref)
            host = container.host_config
            _check(body, host)
            changed = {k: body[k] for k in _LIMITS if body.get(k)}
            policy = body.get("RestartPolicy")
            if policy and policy.get("Name") is not None:
                validate_restart_policy(policy)
            running = container.running
            before = {k: copy.deepcopy(host.get(k)) for k in (*changed, "RestartPolicy")}

        def apply(data: dict[str, Any]) -> None:
            record = data["HostConfig"]
            record.update(changed)
            if policy and policy.get("Name") is not None:
                record["RestartPolicy"] = {"Name": policy.get("Name") or "",
                                           "MaximumRetryCount": policy.get(
                                               "MaximumRetryCount") or 0}

        # the record first (a full disk leaves everything as it was), then the cgroup;
        # a cgroup that refuses puts the record back
        try:
            container.change(apply)
        except OSError as exc:
            raise errors.disk_failure(exc, f"Cannot update container {container.id}") from exc
        if running and changed:
            resources = cgroups.Resources(
                memory=changed.get("Memory"), memory_swap=changed.get("MemorySwap"),
                nano_cpus=changed.get("NanoCpus"), cpu_shares=changed.get("CpuShares"),
                pids_limit=changed.get("PidsLimit"), cpuset_cpus=changed.get("CpusetCpus"),
                cpuset_mems=changed.get("CpusetMems"), cpu_quota=changed.get("CpuQuota"),
                cpu_period=changed.get("CpuPeriod"))
            try:
                containers.cgroup(container).update(resources)
            except (OSError, errors.SystemError_) as exc:
                _restore(container, before)
                raise errors.InvalidParameter(
                    f"Cannot update container {container.id}: {exc}") from exc
    return {"Warnings": None}


def _restore(container: Any, before: dict[str, Any]) -> None:
    """Put the record's host config back as it was before a refused update."""
    try:
        container.change(lambda data: data["HostConfig"].update(before))
    except OSError:
        with container.lock:  # memory stays the truth; the record follows when it can
            container.host_config.update(before)
        container.save_eventually()


class ContainerUpdater:
    """``POST /containers/{id}/update`` as the API's ``ContainerUpdateBackend``."""

    def __init__(self, containers: Any) -> None:
        self._containers = containers

    def update(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        return update(self._containers, ref, body)
