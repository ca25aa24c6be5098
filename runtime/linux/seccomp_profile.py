"""Seccomp profiles in Docker's JSON format, and the rules one container gets of them.

A profile (Cove's default, ``seccomp_default.json`` beside this module, or the one a
``--security-opt seccomp=<json>`` carries) is narrowed for one container as dockerd does
(moby ``profiles/seccomp``): the architectures of ``archMap`` for this machine, and only the
rules whose ``includes`` hold (every listed capability in the container's bounding set,
this machine's arch listed, the kernel at least ``minKernel``) and whose ``excludes`` do
not (any listed capability held, or this arch listed). The result, a ``Filter``, is plain
data: ``seccomp_compile`` turns it into BPF, and its ``key`` names that BPF in a cache.

Errors are ``ProfileError`` with dockerd's (and runc's) wording.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_PROFILE_FILE = Path(__file__).with_name("seccomp_default.json")
EPERM = 1

ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",
})
OPERATORS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})
ARCHITECTURES = frozenset({
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
})
# uname's machine -> (libseccomp's arch, Go's GOARCH, which profiles' includes/excludes name)
MACHINES = {
    "x86_64": ("SCMP_ARCH_X86_64", "amd64"),
    "aarch64": ("SCMP_ARCH_AARCH64", "arm64"),
    "arm64": ("SCMP_ARCH_AARCH64", "arm64"),
    "s390x": ("SCMP_ARCH_S390X", "s390x"),
    "ppc64le": ("SCMP_ARCH_PPC64LE", "ppc64le"),
    "riscv64": ("SCMP_ARCH_RISCV64", "riscv64"),
}
ARGUMENT_COUNT = 6


class ProfileError(ValueError):
    """A profile dockerd or runc would refuse; ``str()`` is their message."""


@dataclass(frozen=True)
class Condition:
    """One argument comparison; for MASKED_EQ ``value`` is the mask, ``value_two`` the
    value the masked argument must equal (libseccomp's datum_a and datum_b)."""

    index: int
    op: str
    value: int
    value_two: int = 0


@dataclass(frozen=True)
class Rule:
    """``action`` (with ``errno`` for ERRNO and TRACE) for these syscalls when every
    condition holds; two conditions on one argument make one rule each (either matches),
    as runc adds them."""

    names: tuple[str, ...]
    action: str
    errno: int | None = None
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Filter:
    """What one container's BPF is compiled from. ``architectures`` are libseccomp's names,
    ``machine`` the one it is for (the filter's native arch)."""

    default_action: str
    default_errno: int | None
    machine: str
    architectures: tuple[str, ...]
    rules: tuple[Rule, ...]

    @property
    def key(self) -> str:
        """A name for the compiled BPF: the same filter always has the same key."""
        text = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def parse_profile(text: str) -> dict[str, Any]:
    """A profile's JSON text, decoded and its shape checked."""
    try:
        profile = json.loads(text)
    except ValueError as exc:
        raise ProfileError(f"Decoding seccomp profile failed: {exc}") from exc
    _check_shape(profile)
    return profile  # type: ignore[no-any-return]


@cache
def default_profile() -> dict[str, Any]:
    return parse_profile(DEFAULT_PROFILE_FILE.read_text())


def _decoding(what: str, field: str, expected: str) -> ProfileError:
    return ProfileError(f"Decoding seccomp profile failed: json: cannot unmarshal {what} "
                        f"into Go struct field {field} of type {expected}")


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "value"


def _expect(value: Any, kind: type | tuple[type, ...], field: str, go_type: str) -> None:
    if value is None:
        return
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise _decoding(_json_kind(value), field, go_type)


def _check_shape(profile: Any) -> None:
    """What Go's decoder would refuse when it reads the profile into moby's types."""
    if not isinstance(profile, dict):
        raise ProfileError("Decoding seccomp profile failed: json: cannot unmarshal "
                           f"{_json_kind(profile)} into Go value of type seccomp.Seccomp")
    _expect(profile.get("defaultAction"), str, "Seccomp.defaultAction", "string")
    _expect(profile.get("defaultErrnoRet"), int, "Seccomp.defaultErrnoRet", "uint")
    _expect(profile.get("architectures"), list, "Seccomp.architectures", "[]specs.Arch")
    for arch in profile.get("architectures") or []:
        _expect(arch, str, "Seccomp.architectures", "specs.Arch")
    _expect(profile.get("archMap"), list, "Seccomp.archMap", "[]seccomp.Architecture")
    for entry in profile.get("archMap") or []:
        _expect(entry, dict, "Seccomp.archMap", "seccomp.Architecture")
        _expect(entry.get("architecture"), str, "Architecture.architecture", "specs.Arch")
        _expect(entry.get("subArchitectures"), list, "Architecture.subArchitectures",
                "[]specs.Arch")
    _expect(profile.get("syscalls"), list, "Seccomp.syscalls", "[]*seccomp.Syscall")
    for call in profile.get("syscalls") or []:
        _expect(call, dict, "Seccomp.syscalls", "seccomp.Syscall")
        _expect(call.get("name"), str, "Syscall.name", "string")
        _expect(call.get("names"), list, "Syscall.names", "[]string")
        _expect(call.get("action"), str, "Syscall.action", "specs.LinuxSeccompAction")
        _expect(call.get("errnoRet"), int, "Syscall.errnoRet", "uint")
        _expect(call.get("args"), list, "Syscall.args", "[]*specs.LinuxSeccompArg")
        for arg in call.get("args") or []:
            _expect(arg, dict, "Syscall.args", "specs.LinuxSeccompArg")
            for key, go_type in (("index", "uint"), ("value", "uint64"),
                                 ("valueTwo", "uint64")):
                _expect(arg.get(key), int, f"LinuxSeccompArg.{key}", go_type)
            _expect(arg.get("op"), str, "LinuxSeccompArg.op", "specs.LinuxSeccompOperator")
        for side in ("includes", "excludes"):
            _expect(call.get(side), dict, f"Syscall.{side}", "seccomp.Filter")
            condition = call.get(side) or {}
            _expect(condition.get("caps"), list, "Filter.caps", "[]string")
            _expect(condition.get("arches"), list, "Filter.arches", "[]string")
            _expect(condition.get("minKernel"), str, "Filter.minKernel", "*seccomp.KernelVersion")


def kernel_version(release: str) -> tuple[int, int]:
    """``"6.1.0-13-amd64"`` -> (6, 1)."""
    parts = release.split("-", 1)[0].split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError as exc:
        raise ProfileError(f"invalid kernel version: {release!r}") from exc


def _action(name: Any) -> str:
    if name == "SCMP_ACT_NOTIFY":
        raise ProfileError("seccomp action SCMP_ACT_NOTIFY is not supported by this engine")
    if name not in ACTIONS:
        raise ProfileError(f"string {name or ''} is not a valid action for seccomp")
    return str(name)


def _errno(action: str, value: int | None) -> int | None:
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        return EPERM if value is None else value
    return None


def _arch(name: Any) -> str:
    if name not in ARCHITECTURES:
        raise ProfileError(f"string {name} is not a valid arch for seccomp")
    return str(name)


def _architectures(profile: dict[str, Any], scmp_arch: str) -> tuple[str, ...]:
    listed = profile.get("architectures") or []
    arch_map = profile.get("archMap") or []
    if listed and arch_map:
        raise ProfileError("'architectures' and 'archMap' were specified in the seccomp "
                           "profile, use either 'architectures' or 'archMap'")
    names = [_arch(a) for a in listed]
    for entry in arch_map:
        if entry.get("architecture") == scmp_arch:
            names += [scmp_arch, *(_arch(a) for a in entry.get("subArchitectures") or [])]
    return tuple(dict.fromkeys(names))


def _applies(call: dict[str, Any], caps: frozenset[str], go_arch: str,
             kernel: tuple[int, int]) -> bool:
    """moby's includes/excludes: includes must all hold, any exclude drops the rule."""
    excludes = call.get("excludes") or {}
    if go_arch in (excludes.get("arches") or []):
        return False
    if any(cap in caps for cap in excludes.get("caps") or []):
        return False
    if excludes.get("minKernel") and kernel >= kernel_version(excludes["minKernel"]):
        return False
    includes = call.get("includes") or {}
    if includes.get("arches") and go_arch not in includes["arches"]:
        return False
    if not all(cap in caps for cap in includes.get("caps") or []):
        return False
    return not (includes.get("minKernel") and kernel < kernel_version(includes["minKernel"]))


def _conditions(args: list[dict[str, Any]]) -> tuple[Condition, ...]:
    conditions = []
    for arg in args:
        index = int(arg.get("index") or 0)
        if index >= ARGUMENT_COUNT:
            raise ProfileError(f"syscall argument index {index} out of range")
        op = arg.get("op")
        if op not in OPERATORS:
            raise ProfileError(f"string {op or ''} is not a valid operator for seccomp")
        conditions.append(Condition(index, str(op), int(arg.get("value") or 0),
                                    int(arg.get("valueTwo") or 0)))
    return tuple(conditions)


def select(profile: dict[str, Any], capabilities: frozenset[str] | set[str], machine: str,
           kernel_release: str) -> Filter:
    """The filter for a container with this bounding set (``CAP_*`` names) on this
    machine (uname's, e.g. ``x86_64``) and kernel release."""
    if profile.get("flags"):
        raise ProfileError("seccomp filter flags are not supported by this engine")
    if profile.get("listenerPath"):
        raise ProfileError("seccomp notify listeners are not supported by this engine")
    scmp_arch, go_arch = MACHINES.get(machine, ("", machine))
    if not scmp_arch:
        raise ProfileError(f"seccomp is not supported on {machine} by this engine")
    default_action = _action(profile.get("defaultAction"))
    caps = frozenset(capabilities)
    kernel = kernel_version(kernel_release)
    rules = []
    for call in profile.get("syscalls") or []:
        if call.get("name") and call.get("names"):
            raise ProfileError("'name' and 'names' were specified in the seccomp profile, "
                               "use either 'name' or 'names'")
        action = _action(call.get("action"))
        conditions = _conditions(call.get("args") or [])
        if not _applies(call, caps, go_arch, kernel):
            continue
        names = tuple(call.get("names") or ([call["name"]] if call.get("name") else []))
        if names:
            rules.append(Rule(names, action, _errno(action, call.get("errnoRet")),
                              conditions))
    return Filter(default_action, _errno(default_action, profile.get("defaultErrnoRet")),
                  machine, _architectures(profile, scmp_arch), tuple(rules))
