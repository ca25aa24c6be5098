"""What ``/version`` and ``/info`` say about this engine and the Linux it runs on.

``cove version`` shows the engine host's kernel and distribution: on macOS and
Windows that is the VM's Linux, which is the point of showing it.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

from cove.common.version import VERSION

API_VERSION = "1.41"
MIN_API_VERSION = "1.12"

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


def version() -> dict[str, Any]:
    kernel = platform.release()
    details = {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
               "GitCommit": "cove", "GoVersion": "python" + platform.python_version(),
               "Os": "linux", "Arch": arch(), "KernelVersion": kernel,
               "Experimental": "false", "BuildTime": "", "OperatingSystem": os_release()}
    return {
        "Platform": {"Name": "Cove Engine"},
        "Components": [
            {"Name": "Engine", "Version": VERSION, "Details": details},
            {"Name": "Host OS", "Version": os_release(),
             "Details": {"KernelVersion": kernel, "Arch": arch()}},
        ],
        "Version": VERSION, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "cove", "GoVersion": "python" + platform.python_version(),
        "Os": "linux", "Arch": arch(), "KernelVersion": kernel, "BuildTime": "",
    }


def info(engine: Any) -> dict[str, Any]:
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
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                           "Mirrors": []},
        "Name": platform.node(), "Labels": [], "ExperimentalBuild": False,
        "ServerVersion": VERSION, "Runtimes": {"cove": {"path": "cove-shim"}},
        "DefaultRuntime": "cove", "Swarm": {"LocalNodeState": "inactive", "NodeID": "",
                                            "NodeAddr": "", "ControlAvailable": False,
                                            "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": True, "Isolation": "default", "InitBinary": "",
        "SecurityOptions": ["name=cgroupns"],
        "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "PidsLimit": True, "IPv4Forwarding": False, "Debug": False, "NFd": 0,
        "NGoroutines": 0, "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
        "Plugins": {"Volume": [], "Network": ["null"], "Log": ["json-file"]},
        "Warnings": [],
    }
