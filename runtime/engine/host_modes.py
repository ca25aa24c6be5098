"""HostConfig fields that say where a container runs: its PID, IPC and UTS namespaces
(new, the host's, or another container's), network mode (the default bridge, none, the
host's or another container's), runtime, cgroup parent, cpuset,
devices, volume driver and platform.

Each is checked at create with dockerd's words. What this engine cannot do yet
(emulated platforms, IPv6 endpoints) is refused with a 400 that says so: a flag is
never stored and then ignored.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from typing import Any

from cove.runtime import errors
from cove.runtime.linux import cgroups
from cove.runtime.linux.cgroups import cpuset, devices
from cove.runtime.linux.cgroups.devices import DeviceRule
from cove.runtime.registry import manifests

RUNTIME = "runc"
"""The default runtime's name, as dockerd's; Cove's own shim answers to it."""
RUNTIMES = ("io.containerd.runc.v2", "io.containerd.runtime.v1.linux", RUNTIME)
"""dockerd 20.10's built-in runtime names (``info`` lists them, ``--runtime`` takes them):
each means Cove's own shim here, as each means runc there."""
_DEPRECATED_RUNTIME = "io.containerd.runtime.v1.linux"
DEFAULT_IPC_MODE = "private"  # dockerd 20.10's default-ipc-mode
IPC_MODES = ("", "none", "private", "shareable", "host")
LOOPBACK_NETWORKS = ("", "default", "bridge", "none")
"""The modes that give a container a network namespace of its own: loopback only for
"none" (and for the others on a daemon run with ``--bridge none``), else the default
bridge too. "host" keeps the host's, "container:X" joins X's."""
DEFAULT_CGROUP_PARENT = "cove"


def joined_container(mode: str) -> str | None:
    """X of a ``container:X`` mode, else None."""
    kind, sep, ref = (mode or "").partition(":")
    return ref if kind == "container" and sep and ref else None


def runtime_warnings(host: dict[str, Any]) -> list[str]:
    """What create warns of the runtime chosen: dockerd's deprecation of the v1 shim name."""
    if host.get("Runtime") == _DEPRECATED_RUNTIME:
        return [f'Configured runtime "{_DEPRECATED_RUNTIME}" is deprecated and will be '
                "removed in the next release."]
    return []


def validate(config: dict[str, Any], host: dict[str, Any]) -> None:
    """Everything here that needs no other container; ``container:X`` modes are resolved
    by create (X must exist) and start (X must run)."""
    runtime = host.get("Runtime") or ""
    if runtime and runtime not in RUNTIMES:
        raise errors.InvalidParameter(f"Unknown runtime specified {runtime}")
    pid = host.get("PidMode") or ""
    if pid not in ("", "host") and not joined_container(pid):
        raise errors.InvalidParameter(f"invalid PID mode: {pid}")
    ipc = host.get("IpcMode") or ""
    if ipc not in IPC_MODES and not joined_container(ipc):
        raise errors.InvalidParameter(f"Invalid IPC mode: {ipc}")
    uts = host.get("UTSMode") or ""
    if uts not in ("", "host"):
        raise errors.InvalidParameter(f"invalid UTS mode: {uts}")
    if uts == "host" and config.get("Hostname"):
        raise errors.InvalidParameter("conflicting options: hostname and the UTS mode")
    network = host.get("NetworkMode") or ""
    if joined_container(network):
        _check_joined_network(config, host)
    cgroup_parent(host)
    cpuset_values(host)
    cfs_values(host)
    refuse_unsupported(host)
    for device in host.get("Devices") or []:
        if not isinstance(device, dict) or not isinstance(device.get("PathOnHost"), str):
            raise errors.InvalidParameter(
                "json: cannot unmarshal value into Go struct field HostConfig.Devices of "
                "type container.DeviceMapping")
        permissions = device.get("CgroupPermissions") or "rwm"
        if not set(permissions) <= set("rwm"):
            raise errors.InvalidParameter(f"invalid device mode: {permissions}")
    device_cgroup_rules(host)
    driver = host.get("VolumeDriver") or ""
    if driver not in ("", "local"):
        named = [bind.split(":", 1)[0] for bind in host.get("Binds") or []
                 if not bind.startswith("/") and ":" in bind]
        where = f"create {named[0]}: " if named else ""
        raise errors.InvalidParameter(
            f'{where}error looking up volume plugin {driver}: plugin "{driver}" not found')


_JOINED_NETWORK_CONFLICTS = (
    ("Hostname", "hostname and the network mode"),
    ("Dns", "dns and the network mode"), ("DnsSearch", "dns and the network mode"),
    ("DnsOptions", "dns and the network mode"),
    ("ExtraHosts", "custom host-to-IP mapping and the network mode"),
    ("PortBindings", "port publishing and the container type network mode"),
    ("PublishAllPorts", "port publishing and the container type network mode"),
    ("ExposedPorts", "port exposing and the container type network mode"),
    ("MacAddress", "mac-address and the network mode"),
)


def _check_joined_network(config: dict[str, Any], host: dict[str, Any]) -> None:
    """``--network container:X`` takes X's whole stack: its name, /etc files and ports too,
    so setting any of them is refused (dockerd's words)."""
    for key, conflict in _JOINED_NETWORK_CONFLICTS:
        if config.get(key) or host.get(key):
            raise errors.InvalidParameter(f"conflicting options: {conflict}")


def device_access(host: dict[str, Any]) -> tuple[list[dict[str, Any]], tuple[DeviceRule, ...]]:
    """The ``--device`` nodes to make in the container and the whole allow list of its
    cgroup (runc's defaults, those nodes, the ``--device-cgroup-rule`` ones; everything for
    --privileged). Read from the host at each start, as dockerd does, with its error when
    a path is no device."""
    nodes: list[dict[str, Any]] = []
    for device in host.get("Devices") or []:
        source = device["PathOnHost"]
        target = device.get("PathInContainer") or source
        found = _host_devices(source)
        for relative, info in found:
            nodes.append({"path": posixpath.join(target, relative) if relative else target,
                          "kind": "b" if stat.S_ISBLK(info.st_mode) else "c",
                          "major": os.major(info.st_rdev), "minor": os.minor(info.st_rdev),
                          "mode": stat.S_IMODE(info.st_mode), "uid": info.st_uid,
                          "gid": info.st_gid,
                          "access": device.get("CgroupPermissions") or "rwm"})
    if host.get("Privileged"):
        return nodes, devices.ALLOW_ALL
    extra = tuple(devices.DeviceRule(node["kind"], node["major"], node["minor"], node["access"])
                  for node in nodes)
    return nodes, devices.DEFAULT_RULES + extra + device_cgroup_rules(host)


_CGROUP_RULE = re.compile(r"([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})")


def device_cgroup_rules(host: dict[str, Any]) -> tuple[DeviceRule, ...]:
    """``--device-cgroup-rule`` ("c 10:229 rwm") as allow rules. dockerd finds a malformed
    one only at start (a 500); Cove refuses it at create, with the same words."""
    rules = []
    for text in host.get("DeviceCgroupRules") or []:
        match = _CGROUP_RULE.fullmatch(str(text))
        if match is None:
            raise errors.InvalidParameter(f"invalid device cgroup rule format: '{text}'")
        kind, major, minor, access = match.groups()
        rules.append(DeviceRule(kind, devices.WILDCARD if major == "*" else int(major),
                                devices.WILDCARD if minor == "*" else int(minor), access))
    return tuple(rules)


def _host_devices(source: str) -> list[tuple[str, os.stat_result]]:
    """(path relative to ``source``, its stat) for a device node, or for each node under a
    directory (dockerd maps a directory's devices one by one)."""
    def failed(reason: str) -> errors.SystemError_:
        return errors.SystemError_(f'error gathering device information while adding custom '
                                   f'device "{source}": {reason}')

    try:
        info = os.stat(source)
    except OSError as exc:
        raise failed((exc.strerror or str(exc)).lower()) from exc
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return [("", info)]
    if not stat.S_ISDIR(info.st_mode):
        raise failed("not a device node")
    found: list[tuple[str, os.stat_result]] = []
    for directory, _dirs, files in os.walk(source):
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                entry = os.stat(path)
            except OSError:
                continue
            if stat.S_ISCHR(entry.st_mode) or stat.S_ISBLK(entry.st_mode):
                found.append((os.path.relpath(path, source), entry))
    return found


def validate_networking(config: dict[str, Any], networking: Any) -> None:
    """Per-network settings at create: one network at most (dockerd's words); the
    address, aliases and MAC are checked against the network at start, as dockerd does.
    What Cove does not implement (``--link``, IPv6, link-local addresses, driver options)
    is refused, not ignored."""
    endpoints = (networking or {}).get("EndpointsConfig") if isinstance(networking, dict) \
        else None
    if endpoints and len(endpoints) > 1:
        raise errors.InvalidParameter(
            "Container cannot be connected to network endpoints: " + ", ".join(endpoints))
    for network, endpoint in (endpoints or {}).items():
        if not isinstance(endpoint, dict):
            continue
        ipam = endpoint.get("IPAMConfig") or {}
        asked = [key for key in ("Links", "DriverOpts", "IPv6Gateway", "GlobalIPv6Address")
                 if endpoint.get(key)]
        asked += [f"IPAMConfig.{key}" for key, value in ipam.items()
                  if value and key != "IPv4Address"]
        if asked:
            raise errors.InvalidParameter(
                f"endpoint settings for network {network} ({', '.join(asked)}) are not "
                "supported by Cove yet")


def check_platform(platform: str | None, image: str, image_platform: str,
                   host_platform: str) -> None:
    """``--platform``: the host's own (os and architecture; any variant) is accepted; another
    one would need emulation, which this engine does not have. dockerd's words when the
    image is the host's. Platforms are "os/arch" strings."""
    if not platform:
        return
    want = manifests.parse_platform(platform)
    wanted = f"{want.os}/{want.architecture}"
    if wanted == host_platform:
        return
    if image_platform == host_platform:
        raise errors.InvalidParameter(
            f"image with reference {image} was found but does not match the specified "
            f"platform: wanted {want}, actual: {image_platform}")
    raise errors.InvalidParameter(
        f"platform {want} is not supported by Cove: no emulation, containers run as "
        f"{host_platform}")


def cfs_values(host: dict[str, Any]) -> None:
    """``--cpu-period``/``--cpu-quota`` within the kernel's range, in dockerd's words."""
    period, quota = host.get("CpuPeriod") or 0, host.get("CpuQuota") or 0
    if period and not 1000 <= period <= 1_000_000:
        raise errors.InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or "
                                      "larger than 1s (i.e. 1000000)")
    if 0 < quota < 1000:
        raise errors.InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")


_UNSUPPORTED: tuple[tuple[str, str], ...] = (
    ("BlkioWeight", "--blkio-weight"), ("BlkioWeightDevice", "--blkio-weight-device"),
    ("BlkioDeviceReadBps", "--device-read-bps"), ("BlkioDeviceWriteBps", "--device-write-bps"),
    ("BlkioDeviceReadIOps", "--device-read-iops"),
    ("BlkioDeviceWriteIOps", "--device-write-iops"),
    ("MemoryReservation", "--memory-reservation"), ("KernelMemory", "--kernel-memory"),
    ("KernelMemoryTCP", "KernelMemoryTCP"), ("OomKillDisable", "--oom-kill-disable"),
    ("CpuRealtimePeriod", "--cpu-rt-period"), ("CpuRealtimeRuntime", "--cpu-rt-runtime"),
    ("CpuCount", "--cpu-count"), ("CpuPercent", "--cpu-percent"),
    ("IOMaximumIOps", "--io-maxiops"), ("IOMaximumBandwidth", "--io-maxbandwidth"),
    ("DeviceRequests", "--gpus"), ("StorageOpt", "--storage-opt"),
    ("Links", "--link"),
    ("Cgroup", "HostConfig.Cgroup (sharing another container's cgroup)"),
)


def refuse_unsupported(host: dict[str, Any]) -> None:
    """Fields this engine does not act on are refused when set, never stored and ignored:
    a user who asked for a limit and silently didn't get it is worse off than one told so."""
    for key, flag in _UNSUPPORTED:
        if host.get(key):
            raise errors.InvalidParameter(f"{flag} is not supported by Cove yet")
    swappiness = host.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1:
        raise errors.InvalidParameter("--memory-swappiness is not supported by Cove yet")
    cgroupns = host.get("CgroupnsMode") or "private"
    if cgroupns != "private":
        raise errors.InvalidParameter(
            f"--cgroupns {cgroupns} is not supported by Cove yet: containers get their own "
            "cgroup namespace")
    userns = host.get("UsernsMode") or "host"
    if userns != "host":  # "host" is what every container gets: no user namespace
        raise errors.InvalidParameter(f"--userns {userns} is not supported by Cove yet")
    isolation = host.get("Isolation") or "default"
    if isolation != "default":
        raise errors.InvalidParameter(
            f'Invalid isolation: "{isolation}" - linux only supports \'default\'')


def cgroup_parent(host: dict[str, Any]) -> str:
    """The cgroup path a container's cgroup sits under (``--cgroup-parent``, relative to
    each hierarchy's root as dockerd's cgroupfs driver takes it; "cove" by default)."""
    parent = host.get("CgroupParent") or ""
    if not parent:
        return DEFAULT_CGROUP_PARENT
    if not isinstance(parent, str) or "\x00" in parent:
        raise errors.InvalidParameter(f"invalid cgroup parent: {parent!r}")
    return posixpath.normpath("/" + parent).strip("/")


def cpuset_values(host: dict[str, Any]) -> tuple[str | None, str | None]:
    """``CpusetCpus``/``CpusetMems`` checked against what the host offers, with dockerd's
    messages; None where unset."""
    cpus, mems = host.get("CpusetCpus") or None, host.get("CpusetMems") or None
    if not (cpus or mems):
        return None, None
    have_cpus, have_mems = cpuset.available(cgroups.CGROUP_ROOT)
    for value, have, what, word in ((cpus, have_cpus, "cpus", "CPUs"),
                                    (mems, have_mems, "mems", "memory nodes")):
        if not value:
            continue
        try:
            wanted = cpuset.parse_list(value)
        except ValueError as exc:
            raise errors.InvalidParameter(
                f"Invalid value {value} for cpuset {what}: {exc}") from None
        if not wanted <= cpuset.parse_list(have):
            raise errors.InvalidParameter(
                f"Requested {word} are not available - requested {value}, available: {have}")
    return cpus, mems
