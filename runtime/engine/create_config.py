"""Checks a create request and merges it with the image's config, as dockerd does.

Type errors are reported like dockerd's JSON decoder (``json: cannot unmarshal
string into Go struct field Config.Env of type []string``) so clients see the
same text; value errors use dockerd's wording.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from cove.runtime import errors
from cove.runtime.engine import mounts

_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "Hostname": (str,), "Domainname": (str,), "User": (str,), "AttachStdin": (bool,),
    "AttachStdout": (bool,), "AttachStderr": (bool,), "Tty": (bool,), "OpenStdin": (bool,),
    "StdinOnce": (bool,), "Env": (list,), "Cmd": (list, str), "Entrypoint": (list, str),
    "Image": (str,), "Labels": (dict,), "WorkingDir": (str,), "StopSignal": (str,),
    "StopTimeout": (int,), "NetworkDisabled": (bool,), "ExposedPorts": (dict,),
    "Volumes": (dict,),
}
_HOST_TYPES: dict[str, tuple[type, ...]] = {
    "Memory": (int,), "MemorySwap": (int,), "NanoCpus": (int,), "CpuShares": (int,),
    "CpuQuota": (int,), "CpuPeriod": (int,), "PidsLimit": (int,), "AutoRemove": (bool,),
    "ReadonlyRootfs": (bool,), "Privileged": (bool,), "RestartPolicy": (dict,),
    "Init": (bool,), "Binds": (list,), "PortBindings": (dict,), "NetworkMode": (str,),
    "CapAdd": (list,), "CapDrop": (list,), "VolumesFrom": (list,),
}
_GO_TYPES = {bool: "bool", int: "int64", str: "string", list: "[]string", dict: "map[string]string"}
_JSON_TYPES = {bool: "bool", int: "number", float: "number", str: "string", list: "array",
               dict: "object"}
RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")
MIN_MEMORY = 6 * 1024 * 1024


def _check_types(section: str, body: dict[str, Any], types: dict[str, tuple[type, ...]]) -> None:
    for key, allowed in types.items():
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) and bool not in allowed:
            ok = False
        else:
            ok = isinstance(value, allowed)
        if not ok:
            raise errors.InvalidParameter(
                f"json: cannot unmarshal {_JSON_TYPES.get(type(value), 'value')} into Go struct "
                f"field {section}.{key} of type {_GO_TYPES[allowed[0]]}")
        if allowed[0] is list and isinstance(value, list) and key not in ("Binds",):
            if not all(isinstance(item, str) for item in value):
                raise errors.InvalidParameter(
                    f"json: cannot unmarshal non-string into Go struct field {section}.{key} "
                    "of type string")


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value) if value else []
    return list(value)


def validate(body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a create body into (Config, HostConfig), both checked."""
    if not isinstance(body, dict):
        raise errors.InvalidParameter("invalid JSON: container config must be an object")
    host = body.get("HostConfig") or {}
    if not isinstance(host, dict):
        raise errors.InvalidParameter(
            "json: cannot unmarshal value into Go struct field ContainerCreate.HostConfig")
    config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
    _check_types("Config", config, _CONFIG_TYPES)
    _check_types("HostConfig", host, _HOST_TYPES)
    if not config.get("Image"):
        raise errors.InvalidParameter("No image specified")  # dockerd: config.Image == ""
    memory = host.get("Memory") or 0
    if 0 < memory < MIN_MEMORY:
        raise errors.InvalidParameter("Minimum memory limit allowed is 6MB")
    nano = host.get("NanoCpus") or 0
    cpus = os.cpu_count() or 1
    if nano < 0 or nano > cpus * 1_000_000_000:
        raise errors.InvalidParameter(
            f"Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available")
    if nano and (host.get("CpuQuota") or host.get("CpuPeriod")):
        raise errors.InvalidParameter(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set")
    policy = host.get("RestartPolicy") or {}
    name = policy.get("Name") or ""
    if name not in RESTART_POLICIES:
        raise errors.InvalidParameter(f"invalid restart policy '{name}'")
    if policy.get("MaximumRetryCount") and name != "on-failure":
        raise errors.InvalidParameter(
            f"maximum retry count cannot be used with restart policy '{name}'")
    if (policy.get("MaximumRetryCount") or 0) < 0:
        raise errors.InvalidParameter("maximum retry count cannot be negative")
    if host.get("AutoRemove") and name not in ("", "no"):
        raise errors.InvalidParameter("can't create 'AutoRemove' container with restart policy")
    for env in config.get("Env") or []:
        if "=" not in env and not env:
            raise errors.InvalidParameter(f"invalid environment variable: {env}")
    if host.get("PortBindings"):
        raise errors.NotImplementedByEngine("published ports are not supported by this engine yet")
    mounts.validate(host)
    return config, host


def merge_image_config(config: dict[str, Any], image_config: dict[str, Any]) -> dict[str, Any]:
    """The container's Config: the request over the image's defaults (dockerd's merge)."""
    merged = dict(config)
    user_entrypoint = _as_list(config.get("Entrypoint"))
    user_cmd = _as_list(config.get("Cmd"))
    if user_entrypoint is not None and user_entrypoint != []:
        merged["Entrypoint"] = user_entrypoint
        merged["Cmd"] = user_cmd or None
    else:
        merged["Entrypoint"] = image_config.get("Entrypoint") if user_entrypoint is None else None
        merged["Cmd"] = user_cmd if user_cmd else image_config.get("Cmd")
    env: dict[str, str] = {}
    order: list[str] = []
    for item in (image_config.get("Env") or []) + (config.get("Env") or []):
        key = item.split("=", 1)[0]
        if key not in env:
            order.append(key)
        env[key] = item
    merged["Env"] = [env[k] for k in order]
    for key in ("WorkingDir", "User", "StopSignal"):
        if not merged.get(key) and image_config.get(key):
            merged[key] = image_config[key]
    labels = dict(image_config.get("Labels") or {})
    labels.update(config.get("Labels") or {})
    merged["Labels"] = labels
    if image_config.get("ExposedPorts") and not merged.get("ExposedPorts"):
        merged["ExposedPorts"] = image_config["ExposedPorts"]
    if image_config.get("Volumes") and not merged.get("Volumes"):
        merged["Volumes"] = image_config["Volumes"]
    if image_config.get("Healthcheck") and not merged.get("Healthcheck"):
        merged["Healthcheck"] = image_config["Healthcheck"]
    for key, default in (("Hostname", ""), ("Domainname", ""), ("User", ""),
                         ("AttachStdin", False), ("AttachStdout", False),
                         ("AttachStderr", False), ("Tty", False), ("OpenStdin", False),
                         ("StdinOnce", False), ("WorkingDir", ""), ("OnBuild", None)):
        merged.setdefault(key, default)
    argv = (merged.get("Entrypoint") or []) + (merged.get("Cmd") or [])
    if not argv:
        raise errors.InvalidParameter("No command specified")
    return merged


def normalize_host_config(host: dict[str, Any]) -> dict[str, Any]:
    out = dict(host)
    policy = dict(out.get("RestartPolicy") or {})
    policy.setdefault("Name", "")
    policy.setdefault("MaximumRetryCount", 0)
    out["RestartPolicy"] = policy
    out.setdefault("NetworkMode", "default")
    out.setdefault("LogConfig", {"Type": "json-file", "Config": {}})
    for key in ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod"):
        out.setdefault(key, 0)
    out.setdefault("PidsLimit", None)
    for key in ("AutoRemove", "ReadonlyRootfs", "Privileged"):
        out.setdefault(key, False)
    out.setdefault("Binds", None)
    out.setdefault("PortBindings", {})
    out.setdefault("ShmSize", 67108864)
    return out
