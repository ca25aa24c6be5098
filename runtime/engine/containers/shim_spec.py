"""What the shim is told to build and run, made from the container's record at each start.

Built anew at every start, so a ``docker update`` or a resize in between is seen; the
process privileges are shared with ``docker exec``, as dockerd copies the container's
process spec for its execs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cove.runtime.containers.record import Container
from cove.runtime.containers.spec import (
    ConsoleSize,
    ContainerSpec,
    ProcessPrivileges,
    ProcessSpec,
    RootfsSpec,
)
from cove.runtime.engine import create_config, host_modes, mounts, seccomp
from cove.runtime.engine.containers import namespace_sharing
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.linux import caps, cgroups

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_CONSOLE = {"height": 24, "width": 80}


def resources(container: Container) -> cgroups.Resources:
    """The cgroup limits HostConfig asks for."""
    host = container.host_config
    return cgroups.Resources(
        memory=host.get("Memory") or None, memory_swap=host.get("MemorySwap") or None,
        nano_cpus=host.get("NanoCpus") or None, cpu_shares=host.get("CpuShares") or None,
        pids_limit=host.get("PidsLimit") or None,
        cpuset_cpus=host.get("CpusetCpus") or None, cpuset_mems=host.get("CpusetMems") or None,
        cpu_quota=host.get("CpuQuota") or None, cpu_period=host.get("CpuPeriod") or None,
        devices=host_modes.device_access(host)[1])


def process_privileges(container: Container, data_root: Path) -> ProcessPrivileges:
    """What the container's processes (init and execs alike, as in dockerd) get from
    HostConfig: capabilities, extra groups, ulimits, OOM score adjustment, the seccomp
    filter (compiled under ``data_root`` for its bounding set)."""
    host = container.host_config
    capabilities = create_config.capability_set(host, held=caps.held_capabilities())
    return ProcessPrivileges(
        capabilities=capabilities,
        groups_add=list(host.get("GroupAdd") or []), rlimits=create_config.rlimits(host),
        oom_score_adj=host.get("OomScoreAdj"),
        no_new_privs=create_config.no_new_privileges(host),
        seccomp_filter=seccomp.filter_path(data_root, host, capabilities))


def _environment(container: Container) -> list[str]:
    """The image's and the request's variables, after PATH, HOSTNAME and TERM (for a tty)
    where they are not set, as dockerd adds them."""
    cfg = container.config
    env = list(cfg.get("Env") or [])
    keys = {item.split("=", 1)[0] for item in env}
    extra = []
    if "PATH" not in keys:
        extra.append(DEFAULT_PATH)
    extra.append("HOSTNAME=" + cfg["Hostname"])
    if cfg.get("Tty") and "TERM" not in keys:
        extra.append("TERM=xterm")
    return extra + env


def shim_spec(ctx: ContainerContext, container: Container,
              manager: cgroups.CgroupManager,
              sharing: namespace_sharing.Sharing | None = None) -> ContainerSpec:
    lay, cid, cfg, host = ctx.layout, container.id, container.config, container.host_config
    sharing = sharing or namespace_sharing.Sharing()
    # --network container:X: X's name service files, as its stack is X's
    files_of = sharing.network_donor.id if sharing.network_donor is not None else cid
    rootfs = RootfsSpec(ctx.images.lower_dirs(container.data["Image"]),
                        str(lay.container_upper(cid)), str(lay.container_work(cid)),
                        readonly=bool(host.get("ReadonlyRootfs")))
    process = ProcessSpec(
        args=[container.data["Path"], *container.data["Args"]],
        env=_environment(container), cwd=cfg.get("WorkingDir") or "/",
        user=cfg.get("User") or "", tty=bool(cfg.get("Tty")),
        open_stdin=bool(cfg.get("OpenStdin")), stdin_once=bool(cfg.get("StdinOnce")),
        console=ConsoleSize.from_json(container.private.get("console") or DEFAULT_CONSOLE),
        init=bool(host.get("Init")),
        privileges=process_privileges(container, lay.data_root))
    return ContainerSpec(
        id=cid, rootfs=rootfs, process=process,
        hostname=cfg["Hostname"], domainname=cfg.get("Domainname") or "",
        privileged=bool(host.get("Privileged")),
        shm_size=host.get("ShmSize") or create_config.DEFAULT_SHM_SIZE,
        sysctls=dict(host.get("Sysctls") or {}),
        mounts=sharing.shm_mounts() + mounts.spec_mounts(host, [
            (str(lay.container_hosts(files_of)), "/etc/hosts"),
            (str(lay.container_hostname(files_of)), "/etc/hostname"),
            (str(lay.container_resolv(files_of)), "/etc/resolv.conf")],
            ctx.mount_points(container)),
        cgroup_join=manager.join_paths(),
        log=create_config.log_settings(host, str(lay.container_log(cid))),
        exit_file=str(lay.exit_file(cid)),
        oom_events_file=manager.oom_events_file(),
        namespaces=dict(sharing.namespaces), private_shm=sharing.private_shm,
        devices=host_modes.device_access(host)[0],
        masked_paths=_system_paths(host, "MaskedPaths"),
        readonly_paths=_system_paths(host, "ReadonlyPaths"),
    )


def _system_paths(host: dict[str, Any], key: str) -> list[str] | None:
    """HostConfig's list (what inspect shows); None, the shim's defaults, for a record made
    before the field was kept."""
    paths = host.get(key)
    return None if paths is None else list(paths)
