"""Which accelerator a machine boots with: probed, never assumed.

A ``/dev/kvm`` proves nothing: the hosts Cove is tested on have a paravirtual KVM with no
``vmx``/``svm`` CPU flag, on which a stock guest dies with "emulation failure". So the
native accelerator is taken only when the cheap checks pass *and* a short test boot (the
caller's, with a timeout) reaches the guest's userspace; otherwise TCG, with the reason,
which ``cove machine status`` shows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from cove.vm.qemu import Accel, Arch, Host, HostOS, native_accelerator


@dataclass(frozen=True)
class AccelChoice:
    accel: Accel
    reason: str  # why this one: shown by status, and loudly when it is the TCG fallback

    @property
    def emulated(self) -> bool:
        return self.accel is Accel.TCG


@dataclass(frozen=True)
class HostFacts:
    """What the cheap checks read; gathered by ``read_host_facts``, faked in tests."""

    kvm_device_usable: bool = False  # Linux: /dev/kvm opens read-write
    cpu_flags: frozenset[str] = frozenset()  # Linux x86: /proc/cpuinfo flags
    hv_support: bool = False  # macOS: sysctl kern.hv_support
    whpx_listed: bool = False  # Windows: QEMU lists whpx in `-accel help`


def cheap_check(host: Host, facts: HostFacts) -> str | None:
    """None when the native accelerator may work; else why it cannot."""
    if host.os is HostOS.LINUX:
        if not facts.kvm_device_usable:
            return "/dev/kvm is missing or not accessible"
        if host.arch is Arch.X86_64 and not facts.cpu_flags & {"vmx", "svm"}:
            return ("/dev/kvm exists but the CPU has no vmx/svm flag "
                    "(a paravirtual KVM cannot run a stock guest)")
        return None
    if host.os is HostOS.MACOS:
        return None if facts.hv_support else "the Hypervisor framework is not available"
    return None if facts.whpx_listed else (
        "QEMU has no WHPX (turn on the Windows Hypervisor Platform feature)")


def choose(host: Host, facts: HostFacts,
           test_boot: Callable[[Accel], str | None] | None = None) -> AccelChoice:
    """The native accelerator if it passes the checks and ``test_boot`` (None: booted;
    a string: what went wrong), else TCG with the reason."""
    native = native_accelerator(host)
    why_not = cheap_check(host, facts)
    if why_not is None and test_boot is not None:
        failure = test_boot(native)
        if failure is not None:
            why_not = f"a test boot with {native.value} failed: {failure}"
    if why_not is None:
        return AccelChoice(native, f"{native.value}: hardware virtualization")
    return AccelChoice(Accel.TCG, f"tcg (emulation, much slower): {why_not}")


def read_host_facts(host: Host) -> HostFacts:
    """The cheap checks' inputs on this host (no QEMU started)."""
    if host.os is HostOS.LINUX:
        return HostFacts(kvm_device_usable=os.access("/dev/kvm", os.R_OK | os.W_OK),
                         cpu_flags=_cpu_flags())
    if host.os is HostOS.MACOS:
        return HostFacts(hv_support=_sysctl("kern.hv_support") == "1")
    return HostFacts()  # Windows: whpx_listed comes from QEMU itself, by the driver


def _cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def _sysctl(name: str) -> str:
    import subprocess

    try:
        return subprocess.run(["sysctl", "-n", name], capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
