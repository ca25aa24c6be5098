"""Capabilities and no_new_privs: the privilege a container process is left with.

Docker's default set is kept in the bounding set for everyone; root also gets it as
effective and permitted, any other user gets none (setuid clears them), and the
inheritable and ambient sets are always empty, as in Docker since 20.10.14.
"""

from __future__ import annotations

from cove.runtime.linux.syscalls import (
    PR_CAP_AMBIENT,
    PR_CAP_AMBIENT_CLEAR_ALL,
    PR_CAPBSET_DROP,
    PR_SET_NO_NEW_PRIVS,
    KernelError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.runtime.linux.kernel_interface import Kernel

CAPABILITY_NUMBERS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4,
    "KILL": 5, "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9,
    "NET_BIND_SERVICE": 10, "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13,
    "IPC_LOCK": 14, "IPC_OWNER": 15, "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18,
    "SYS_PTRACE": 19, "SYS_PACCT": 20, "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23,
    "SYS_RESOURCE": 24, "SYS_TIME": 25, "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28,
    "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30, "SETFCAP": 31, "MAC_OVERRIDE": 32,
    "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35, "BLOCK_SUSPEND": 36, "AUDIT_READ": 37,
    "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}

DEFAULT_CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
)


def capability_mask(names: tuple[str, ...] | list[str]) -> int:
    """``["CHOWN", "KILL"]`` (with or without ``CAP_``) -> bit mask."""
    mask = 0
    for name in names:
        key = name.upper().removeprefix("CAP_")
        if key not in CAPABILITY_NUMBERS:
            raise ValueError(f"unknown capability: {name!r}")
        mask |= 1 << CAPABILITY_NUMBERS[key]
    return mask


DEFAULT_MASK = capability_mask(DEFAULT_CAPABILITIES)  # 0xa80425fb
ALL = "ALL"


def normalize_names(names: list[str], last_cap: int) -> list[str]:
    """``["net_admin", "all"]`` -> ``["CAP_NET_ADMIN", "ALL"]`` (moby's
    NormalizeLegacyCapabilities); a name the kernel does not know raises ValueError with
    dockerd's text, ``unknown capability: "CAP_FOO"``."""
    normalized = []
    for name in names:
        upper = name.upper()
        if upper == ALL:
            normalized.append(ALL)
            continue
        key = upper.removeprefix("CAP_")
        if CAPABILITY_NUMBERS.get(key, last_cap + 1) > last_cap:
            raise ValueError(f'unknown capability: "CAP_{key}"')
        normalized.append("CAP_" + key)
    return normalized


def all_mask(last_cap: int) -> int:
    return (1 << (last_cap + 1)) - 1


def tweak_capabilities(adds: list[str], drops: list[str], last_cap: int,
                       base: int = DEFAULT_MASK) -> int:
    """The container's set from ``--cap-add``/``--cap-drop`` in dockerd's order: ALL added
    means every capability but the dropped ones; ALL dropped means only the added ones;
    otherwise the defaults minus the dropped plus the added (so add wins over drop)."""
    add = normalize_names(adds, last_cap)
    drop = normalize_names(drops, last_cap)
    every = all_mask(last_cap)
    if ALL in add:
        return every & ~capability_mask([c for c in drop if c != ALL])
    if ALL in drop:
        return capability_mask(add)
    return (base & ~capability_mask(drop)) | capability_mask(add)


def held_capabilities(status_path: str = "/proc/self/status") -> int:
    """This process's bounding set: what any container it starts can be given at most."""
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return all_mask(max(CAPABILITY_NUMBERS.values()))


def capability_names(mask: int) -> list[str]:
    """``CAP_`` names of the bits in ``mask``, lowest first (for error messages)."""
    by_number = {number: name for name, number in CAPABILITY_NUMBERS.items()}
    return ["CAP_" + by_number.get(bit, str(bit)) for bit in range(mask.bit_length())
            if mask & (1 << bit)]


def last_capability(path: str = "/proc/sys/kernel/cap_last_cap") -> int:
    try:
        with open(path, "rb") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return max(CAPABILITY_NUMBERS.values())


def drop_bounding_set(kernel: Kernel, keep: int, last_cap: int) -> None:
    """Remove every capability not in ``keep`` from the bounding set (needs CAP_SETPCAP)."""
    for cap in range(last_cap + 1):
        if not keep & (1 << cap):
            kernel.prctl(PR_CAPBSET_DROP, cap)


def clear_ambient(kernel: Kernel) -> None:
    try:
        kernel.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except KernelError:
        pass  # kernels before 4.3 have no ambient set: nothing to clear


def set_capabilities(kernel: Kernel, effective: int, permitted: int,
                     inheritable: int = 0) -> None:
    kernel.capset(effective, permitted, inheritable)


def set_no_new_privs(kernel: Kernel) -> None:
    kernel.prctl(PR_SET_NO_NEW_PRIVS, 1)
