"""cgroup managers, v1 and v2 behind one interface, chosen by detection.

``manager_for(id)`` returns a ``CgroupManager`` for the host's layout: a pure v2 host
(``cgroup.controllers`` at the root) gets ``CgroupV2Manager``; legacy and hybrid hosts
get ``CgroupV1Manager``, which ignores the controller-less ``unified`` mount.
"""

from __future__ import annotations

import os

from cove.runtime.linux.cgroups.common import CgroupManager, Resources
from cove.runtime.linux.cgroups.v1 import CgroupV1Manager
from cove.runtime.linux.cgroups.v2 import CgroupV2Manager

CGROUP_ROOT = "/sys/fs/cgroup"

__all__ = [
    "CGROUP_ROOT",
    "CgroupManager",
    "CgroupV1Manager",
    "CgroupV2Manager",
    "Resources",
    "is_unified",
    "manager_for",
]


def is_unified(root: str = CGROUP_ROOT) -> bool:
    """True on a pure cgroup v2 host."""
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


def manager_for(container_id: str, parent: str = "cove", root: str = CGROUP_ROOT) -> CgroupManager:
    if is_unified(root):
        return CgroupV2Manager(container_id, parent, root)
    return CgroupV1Manager(container_id, parent, root)
