"""A ``seccomp_profile.Filter`` compiled into BPF by libseccomp (through pyseccomp).

The daemon's side only: the container's init and exec helper get the BPF bytes and load
them with ``seccomp.install_filter``, never libseccomp. Rules are added as runc adds them:
a syscall libseccomp does not know is skipped (an older libseccomp, a newer profile), a
rule whose action is the default one is left out (libseccomp refuses it), and conditions
on the same argument become one rule each.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from typing import Any

from cove.runtime.linux.seccomp_profile import MACHINES, Condition, Filter, ProfileError

_SCMP_ERROR = -1  # libseccomp's __NR_SCMP_ERROR: a name it does not know
_ATTR_OPTIMIZE, _OPTIMIZE_BINARY_TREE = 8, 2  # SCMP_FLTATR_CTL_OPTIMIZE
# Syscalls numbered alike on x86-64 and aarch64 (the table shared since Linux 5.1) that an
# older libseccomp cannot name (Debian 12's 2.5.4): added to the machine's own arch by
# number, so what a profile allows is allowed rather than refused for want of a name.
UNIFIED_NUMBERS = {
    "statmount": 457, "listmount": 458, "lsm_get_self_attr": 459, "lsm_set_self_attr": 460,
    "lsm_list_modules": 461, "mseal": 462, "setxattrat": 463, "getxattrat": 464,
    "listxattrat": 465, "removexattrat": 466,
}
UNIFIED_MACHINES = ("x86_64", "aarch64", "arm64")
_OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
              "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}


COMPILER_VERSION = 2  # bump when the same Filter would compile to other BPF


class _LibraryVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


@cache
def compiler_id() -> str:
    """What, besides the Filter, decides the BPF: this module's rules and libseccomp's
    release (a newer one names more syscalls), e.g. ``"2/2.5.4"``."""
    import ctypes.util

    library = ctypes.CDLL(ctypes.util.find_library("seccomp"))
    library.seccomp_version.restype = ctypes.POINTER(_LibraryVersion)
    version = library.seccomp_version().contents
    return f"{COMPILER_VERSION}/{version.major}.{version.minor}.{version.micro}"


def available() -> bool:
    """Whether this host can compile filters: libseccomp is there and loads."""
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        return False
    return True


def action_value(action: str, errno: int | None) -> int:
    """libseccomp's action number (``SCMP_ACT_ERRNO`` with its errno in the low bits)."""
    data = (errno or 0) & 0xFFFF
    return {
        "SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000,
        "SCMP_ACT_KILL_PROCESS": 0x80000000, "SCMP_ACT_TRAP": 0x00030000,
        "SCMP_ACT_ERRNO": 0x00050000 | data, "SCMP_ACT_TRACE": 0x7FF00000 | data,
        "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000,
    }[action]


def _arguments(pyseccomp: Any, conditions: tuple[Condition, ...]) -> list[list[Any]]:
    """The argument lists of the rules to add: one for all conditions, or one per
    condition when two test the same argument (libseccomp cannot say "or" within a rule)."""
    args = [pyseccomp.Arg(c.index, _OPERATORS[c.op], c.value, c.value_two)
            for c in conditions]
    if len({c.index for c in conditions}) < len(conditions):
        return [[arg] for arg in args]
    return [args]


def _new_filter(pyseccomp: Any, default: int, arches: list[int]) -> Any:
    """An empty libseccomp filter for exactly ``arches``."""
    scmp = pyseccomp.SyscallFilter(default)
    try:  # a binary search over syscall numbers, not a chain of ~350 tests per syscall
        scmp.set_attr(_ATTR_OPTIMIZE, _OPTIMIZE_BINARY_TREE)
    except OSError:
        pass  # libseccomp before 2.5: the chain, as runc's filters are
    for arch in arches:
        if not scmp.exist_arch(arch):
            scmp.add_arch(arch)
    if pyseccomp.system_arch() not in arches:
        scmp.remove_arch(pyseccomp.system_arch())
    return scmp


def _add_rules(pyseccomp: Any, scmp: Any, spec: Filter, default: int,
               by_number: bool) -> None:
    for rule in spec.rules:
        action = action_value(rule.action, rule.errno)
        if action == default:
            continue
        for name in rule.names:
            number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
            if number == _SCMP_ERROR and by_number:
                number = UNIFIED_NUMBERS.get(name, _SCMP_ERROR)
            if number == _SCMP_ERROR:
                continue
            for args in _arguments(pyseccomp, rule.conditions):
                try:
                    scmp.add_rule(action, number, *args)
                except OSError as exc:
                    raise ProfileError(f"seccomp rule for {name}: {exc.strerror}") from exc


def compile_bpf(spec: Filter) -> bytes:
    """The classic BPF program (``struct sock_filter`` array) for ``spec``: the machine's
    own arch (with the syscalls its libseccomp is too old to name, by number), merged with
    the other ABIs it runs (x86 and x32 on x86-64, arm on aarch64)."""
    import pyseccomp

    def arch_value(name: str) -> int:
        return int(getattr(pyseccomp.Arch, name.removeprefix("SCMP_ARCH_")))

    default = action_value(spec.default_action, spec.default_errno)
    own = arch_value(MACHINES[spec.machine][0])
    others = [arch for arch in dict.fromkeys(map(arch_value, spec.architectures))
              if arch != own]
    scmp = _new_filter(pyseccomp, default, [own])
    _add_rules(pyseccomp, scmp, spec, default, by_number=(
        own == pyseccomp.system_arch() and spec.machine in UNIFIED_MACHINES))
    if others:
        rest = _new_filter(pyseccomp, default, others)
        _add_rules(pyseccomp, rest, spec, default, by_number=False)
        scmp.merge(rest)
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    try:
        with os.fdopen(fd, "w+b", closefd=False) as out:
            scmp.export_bpf(out)
            out.seek(0)
            return out.read()
    finally:
        os.close(fd)
