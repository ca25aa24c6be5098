"""``-v/--volume``, ``--mount`` and ``--tmpfs``: the create-body fields docker's CLI makes of them.

``-v`` with a source becomes ``HostConfig.Binds`` (``./dir`` made absolute), ``-v /path``
an anonymous volume in ``Volumes``; ``--mount`` is docker's CSV syntax, turned into
``HostConfig.Mounts`` entries with Go's field order and omitempty; ``--tmpfs /p:opts``
fills ``HostConfig.Tmpfs``. Checks the daemon makes (absolute targets, sources that
exist, duplicates) are left to it, as docker leaves them.
"""

from __future__ import annotations

import os

from .errors import InvalidOption, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")


def _absolute_if_dotted(path: str) -> str:
    """docker makes ``.``, ``./x`` and ``../x`` sources absolute; ``x`` stays a volume name."""
    if not os.path.isabs(path) and path.startswith("."):
        return os.path.abspath(path)
    return path


def _volume_sections(spec: str) -> list[str]:
    """``src:dst[:opts]`` split as the compose loader does, with its error texts."""
    if not spec:
        raise InvalidOption("invalid empty volume spec")
    if len(spec) <= 2:
        return [spec]
    sections = spec.split(":")
    for index, section in enumerate(sections):
        if not section:
            raise InvalidOption(f"invalid spec: {spec}: empty section between colons")
        if index == 3:
            raise InvalidOption(f"invalid spec: {spec}: too many colons")
    return sections


def binds_and_volumes(specs: list[str]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """(``HostConfig.Binds``, ``Volumes``) for the ``-v`` values; repeats count once."""
    binds: list[str] = []
    volumes: dict[str, dict[str, Any]] = {}
    for spec in dict.fromkeys(specs):
        sections = _volume_sections(spec)
        if len(sections) == 1:
            volumes[spec] = {}
            continue
        host, _, rest = spec.partition(":")
        binds.append(f"{_absolute_if_dotted(host)}:{rest}")
    return binds, volumes


def _bool(key: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"invalid value for {key}: {value}")


def _key_value_map(value: str) -> tuple[str, str]:
    key, _, item = value.partition("=")
    return key, item


def parse_mount(value: str) -> dict[str, Any]:
    """One ``--mount`` value as the ``mount.Mount`` JSON docker sends (Go field order)."""
    import csv  # only when --mount is used

    try:
        fields = next(csv.reader([value]))
    except (csv.Error, StopIteration) as exc:
        raise UsageError(f'invalid argument "{value}" for "--mount" flag: EOF') from exc
    try:
        return _mount_from_fields(fields)
    except ValueError as exc:
        raise UsageError(f'invalid argument "{value}" for "--mount" flag: {exc}') from exc


def _mount_from_fields(fields: list[str]) -> dict[str, Any]:
    mount: dict[str, Any] = {"Type": "volume"}
    bind: dict[str, Any] = {}
    volume: dict[str, Any] = {}
    tmpfs: dict[str, Any] = {}
    used = set()
    for field in fields:
        key, has_value, value = field.partition("=")
        key = key.lower()
        if not has_value:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
            elif key == "volume-nocopy":
                volume["NoCopy"] = True
                used.add("volume")
            elif key == "bind-nonrecursive":
                bind["NonRecursive"] = True
                used.add("bind")
            else:
                raise ValueError(f"invalid field '{field}' must be a key=value pair")
            continue
        if key == "type":
            mount["Type"] = value.lower()
        elif key in ("source", "src"):
            mount["Source"] = value
        elif key in ("target", "dst", "destination"):
            mount["Target"] = value
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = _bool(key, value)
        elif key == "consistency":
            mount["Consistency"] = value.lower()
        elif key == "bind-propagation":
            bind["Propagation"] = value.lower()
            used.add("bind")
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _bool(key, value)
            used.add("bind")
        elif key == "volume-nocopy":
            volume["NoCopy"] = _bool(key, value)
            used.add("volume")
        elif key == "volume-label":
            label, item = _key_value_map(value)
            volume.setdefault("Labels", {})[label] = item
            used.add("volume")
        elif key == "volume-driver":
            volume.setdefault("DriverConfig", {})["Name"] = value
            used.add("volume")
        elif key == "volume-opt":
            option, item = _key_value_map(value)
            volume.setdefault("DriverConfig", {}).setdefault("Options", {})[option] = item
            used.add("volume")
        elif key == "tmpfs-size":
            from .units import ram_in_bytes

            try:
                tmpfs["SizeBytes"] = ram_in_bytes(value)
            except ValueError as exc:
                raise ValueError(f"invalid value for {key}: {value}") from exc
            used.add("tmpfs")
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(value, 8)
            except ValueError as exc:
                raise ValueError(f"invalid value for {key}: {value}") from exc
            used.add("tmpfs")
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    if not mount["Type"]:
        raise ValueError("type is required")
    if not mount.get("Target"):
        raise ValueError("target is required")
    for kind in ("volume", "bind", "tmpfs"):
        if kind in used and mount["Type"] != kind:
            raise ValueError(f"cannot mix '{kind}-*' options with mount type '{mount['Type']}'")
    if mount["Type"] == "bind" and mount.get("Source"):
        mount["Source"] = _absolute_if_dotted(mount["Source"])
    return _go_order(mount, bind, volume, tmpfs, used)


def _go_order(mount: dict[str, Any], bind: dict[str, Any], volume: dict[str, Any],
              tmpfs: dict[str, Any], used: set[str]) -> dict[str, Any]:
    """``mount.Mount`` fields in struct order, zero values left out (omitempty)."""
    out: dict[str, Any] = {"Type": mount["Type"]}
    for key in ("Source", "Target", "ReadOnly", "Consistency"):
        if mount.get(key):
            out[key] = mount[key]
    if "bind" in used:
        out["BindOptions"] = {k: bind[k] for k in ("Propagation", "NonRecursive") if bind.get(k)}
    if "volume" in used:
        shown: dict[str, Any] = {}
        if volume.get("NoCopy"):
            shown["NoCopy"] = True
        if volume.get("Labels"):
            shown["Labels"] = volume["Labels"]
        shown["DriverConfig"] = volume.get("DriverConfig") or {}
        out["VolumeOptions"] = shown
    if "tmpfs" in used:
        out["TmpfsOptions"] = {k: tmpfs[k] for k in ("SizeBytes", "Mode") if tmpfs.get(k)}
    return out


def tmpfs_map(specs: list[str]) -> dict[str, str]:
    """``--tmpfs /run:size=1m`` -> {"/run": "size=1m"}; options are checked by the daemon."""
    result: dict[str, str] = {}
    for spec in specs:
        path, _, options = spec.partition(":")
        result[path] = options
    return result
