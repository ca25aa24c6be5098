"""The shapes of the JSON bodies coved accepts, checked before any of it reaches the engine.

A small declarative schema of the Engine API 1.41 types as moby's Go structs decode them
(``container.Config``, ``HostConfig``, ``Resources``, ``ExecConfig``, ...): scalar types,
integer ranges (int64, and uint where Go uses unsigned), ``map[string]string`` values, lists,
nested objects, and the few enums and ranges dockerd checks with its own words. A mismatch
is the client's mistake, an ``InvalidParameter`` (400) worded as Go's decoder words it
(``json: cannot unmarshal number into Go struct field Config.Labels of type string``):
dockerd 20.10 answers those with 500, later releases and Cove with 400.

``check`` returns a cleaned copy: field names as Go matches them (exact, else
case-insensitive) put back to their canonical spelling, and keys no Go struct has dropped,
as Go's decoder drops them. So nothing the engine stores can hold a shape that would make a
later listing (``docker ps``, ``system df``) fail to decode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cove.runtime import errors


def _json_kind(value: Any, literal: bool = False) -> str:
    """How Go's decoder names the JSON value it could not place: a number's text only
    when it was meant for an integer it does not fit (``number 1.5``)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}" if literal else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "value"


def _mismatch(value: Any, path: str, go_type: str,
              literal: bool = False) -> errors.InvalidParameter:
    return errors.InvalidParameter(
        f"json: cannot unmarshal {_json_kind(value, literal)} into Go struct field {path} "
        f"of type {go_type}")


def _clean_text(text: str) -> str:
    """Go's decoder turns invalid UTF-16 escapes (lone surrogates) into U+FFFD; so do we,
    so that every string stored can be written out as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


class Shape:
    """One Go type: ``check`` returns the value as stored, or raises InvalidParameter."""

    go_type = "value"
    zero: Any = None  # what a null element of a list or map decodes to in Go

    def check(self, value: Any, path: str) -> Any:
        raise NotImplementedError

    def element(self, value: Any, path: str) -> Any:
        """A list item or map value: null is the type's zero value there, not nil."""
        checked = self.check(value, path)
        return self.zero if checked is None else checked


@dataclass(frozen=True)
class Str(Shape):
    """A string; one the kernel may be handed (a path, a name, an argument: all but label
    text) cannot hold a NUL, which no syscall takes."""

    nul: bool = False
    go_type = "string"
    zero = ""

    def check(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise _mismatch(value, path, self.go_type)
        if not self.nul:
            _refuse_nul(value, path)
        return _clean_text(value)


def _refuse_nul(text: str, path: str) -> None:
    if "\x00" in text:
        raise errors.InvalidParameter(f"invalid {path}: {text[:40]!r} contains a NUL character")


@dataclass(frozen=True)
class Bool(Shape):
    go_type = "bool"
    zero = False

    def check(self, value: Any, path: str) -> Any:
        if value is not None and not isinstance(value, bool):
            raise _mismatch(value, path, self.go_type)
        return value


@dataclass(frozen=True)
class Int(Shape):
    """A Go integer type; ``low``/``high`` narrow it to what dockerd accepts, refused with
    ``message`` (``{value}`` in it is the number given)."""

    name: str = "int64"
    low: int | None = None
    high: int | None = None
    message: str = ""
    also: tuple[int, ...] = ()
    zero = 0

    @property
    def go_type(self) -> str:  # type: ignore[override]
        return self.name

    def _bounds(self) -> tuple[int, int]:
        bits = {"int64": 64, "int": 64, "uint64": 64, "uint": 64, "uint32": 32,
                "uint16": 16, "int32": 32}[self.name]
        if self.name.startswith("u"):
            return 0, (1 << bits) - 1
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def check(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        lowest, highest = self._bounds()
        if isinstance(value, bool) or not isinstance(value, int) or not \
                lowest <= value <= highest:
            raise _mismatch(value, path, self.go_type,
                            isinstance(value, int | float) and not isinstance(value, bool))
        if value in self.also:
            return value
        if (self.low is not None and value < self.low) or (
                self.high is not None and value > self.high):
            raise errors.InvalidParameter(self.message.format(value=value))
        return value


@dataclass(frozen=True)
class Enum(Shape):
    """A string out of a fixed set; anything else is refused with dockerd's ``message``."""

    values: tuple[str, ...]
    message: str
    go_type = "string"
    zero = ""

    def check(self, value: Any, path: str) -> Any:
        value = Str().check(value, path)
        if value is not None and value not in self.values:
            shown = value if len(value) <= 200 else value[:200] + "..."
            raise errors.InvalidParameter(self.message.format(value=shown))
        return value


@dataclass(frozen=True)
class List(Shape):
    item: Shape

    @property
    def go_type(self) -> str:  # type: ignore[override]
        return "[]" + self.item.go_type

    def check(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            raise _mismatch(value, path, self.go_type)
        return [self.item.element(item, path) for item in value]


@dataclass(frozen=True)
class StrSlice(Shape):
    """moby's ``strslice.StrSlice``: a string or a list of strings (Cmd, Entrypoint)."""

    go_type = "strslice.StrSlice"

    def check(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            return _clean_text(value)
        return List(Str()).check(value, path)


@dataclass(frozen=True)
class Map(Shape):
    """``map[string]V``; ``pointers``: ``map[string]*V``, where null stays null; ``nul``:
    keys may hold a NUL (label text only)."""

    value: Shape
    pointers: bool = False
    nul: bool = False

    @property
    def go_type(self) -> str:  # type: ignore[override]
        return "map[string]" + self.value.go_type

    def check(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _mismatch(value, path, self.go_type)
        checked = {}
        for key, item in value.items():
            if not self.nul:
                _refuse_nul(key, path)
            checked[_clean_text(key)] = (self.value.check(item, path) if self.pointers
                                         else self.value.element(item, path))
        return checked


@dataclass(frozen=True)
class Obj(Shape):
    """A Go struct: known fields checked, matched as Go matches them, the rest dropped."""

    name: str
    fields: Mapping[str, Shape] = field(default_factory=dict)

    @property
    def zero(self) -> Any:
        return {}

    @property
    def go_type(self) -> str:  # type: ignore[override]
        return self.name

    def check(self, value: Any, path: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _mismatch(value, path, self.go_type)
        return self.check_fields(value, path)

    def check_fields(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        folded = {name.lower(): name for name in self.fields}
        checked: dict[str, Any] = {}
        exact: set[str] = set()
        for key, item in value.items():
            name = key if key in self.fields else folded.get(key.lower())
            if name is None or (name in exact and key != name):
                continue  # Go: an exact match wins over a case-folded one
            if key == name:
                exact.add(name)
            checked[name] = self.fields[name].check(item, f"{path}.{name}")
        return checked


STR, BOOL, INT64, INT = Str(), Bool(), Int("int64"), Int("int")
STRINGS = List(STR)
STRING_MAP = Map(STR)
LABELS = Map(Str(nul=True), nul=True)
EMPTY_STRUCT = Obj("struct {}")
SET = Map(EMPTY_STRUCT)

HEALTH_CONFIG = Obj("container.HealthConfig", {
    "Test": STRINGS, "Interval": INT64, "Timeout": INT64, "StartPeriod": INT64,
    "Retries": INT,
})
CONFIG_FIELDS: dict[str, Shape] = {
    "Hostname": STR, "Domainname": STR, "User": STR, "AttachStdin": BOOL,
    "AttachStdout": BOOL, "AttachStderr": BOOL, "ExposedPorts": SET, "Tty": BOOL,
    "OpenStdin": BOOL, "StdinOnce": BOOL, "Env": STRINGS, "Cmd": StrSlice(),
    "Healthcheck": HEALTH_CONFIG, "ArgsEscaped": BOOL, "Image": STR, "Volumes": SET,
    "WorkingDir": STR, "Entrypoint": StrSlice(), "NetworkDisabled": BOOL, "MacAddress": STR,
    "OnBuild": STRINGS, "Labels": LABELS, "StopSignal": STR, "StopTimeout": INT,
    "Shell": StrSlice(),
}
CONFIG = Obj("container.Config", CONFIG_FIELDS)

ULIMITS = List(Obj("units.Ulimit", {"Name": STR, "Hard": INT64, "Soft": INT64}))
THROTTLE_DEVICE = Obj("blkiodev.ThrottleDevice", {"Path": STR, "Rate": Int("uint64")})
RESOURCES_FIELDS: dict[str, Shape] = {
    "CpuShares": INT64, "Memory": INT64, "NanoCpus": INT64, "CgroupParent": STR,
    "BlkioWeight": Int("uint16", 10, 1000, "Range of blkio weight is from 10 to 1000",
                       also=(0,)),
    "BlkioWeightDevice": List(Obj("blkiodev.WeightDevice",
                                  {"Path": STR, "Weight": Int("uint16")})),
    "BlkioDeviceReadBps": List(THROTTLE_DEVICE), "BlkioDeviceWriteBps": List(THROTTLE_DEVICE),
    "BlkioDeviceReadIOps": List(THROTTLE_DEVICE), "BlkioDeviceWriteIOps": List(THROTTLE_DEVICE),
    "CpuPeriod": INT64, "CpuQuota": INT64, "CpuRealtimePeriod": INT64,
    "CpuRealtimeRuntime": INT64, "CpusetCpus": STR, "CpusetMems": STR,
    "Devices": List(Obj("container.DeviceMapping", {
        "PathOnHost": STR, "PathInContainer": STR, "CgroupPermissions": STR})),
    "DeviceCgroupRules": STRINGS,
    "DeviceRequests": List(Obj("container.DeviceRequest", {
        "Driver": STR, "Count": INT, "DeviceIDs": STRINGS, "Capabilities": List(STRINGS),
        "Options": STRING_MAP})),
    "KernelMemory": INT64, "KernelMemoryTCP": INT64, "MemoryReservation": INT64,
    "MemorySwap": INT64,
    "MemorySwappiness": Int("int64", 0, 100, "Invalid value: {value}, valid memory "
                            "swappiness range is 0-100", also=(-1,)),
    "OomKillDisable": BOOL, "PidsLimit": INT64,
    "Ulimits": ULIMITS,
    "CpuCount": INT64, "CpuPercent": INT64, "IOMaximumIOps": Int("uint64"),
    "IOMaximumBandwidth": Int("uint64"),
    "Init": BOOL,  # HostConfig's in Go; the swagger lists it with the resources
}
RESTART_POLICY = Obj("container.RestartPolicy", {
    "Name": Enum(("", "no", "always", "unless-stopped", "on-failure"),
                 "invalid restart policy '{value}'"),
    "MaximumRetryCount": INT,
})
MOUNT = Obj("mount.Mount", {
    "Type": STR, "Source": STR, "Target": STR, "ReadOnly": BOOL, "Consistency": STR,
    "BindOptions": Obj("mount.BindOptions", {"Propagation": STR, "NonRecursive": BOOL}),
    "VolumeOptions": Obj("mount.VolumeOptions", {
        "NoCopy": BOOL, "Labels": LABELS,
        "DriverConfig": Obj("mount.Driver", {"Name": STR, "Options": STRING_MAP})}),
    "TmpfsOptions": Obj("mount.TmpfsOptions", {"SizeBytes": INT64, "Mode": Int("uint32")}),
})
HOST_CONFIG_FIELDS: dict[str, Shape] = {
    **RESOURCES_FIELDS,
    "Binds": STRINGS, "ContainerIDFile": STR,
    "LogConfig": Obj("container.LogConfig", {"Type": STR, "Config": STRING_MAP}),
    "NetworkMode": STR,
    "PortBindings": Map(List(Obj("nat.PortBinding", {"HostIp": STR, "HostPort": STR}))),
    "RestartPolicy": RESTART_POLICY, "AutoRemove": BOOL, "VolumeDriver": STR,
    "VolumesFrom": STRINGS, "Mounts": List(MOUNT), "CapAdd": StrSlice(), "CapDrop": StrSlice(),
    "CgroupnsMode": Enum(("", "private", "host"), "invalid cgroup namespace mode: {value}"),
    "Dns": STRINGS, "DnsOptions": STRINGS, "DnsSearch": STRINGS, "ExtraHosts": STRINGS,
    "GroupAdd": STRINGS, "IpcMode": STR, "Cgroup": STR, "Links": STRINGS, "OomScoreAdj": INT,
    "PidMode": STR, "Privileged": BOOL, "PublishAllPorts": BOOL, "ReadonlyRootfs": BOOL,
    "SecurityOpt": STRINGS, "StorageOpt": STRING_MAP, "Tmpfs": STRING_MAP, "UTSMode": STR,
    "UsernsMode": STR, "ShmSize": Int("int64", 0, None, "SHM size can not be less than 0"),
    "Sysctls": STRING_MAP, "Runtime": STR,
    "ConsoleSize": List(Int("uint")), "Isolation": STR, "MaskedPaths": STRINGS,
    "ReadonlyPaths": STRINGS, "Init": BOOL,
}
HOST_CONFIG = Obj("container.HostConfig", HOST_CONFIG_FIELDS)
ENDPOINT_SETTINGS = Obj("network.EndpointSettings", {
    "IPAMConfig": Obj("network.EndpointIPAMConfig", {
        "IPv4Address": STR, "IPv6Address": STR, "LinkLocalIPs": STRINGS}),
    "Links": STRINGS, "Aliases": STRINGS, "NetworkID": STR, "EndpointID": STR,
    "Gateway": STR, "IPAddress": STR, "IPPrefixLen": INT, "IPv6Gateway": STR,
    "GlobalIPv6Address": STR, "GlobalIPv6PrefixLen": INT, "MacAddress": STR,
    "DriverOpts": STRING_MAP,
})
NETWORKING_CONFIG = Obj("network.NetworkingConfig", {"EndpointsConfig": Map(ENDPOINT_SETTINGS)})
CONTAINER_UPDATE = Obj("container.UpdateConfig", {
    **RESOURCES_FIELDS, "RestartPolicy": RESTART_POLICY})
EXEC_CONFIG = Obj("types.ExecConfig", {
    "User": STR, "Privileged": BOOL, "Tty": BOOL, "AttachStdin": BOOL, "AttachStderr": BOOL,
    "AttachStdout": BOOL, "Detach": BOOL, "DetachKeys": STR, "Env": STRINGS,
    "WorkingDir": STR, "Cmd": StrSlice(),
})
EXEC_START = Obj("types.ExecStartCheck", {"Detach": BOOL, "Tty": BOOL})
VOLUME_CREATE = Obj("volume.VolumeCreateBody", {
    "Name": STR, "Driver": STR, "DriverOpts": STRING_MAP, "Labels": LABELS})
AUTH_CONFIG = Obj("types.AuthConfig", {
    "username": STR, "password": STR, "auth": STR, "email": STR, "serveraddress": STR,
    "identitytoken": STR, "registrytoken": STR})
BUILD_ARGS = Map(STR, pointers=True)  # map[string]*string: null is an arg without a value


def container_create(body: dict[str, Any]) -> dict[str, Any]:
    """A create body: Config's fields at the top (errors name ``Config.X``), then
    ``HostConfig`` and ``NetworkingConfig`` (named as dockerd's decoder names them)."""
    result = CONFIG.check_fields(body, "Config")
    for key, shape in (("HostConfig", HOST_CONFIG), ("NetworkingConfig", NETWORKING_CONFIG)):
        value = shape.check(body_value(body, key), key)
        if value is not None:
            result[key] = value
    return result


def body_value(body: dict[str, Any], name: str) -> Any:
    """The value Go's decoder would take for field ``name`` (exact key, else folded)."""
    if name in body:
        return body[name]
    return next((v for k, v in body.items() if k.lower() == name.lower()), None)


def checked(shape: Obj, body: dict[str, Any], path: str | None = None) -> dict[str, Any]:
    """``body`` checked against ``shape``; errors name fields under ``path``."""
    return shape.check_fields(body, path or shape.name.rsplit(".", 1)[-1])
