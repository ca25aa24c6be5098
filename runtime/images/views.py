"""What the API shows of images: ImageInspect, ImageSummary, history, list filters.

Shapes follow the Engine API v1.41 swagger (``ImageInspect``, ``ImageSummary``,
``HistoryResponseItem``) and dockerd's quirks (``<none>:<none>`` for untagged
images in a list, ``<missing>`` history IDs), because clients parse them.
"""

from __future__ import annotations

import calendar
import re
import time
from typing import TYPE_CHECKING, Any

from ..errors import InvalidParameter
from .reference import Reference, familiar_match

if TYPE_CHECKING:
    from .store import ImageStore

LIST_FILTERS = {"dangling", "label", "before", "since", "reference", "until"}
_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?$")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                   "h": 3600.0}

EMPTY_CONTAINER_CONFIG: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
    "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
    "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
    "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
}

# the keys of moby's container.Config, in its order; these marshal even when empty, the
# others (``omitempty``) only when set
_CONFIG_KEYS = ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout",
                "AttachStderr", "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd",
                "Healthcheck", "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint",
                "NetworkDisabled", "MacAddress", "OnBuild", "Labels", "StopSignal",
                "StopTimeout", "Shell")


def container_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """An image's (container) config as dockerd shows it: decoded into its Config type
    and encoded again, so every key it always writes is there and unknown ones are not."""
    if config is None:
        return None
    shown: dict[str, Any] = {}
    for key in _CONFIG_KEYS:
        if key in EMPTY_CONTAINER_CONFIG:
            value = config.get(key)
            shown[key] = EMPTY_CONTAINER_CONFIG[key] if value is None else value
        elif config.get(key):
            shown[key] = config[key]
    return shown


def now_rfc3339() -> str:
    now = time.time_ns()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 1_000_000_000))
    return f"{stamp}.{now % 1_000_000_000:09d}Z"


def parse_time(text: Any) -> float:
    """Seconds since the epoch of an RFC 3339 (nano) timestamp; 0 when absent/bad."""
    if not isinstance(text, str):
        return 0.0
    match = _TIME_RE.match(text.strip())
    if match is None:
        return 0.0
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
            return 0.0
        stamp = float(calendar.timegm((int(year), int(month), int(day), int(hour), int(minute),
                                       int(second), 0, 0, 0)))
    except (ValueError, OverflowError):
        return 0.0
    if fraction:
        stamp += float("0." + fraction)
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        stamp -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return stamp


def parse_until(value: str) -> float:
    """A filter timestamp: unix seconds, RFC 3339, or a Go duration ago (``10m``)."""
    try:
        return float(value)
    except ValueError:
        pass
    if _TIME_RE.match(value):
        return parse_time(value)
    parts = _DURATION_RE.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        return time.time() - sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    raise InvalidParameter(f"Invalid filter 'until={value}'")


def bool_filter(filters: dict[str, list[str]], key: str, default: bool) -> bool:
    values = filters.get(key)
    if not values:
        return default
    value = values[-1].lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise InvalidParameter(f"Invalid filter '{key}={values[-1]}'")


def label_filters_match(filters: dict[str, list[str]], labels: dict[str, str]) -> bool:
    """``label=k``/``label=k=v`` must all hold; ``label!=...`` must all fail."""
    def holds(spec: str) -> bool:
        key, sep, value = spec.partition("=")
        return key in labels and (not sep or labels[key] == value)
    return (all(holds(s) for s in filters.get("label", []))
            and not any(holds(s) for s in filters.get("label!", [])))


def _config(store: ImageStore, image_id: str) -> dict[str, Any]:
    return store.config(image_id)


def graph_driver(store: ImageStore, image_id: str) -> dict[str, Any]:
    dirs = store.lower_dirs(image_id)
    if not dirs:
        return {"Name": "overlay2", "Data": {}}
    top = dirs[0].rsplit("/", 1)[0]
    data = {"MergedDir": f"{top}/merged", "UpperDir": dirs[0], "WorkDir": f"{top}/work"}
    if len(dirs) > 1:
        data["LowerDir"] = ":".join(dirs[1:])
    return {"Name": "overlay2", "Data": dict(sorted(data.items()))}


def inspect(store: ImageStore, image_id: str) -> dict[str, Any]:
    config = _config(store, image_id)
    size = store.image_size(image_id)
    result: dict[str, Any] = {
        "Id": image_id,
        "RepoTags": store.repo_tags(image_id),
        "RepoDigests": store.repo_digests(image_id),
        "Parent": store.parent(image_id),
        "Comment": config.get("comment", ""),
        "Created": config.get("created", ""),
        "Container": config.get("container", ""),
        "ContainerConfig": container_config(config.get("container_config") or {}),
        "DockerVersion": config.get("docker_version", ""),
        "Author": config.get("author", ""),
        "Config": container_config(config.get("config")),
        "Architecture": config.get("architecture", ""),
    }
    if config.get("variant"):
        result["Variant"] = config["variant"]
    result["Os"] = config.get("os", "")
    if config.get("os.version"):
        result["OsVersion"] = config["os.version"]
    result.update({
        "Size": size,
        "VirtualSize": size,
        "GraphDriver": graph_driver(store, image_id),
        "RootFS": {"Type": "layers", "Layers": store.diff_ids(image_id)},
        "Metadata": {"LastTagTime": store.last_tag_time(image_id)},
    })
    return result


def _summary(store: ImageStore, image_id: str, refs: list[Reference]) -> dict[str, Any]:
    config = _config(store, image_id)
    size = store.image_size(image_id)
    tags = [str(r) for r in refs if r.tag is not None]
    digests = [str(r) for r in refs if r.digest is not None]
    if not refs:
        tags, digests = ["<none>:<none>"], ["<none>@<none>"]
    return {
        "Containers": -1,
        "Created": int(parse_time(config.get("created"))),
        "Id": image_id,
        "Labels": (config.get("config") or {}).get("Labels"),
        "ParentId": store.parent(image_id),
        "RepoDigests": digests or None,  # dockerd's nil lists: a tag without digest, and back
        "RepoTags": tags or None,
        "SharedSize": -1,
        "Size": size,
        "VirtualSize": size,
    }


def summaries(store: ImageStore, filters: dict[str, list[str]],
              all_images: bool = False) -> list[dict[str, Any]]:
    """dockerd's ``Images``: newest first, filtered; build intermediates (untagged
    images that are the parent of another) only with ``all_images``."""
    for key in filters:
        if key not in LIST_FILTERS:
            raise InvalidParameter(f"Invalid filter '{key}'")
    dangling = filters.get("dangling")
    dangling_only = bool_filter(filters, "dangling", False)
    before = since = until = None
    if filters.get("before"):
        before = parse_time(_config(store, store.resolve(filters["before"][-1])).get("created"))
    if filters.get("since"):
        since = parse_time(_config(store, store.resolve(filters["since"][-1])).get("created"))
    if filters.get("until"):
        until = parse_until(filters["until"][-1])
    patterns = filters.get("reference", [])
    result = []
    for image_id in store.image_ids():
        config = _config(store, image_id)
        created = parse_time(config.get("created"))
        if before is not None and created >= before:
            continue
        if since is not None and created <= since:
            continue
        if until is not None and created >= until:
            continue
        if not label_filters_match(filters, (config.get("config") or {}).get("Labels") or {}):
            continue
        all_refs = store.references(image_id)
        if not all_images and not all_refs and store.children(image_id):
            continue
        refs = [r for r in all_refs if not patterns or any(familiar_match(p, r) for p in patterns)]
        has_tag = any(r.tag is not None for r in refs)
        if not refs:
            if (all_refs and patterns) or patterns or (dangling and not dangling_only):
                continue
        elif dangling_only and has_tag:
            continue
        result.append(_summary(store, image_id, refs))
    result.sort(key=lambda s: (s["Created"], s["Id"]), reverse=True)
    return result


def history(store: ImageStore, image_id: str) -> list[dict[str, Any]]:
    """``ImageHistory``: newest first; only the top entry carries the ID and tags."""
    config = _config(store, image_id)
    chains = store.layer_chain(image_id)
    items: list[dict[str, Any]] = []
    layer = 0
    for entry in config.get("history") or []:
        size = 0
        if not entry.get("empty_layer"):
            if layer < len(chains):
                size = store.layer_size(chains[layer])
            layer += 1
        items.append({
            "Comment": entry.get("comment", ""),
            "Created": int(parse_time(entry.get("created"))),
            "CreatedBy": entry.get("created_by", ""),
            "Id": "<missing>",
            "Size": size,
            "Tags": None,
        })
    items.reverse()
    # the entries of the images this one was built on locally carry their IDs and tags, as
    # dockerd's ImageHistory walks the parents; the rest (pulled history) stays <missing>
    current = image_id
    for item in items:
        item["Id"] = current
        item["Tags"] = store.repo_tags(current) or None
        current = store.parent(current)
        if not current or current not in store.image_ids():
            break
    return items
