"""A container's mounts: ``HostConfig.Binds``, ``.Mounts``, ``.Tmpfs`` (and volumes).

Parsed with dockerd's rules and error texts (moby ``volume/mounts/linux_parser.go``,
``daemon/volumes.go``, ``oci_linux.go``) so clients see what they would see with
Docker. One parse, three callers: ``validate`` at create, ``inspect_mounts`` for the
record's top-level ``Mounts``, and ``spec_mounts`` at every start. Volume mount
points leave the parse without a name when anonymous; the volume service resolves
them at create and the record keeps the resolved list (``to_record``), so restarts
and re-adopted containers mount the same volumes.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import asdict, dataclass, fields
from typing import Any

from cove.runtime import errors
from cove.runtime.engine.tmpfs_options import (
    DEFAULT_PROPAGATION,
    PROPAGATIONS,
    tmpfs_mount_data,
    tmpfs_options,
)
from cove.runtime.linux.syscalls import MS_RDONLY

_RW_MODES = ("rw", "ro")
_LABEL_MODES = ("z", "Z")
_COPY_MODES = ("nocopy",)
_CONSISTENCY_MODES = ("consistent", "cached", "delegated")



@dataclass(frozen=True)
class MountPoint:
    """One user mount, in the shape both inspect and the runtime spec are made from."""

    type: str                       # "bind", "volume" or "tmpfs"
    destination: str                # cleaned, absolute
    source: str = ""                # bind: host path; volume: its _data, once resolved
    rw: bool = True
    mode: str = ""                  # the Binds mode text ("ro,z"), shown by inspect
    propagation: str = ""           # bind only; rprivate unless asked
    recursive: bool = True          # BindOptions.NonRecursive turns it off
    tmpfs_data: str = ""            # tmpfs: "size=64m,mode=755,..." before defaults
    create_source: bool = False     # Binds create a missing host dir; Mounts refuse it
    listed: bool = True             # in inspect's top-level Mounts (HostConfig.Tmpfs is not)
    name: str = ""                  # volume: its name ("" until an anonymous one is made)
    driver: str = ""                # volume: the driver asked for / used
    copy_data: bool = True          # volume: fill it from the image when empty (not nocopy)
    anonymous: bool = False         # volume: no source given, so ``rm -v`` removes it
    volume_labels: dict[str, str] | None = None   # volume: labels if this create makes it
    volume_options: dict[str, str] | None = None  # volume: DriverConfig.Options

    def to_record(self) -> dict[str, Any]:
        """What the container record keeps (creation-only fields dropped)."""
        data = asdict(self)
        data.pop("volume_labels")
        data.pop("volume_options")
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> MountPoint:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _mount_config_error(kind: Any, reason: str) -> errors.InvalidParameter:
    return errors.InvalidParameter(f'invalid mount config for type "{kind}": {reason}')


def _not_absolute(path: str) -> str | None:
    if path.replace("\\", "/").startswith("/"):
        return None
    return f"invalid mount path: '{path}' mount path must be absolute"


def _check_target(target: str) -> str | None:
    """dockerd's target checks; the reason text, or None when the target is fine."""
    if _clean(target.replace("\\", "/")) == "/":
        return "invalid specification: destination can't be '/'"
    return _not_absolute(target)


def _clean(path: str) -> str:
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("/") else cleaned


def _valid_mode(mode: str) -> bool:
    if not mode:
        return True
    counts = [0, 0, 0, 0, 0]
    for option in mode.split(","):
        for index, group in enumerate((_RW_MODES, _LABEL_MODES, PROPAGATIONS, _COPY_MODES,
                                       _CONSISTENCY_MODES)):
            if option in group:
                counts[index] += 1
                break
        else:
            return False
    return max(counts) <= 1


def _check_mount_types(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise errors.InvalidParameter(
            "json: cannot unmarshal value into Go struct field HostConfig.Mounts of type "
            "mount.Mount")
    for key, kind, name in (("Type", str, "mount.Type"), ("Source", str, "string"),
                            ("Target", str, "string"), ("ReadOnly", bool, "bool"),
                            ("BindOptions", dict, "mount.BindOptions"),
                            ("TmpfsOptions", dict, "mount.TmpfsOptions"),
                            ("VolumeOptions", dict, "mount.VolumeOptions")):
        value = spec.get(key)
        if value is not None and not isinstance(value, kind):
            raise errors.InvalidParameter(
                f"json: cannot unmarshal value into Go struct field Mount.HostConfig.Mounts."
                f"{key} of type {name}")
    for key in ("SizeBytes", "Mode"):
        value = (spec.get("TmpfsOptions") or {}).get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise errors.InvalidParameter(
                f"json: cannot unmarshal value into Go struct field TmpfsOptions.HostConfig."
                f"Mounts.TmpfsOptions.{key} of type int64")
    return spec


def parse_mount(spec: dict[str, Any], check_source: bool = True) -> MountPoint:
    """One ``HostConfig.Mounts`` entry (moby's ParseMountSpec); volumes are refused."""
    kind = spec.get("Type") or ""
    target = spec.get("Target") or ""
    source = spec.get("Source") or ""
    for field, owner in (("BindOptions", "bind"), ("VolumeOptions", "volume"),
                         ("TmpfsOptions", "tmpfs")):
        if spec.get(field) is not None and kind != owner:
            raise _mount_config_error(kind, f"field {field} must not be specified")
    if not target:
        raise _mount_config_error(kind, "field Target must not be empty")
    reason = _check_target(target)
    if reason:
        raise _mount_config_error(kind, reason)
    read_only = bool(spec.get("ReadOnly"))
    if kind == "bind":
        return _parse_bind_spec(spec, source, target, read_only, check_source)
    if kind == "volume":
        return _parse_volume_spec(spec, source, target, read_only)
    if kind == "tmpfs":
        if source:
            raise _mount_config_error(kind, "field Source must not be specified")
        try:
            data = tmpfs_mount_data(spec.get("TmpfsOptions"), read_only)
        except ValueError as exc:
            raise _mount_config_error(kind, str(exc)) from exc
        return MountPoint("tmpfs", _clean(target), rw=not read_only, tmpfs_data=data)
    raise _mount_config_error(kind, "mount type unknown")


def _parse_volume_spec(spec: dict[str, Any], source: str, target: str,
                       read_only: bool) -> MountPoint:
    if read_only and not source:
        raise _mount_config_error(
            "volume", "must not set ReadOnly mode when using anonymous volumes")
    options = spec.get("VolumeOptions") or {}
    driver_config = options.get("DriverConfig") or {}
    if not isinstance(driver_config, dict):
        raise errors.InvalidParameter(
            "json: cannot unmarshal value into Go struct field VolumeOptions.HostConfig."
            "Mounts.VolumeOptions.DriverConfig of type mount.Driver")
    for key, value in (("Labels", options.get("Labels")),
                       ("DriverConfig.Options", driver_config.get("Options"))):
        if value is not None and not (isinstance(value, dict) and
                                      all(isinstance(v, str) for v in value.values())):
            raise errors.InvalidParameter(
                f"json: cannot unmarshal value into Go struct field VolumeOptions.HostConfig."
                f"Mounts.VolumeOptions.{key} of type map[string]string")
    # a local volume is relabelled: dockerd shows its Mode as "z" (setBindModeIfNull)
    return MountPoint("volume", _clean(target), rw=not read_only, mode="z", name=source,
                      driver=str(driver_config.get("Name") or ""),
                      copy_data=not options.get("NoCopy"), anonymous=not source,
                      volume_labels=options.get("Labels") or None,
                      volume_options=driver_config.get("Options") or None)


def _parse_bind_spec(spec: dict[str, Any], source: str, target: str, read_only: bool,
                     check_source: bool) -> MountPoint:
    if not source:
        raise _mount_config_error("bind", "field Source must not be empty")
    options = spec.get("BindOptions") or {}
    propagation = options.get("Propagation") or ""
    if propagation and propagation not in PROPAGATIONS:
        raise _mount_config_error("bind", f"invalid propagation mode: {propagation}")
    reason = _not_absolute(source)
    if reason:
        raise _mount_config_error("bind", reason)
    if check_source and not os.path.lexists(source):
        raise _mount_config_error("bind", f"bind source path does not exist: {source}")
    return MountPoint("bind", _clean(target), _clean(source), rw=not read_only,
                      propagation=propagation or DEFAULT_PROPAGATION,
                      recursive=not options.get("NonRecursive"))


def parse_bind(raw: str) -> MountPoint:
    """One ``HostConfig.Binds`` entry, ``/host:/ctr[:mode]`` (moby's ParseMountRaw)."""
    parts = raw.split(":", 3)
    if not parts[0] or len(parts) > 3:
        raise errors.InvalidParameter(f"invalid volume specification: '{raw}'")
    if len(parts) == 1:  # an anonymous volume
        reason = _check_target(raw)
        if reason:
            raise errors.InvalidParameter(f"invalid volume specification: '{raw}': "
                                          f"{_mount_config_error('volume', reason).message}")
        return MountPoint("volume", _clean(raw), mode="z", anonymous=True)
    if len(parts) == 2 and _valid_mode(parts[1]):
        raise errors.InvalidParameter(f"invalid volume specification: '{raw}'")
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    if not _valid_mode(mode):
        raise errors.InvalidParameter(f"invalid mode: {mode}")
    options = mode.split(",") if mode else []
    is_bind = source.startswith("/")
    spec: dict[str, Any] = {"Type": "bind" if is_bind else "volume", "Source": source,
                            "Target": target, "ReadOnly": "ro" in options}
    if "nocopy" in options:
        spec["VolumeOptions"] = {"NoCopy": True}
    chosen = [o for o in options if o in PROPAGATIONS]
    if chosen and is_bind:
        spec["BindOptions"] = {"Propagation": chosen[0]}
    try:
        point = parse_mount(spec, check_source=False)
    except errors.InvalidParameter as exc:
        raise errors.InvalidParameter(
            f"invalid volume specification: '{raw}': {exc.message}") from exc
    if point.type == "volume":
        return MountPoint("volume", point.destination, rw=point.rw, mode=mode or "z",
                          name=source, copy_data=point.copy_data)
    return MountPoint("bind", point.destination, point.source, rw=point.rw, mode=mode,
                      propagation=point.propagation, create_source=True)


def mount_points(host: dict[str, Any], check_source: bool = True) -> list[MountPoint]:
    """Every user mount of a HostConfig, checked as dockerd checks them at create."""
    binds = host.get("Binds") or []
    specs = host.get("Mounts") or []
    tmpfs = host.get("Tmpfs") or {}
    if not isinstance(binds, list) or not all(isinstance(b, str) for b in binds):
        raise errors.InvalidParameter(
            "json: cannot unmarshal value into Go struct field HostConfig.Binds of type []string")
    if not isinstance(specs, list):
        raise errors.InvalidParameter(
            "json: cannot unmarshal value into Go struct field HostConfig.Mounts of type "
            "[]mount.Mount")
    if not isinstance(tmpfs, dict) or not all(isinstance(v, str) for v in tmpfs.values()):
        raise errors.InvalidParameter(
            "json: cannot unmarshal value into Go struct field HostConfig.Tmpfs of type "
            "map[string]string")
    for destination in tmpfs:
        reason = _check_target(destination)
        if reason:
            raise errors.InvalidParameter(reason)
    points: list[MountPoint] = []
    taken: set[str] = set()
    for raw in binds:
        point = parse_bind(raw)
        if point.destination in taken or point.destination in tmpfs:
            raise errors.InvalidParameter(f"Duplicate mount point: {point.destination}")
        taken.add(point.destination)
        points.append(point)
    for spec in specs:
        point = parse_mount(_check_mount_types(spec), check_source)
        if point.destination in taken:
            raise errors.InvalidParameter(f"Duplicate mount point: {spec.get('Target')}")
        taken.add(point.destination)
        points.append(point)
    for destination, data in tmpfs.items():
        points.append(MountPoint("tmpfs", _clean(destination), tmpfs_data=data, listed=False))
    return points


def validate(host: dict[str, Any]) -> None:
    """Create-time checks: bad specs, duplicates, missing Mounts sources, volumes."""
    mount_points(host, check_source=True)


def inspect_mounts(host: dict[str, Any],
                   points: list[MountPoint] | None = None) -> list[dict[str, Any]]:
    """The top-level ``Mounts`` of inspect (and ``ps``), as dockerd shows mount points:
    ``points`` when the record has them resolved, else parsed from ``host``."""
    shown: list[dict[str, Any]] = []
    for point in mount_points(host, check_source=False) if points is None else points:
        if not point.listed:
            continue
        if point.type == "volume":
            shown.append({"Type": "volume", "Name": point.name, "Source": point.source,
                          "Destination": point.destination, "Driver": point.driver,
                          "Mode": point.mode, "RW": point.rw, "Propagation": ""})
            continue
        shown.append({"Type": point.type, "Source": point.source,
                      "Destination": point.destination, "Mode": point.mode, "RW": point.rw,
                      "Propagation": point.propagation})
    return shown


def spec_mounts(host: dict[str, Any], network_files: list[tuple[str, str]],
                points: list[MountPoint] | None = None) -> list[dict[str, Any]]:
    """The runtime spec's mounts: the user's, parents before children (dockerd sorts by
    depth), then each (source, destination) network file the user did not mount over
    (dockerd's TrySetNetworkMount).

    Run at each start: creates a missing Binds source directory (as dockerd does), and
    fails the start when a ``Mounts`` bind source has gone or a tmpfs option is bad.
    """
    if points is None:
        points = mount_points(host, check_source=False)
    points = sorted(points, key=lambda p: p.destination.count("/"))
    entries: list[dict[str, Any]] = []
    for point in points:
        if point.type == "tmpfs":
            flags, data = tmpfs_options(point.tmpfs_data)
            entries.append({"type": "tmpfs", "source": "tmpfs",
                            "destination": point.destination, "flags": flags, "data": data,
                            "readonly": bool(flags & MS_RDONLY)})
            continue
        if point.type == "volume":
            if not os.path.isdir(point.source):
                raise errors.NotFound(f"get {point.name}: no such volume")
            entries.append({"type": "bind", "source": point.source,
                            "destination": point.destination, "readonly": not point.rw,
                            "recursive": True, "propagation": DEFAULT_PROPAGATION})
            continue
        _ensure_source(point)
        entries.append({"type": "bind", "source": point.source,
                        "destination": point.destination, "readonly": not point.rw,
                        "recursive": point.recursive,
                        "propagation": _runtime_propagation(point.propagation)})
    taken = {point.destination for point in points}
    return entries + [{"source": source, "destination": destination, "readonly": False}
                      for source, destination in network_files if destination not in taken]


def _runtime_propagation(requested: str) -> str:
    """Shared propagation would need a shared host mount; until then such binds stay private."""
    return requested if requested in ("private", "rprivate", "slave", "rslave") \
        else DEFAULT_PROPAGATION


def _ensure_source(point: MountPoint) -> None:
    if os.path.lexists(point.source):
        return
    if not point.create_source:
        raise _mount_config_error("bind", f"bind source path does not exist: {point.source}")
    try:
        os.makedirs(point.source, 0o755, exist_ok=True)
    except NotADirectoryError:
        pass  # dockerd ignores ENOTDIR too: the mount itself will fail with a clear error
    except OSError as exc:
        raise errors.SystemError_(
            f"error while creating mount source path '{point.source}': {exc.strerror}") from exc


def config_volume_points(volumes: dict[str, Any] | None, taken: set[str]) -> list[MountPoint]:
    """``Config.Volumes`` (``-v /path``, the image's VOLUME) as anonymous volumes, except
    where another mount (or a tmpfs) already covers the destination (dockerd's
    ``HasMountFor``)."""
    points = []
    for spec in volumes or {}:
        destination = _clean(spec)
        if destination in taken:
            continue
        taken.add(destination)
        points.append(MountPoint("volume", destination, anonymous=True))
    return points


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """``container[:ro|rw]`` -> (container, mode), with moby's ParseVolumesFrom checks."""
    if not spec:
        raise errors.InvalidParameter("volumes-from specification cannot be an empty string")
    ref, sep, mode = spec.partition(":")
    if not sep:
        return ref, "rw"
    options = mode.split(",")
    if (not _valid_mode(mode) or any(o in PROPAGATIONS for o in options)
            or "nocopy" in options):
        raise errors.InvalidParameter(f"invalid mode: {mode}")
    return ref, mode


def inherited_point(point: MountPoint, mode: str) -> MountPoint | None:
    """A mount point of a ``--volumes-from`` container as the importer gets it: read-only
    if asked, no mode text, no copy-up (dockerd's registerMountPoints); tmpfs is not shared."""
    if point.type == "tmpfs" or not point.listed:
        return None
    from dataclasses import replace

    return replace(point, rw=point.rw and "ro" not in mode.split(","), mode="",
                   copy_data=False, create_source=False)
