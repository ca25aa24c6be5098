"""What ``/version`` and ``/info`` say about this engine and the Linux it runs on.

``cove version`` shows the engine host's kernel and distribution: on macOS and
Windows that is the VM's Linux, which is the point of showing it.
"""

from __future__ import annotations

import os
import platform
import queue
import time
from typing import TYPE_CHECKING, Any

from cove.common.version import VERSION, build_time
from cove.runtime.engine import seccomp
from cove.runtime.engine.events import matches
from cove.runtime.engine.host_modes import RUNTIME, RUNTIMES

if TYPE_CHECKING:
    from cove.runtime.engine.engine import Engine

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


def arch() -> str:
    machine = platform.machine()
    return _ARCH.get(machine, machine)


def os_release() -> str:
    """PRETTY_NAME of the engine host's distribution."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("PRETTY_NAME="):
                        return line.split("=", 1)[1].strip().strip('"')
        except OSError:
            continue
    return "Linux"


def _build_time() -> str:
    """RFC 3339 with nanoseconds, as dockerd reports its BuildTime (clients reformat it)."""
    stamp = time.gmtime(build_time())
    return time.strftime("%Y-%m-%dT%H:%M:%S", stamp) + ".000000000+00:00"


def version(api_version: str, min_api_version: str) -> dict[str, Any]:
    """``/version``: the API's versions are the API layer's to say, the rest the engine's."""
    kernel = platform.release()
    details = {"ApiVersion": api_version, "MinAPIVersion": min_api_version,
               "GitCommit": "cove", "GoVersion": "python" + platform.python_version(),
               "Os": "linux", "Arch": arch(), "KernelVersion": kernel,
               "Experimental": "false", "BuildTime": _build_time(), "OperatingSystem": os_release()}
    return {
        "Platform": {"Name": "Cove Engine"},
        "Components": [
            {"Name": "Engine", "Version": VERSION, "Details": details},
            {"Name": "Host OS", "Version": os_release(),
             "Details": {"KernelVersion": kernel, "Arch": arch()}},
        ],
        "Version": VERSION, "ApiVersion": api_version, "MinAPIVersion": min_api_version,
        "GitCommit": "cove", "GoVersion": "python" + platform.python_version(),
        "Os": "linux", "Arch": arch(), "KernelVersion": kernel, "BuildTime": _build_time(),
    }


def info(engine: Engine) -> dict[str, Any]:
    containers = engine.containers.all()
    running = sum(1 for c in containers if c.running and not c.state["Paused"])
    paused = sum(1 for c in containers if c.state["Paused"])
    from cove.runtime.linux import cgroups

    unified = cgroups.is_unified()
    mem_total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "ID": engine.engine_id, "Containers": len(containers), "ContainersRunning": running,
        "ContainersPaused": paused, "ContainersStopped": len(containers) - running - paused,
        "Images": len(engine.images.image_ids()), "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "DockerRootDir": str(engine.layout.data_root), "SystemTime": time.strftime(
            "%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
        "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs",
        "CgroupVersion": "2" if unified else "1", "NEventsListener": 0,
        "KernelVersion": platform.release(), "OperatingSystem": os_release(), "OSType": "linux",
        "OSVersion": "", "Architecture": platform.machine(), "NCPU": os.cpu_count() or 1,
        "MemTotal": mem_total, "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": _registry_config(engine),
        "Name": platform.node(), "Labels": [], "ExperimentalBuild": False,
        "ServerVersion": VERSION, "Runtimes": {name: {"path": RUNTIME} for name in RUNTIMES},
        "DefaultRuntime": RUNTIME, "Swarm": {"LocalNodeState": "inactive", "NodeID": "",
                                            "NodeAddr": "", "ControlAvailable": False,
                                            "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": True, "Isolation": "default", "InitBinary": "",
        "SecurityOptions": ([seccomp.SECURITY_OPTION] if seccomp.supported() else [])
        + ["name=cgroupns"],
        "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "PidsLimit": True, "IPv4Forwarding": False, "Debug": False, "NFd": 0,
        "NGoroutines": 0, "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
        "Plugins": {"Volume": [], "Network": ["null"], "Log": ["json-file"]},
        "Warnings": [],
    }


def _registry_config(engine: Engine) -> dict[str, Any]:
    """``info``'s RegistryConfig as dockerd fills it: Docker Hub's index with its mirrors,
    the insecure registries by name and by CIDR (127.0.0.0/8 always)."""
    import ipaddress

    config = engine.images.registry_config
    cidrs, names = ["127.0.0.0/8"], []
    for entry in config.insecure:
        try:
            network = str(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.append(entry)
            continue
        if network not in cidrs:
            cidrs.append(network)
    mirrors = [m.rstrip("/") + "/" for m in config.mirrors]
    indexes = {"docker.io": {"Name": "docker.io", "Mirrors": mirrors, "Secure": True,
                             "Official": True}}
    for name in names:
        indexes[name] = {"Name": name, "Mirrors": [], "Secure": False, "Official": False}
    return {"AllowNondistributableArtifactsCIDRs": [],
            "AllowNondistributableArtifactsHostnames": [], "InsecureRegistryCIDRs": cidrs,
            "IndexConfigs": indexes, "Mirrors": mirrors}


class SystemService:
    """The engine-wide answers: versions, info, disk usage and the event stream."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def version(self, api_version: str, min_api_version: str) -> dict[str, Any]:
        return version(api_version, min_api_version)

    def info(self) -> dict[str, Any]:
        return info(self._engine)

    def disk_usage(self) -> dict[str, Any]:
        from cove.runtime.engine.disk_usage import disk_usage

        return disk_usage(self._engine)

    def subscribe(self, since_ns: int | None) -> tuple[list[dict[str, Any]],
                                                       queue.Queue[dict[str, Any]]]:
        return self._engine.events.subscribe(since_ns)

    def unsubscribe(self, q: queue.Queue[dict[str, Any]]) -> None:
        self._engine.events.unsubscribe(q)

    def event_matches(self, event: dict[str, Any], filters: dict[str, list[str]]) -> bool:
        return matches(event, filters)
