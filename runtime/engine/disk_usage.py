"""``GET /system/df``: what images, containers, volumes and the build cache take on disk.

The docker CLI turns this into ``docker system df``: it needs, per image, how many
containers use it and how much of it is shared with other images (layers count once),
per container the size of its writable layer, per volume its size and users, and the
build cache entries (here: the ``RUN --mount=type=cache`` directories).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from cove.runtime.store.layout import tree_size


def _rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _images(engine: Any, containers: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    from cove.runtime.images.views import summaries

    store = engine.images.store
    images = summaries(store, {}, all_images=False)
    chains = {image["Id"]: set(store.layer_chain(image["Id"])) for image in images}
    users = Counter(chain for layers in chains.values() for chain in layers)
    sizes = {chain: store.layer_size(chain) for chain in users}
    in_use = Counter(container["ImageID"] for container in containers)
    for image in images:
        image["Containers"] = in_use[image["Id"]]
        image["SharedSize"] = sum(sizes[c] for c in chains[image["Id"]] if users[c] > 1)
    return sum(sizes.values()), images


def _volumes(engine: Any) -> list[dict[str, Any]]:
    volumes = engine.volumes.list({})["Volumes"] or []
    for volume in volumes:
        volume["UsageData"] = {"Size": tree_size(volume["Mountpoint"]),
                               "RefCount": len(engine.volumes.store.users(volume["Name"]))}
    return volumes


def _build_cache(cache_root: str) -> list[dict[str, Any]]:
    from cove.runtime.build.run_mounts import cache_dirs, in_use

    entries: list[dict[str, Any]] = []
    for path in cache_dirs(cache_root):
        info = os.stat(path)
        entries.append({"ID": os.path.basename(path), "Parent": "", "Type": "exec.cachemount",
                        "Description": "cached mount of a RUN --mount=type=cache step",
                        "InUse": in_use(path), "Shared": False, "Size": tree_size(path),
                        "CreatedAt": _rfc3339(info.st_ctime),
                        "LastUsedAt": _rfc3339(info.st_mtime), "UsageCount": 0})
    return entries


def _containers(engine: Any) -> list[dict[str, Any]]:
    """Every container with its sizes; a zero size is left out, as dockerd's ``omitempty``
    leaves it (a container that never wrote has no ``SizeRw``)."""
    containers: list[dict[str, Any]] = engine.containers.list(True, None, True, {})
    for container in containers:
        for key in ("SizeRw", "SizeRootFs"):
            if not container.get(key):
                container.pop(key, None)
    return containers


def disk_usage(engine: Any) -> dict[str, Any]:
    """dockerd 20.10's answer, whatever ``?type=`` asks (that parameter is API 1.42's):
    every section, ``BuildCache`` null when empty, and the cache's total as ``BuilderSize``."""
    containers = _containers(engine)
    layers_size, images = _images(engine, containers)
    build_cache = _build_cache(str(engine.layout.build_cache_mounts))
    return {"LayersSize": layers_size, "Images": images, "Containers": containers,
            "Volumes": _volumes(engine), "BuildCache": build_cache or None,
            "BuilderSize": sum(entry["Size"] for entry in build_cache)}
