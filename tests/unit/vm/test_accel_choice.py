"""The accelerator is probed: cheap checks, then a test boot, else TCG with the reason."""

from __future__ import annotations

from collections.abc import Callable

from cove.vm.accel import HostFacts, choose, read_host_facts
from cove.vm.qemu import Accel, Arch, Host, HostOS

LINUX = Host(HostOS.LINUX, Arch.X86_64)
KVM_HOST = HostFacts(kvm_device_usable=True, cpu_flags=frozenset({"fpu", "vmx"}))


def _recording_boot(booted: list[Accel]) -> Callable[[Accel], str | None]:
    def boot(accel: Accel) -> str | None:
        booted.append(accel)
        return None
    return boot


def test_kvm_with_vmx_and_a_good_test_boot_is_used() -> None:
    booted: list[Accel] = []
    choice = choose(LINUX, KVM_HOST, _recording_boot(booted))
    assert (choice.accel, choice.emulated, booted) == (Accel.KVM, False, [Accel.KVM])


def test_a_paravirtual_kvm_without_vmx_falls_back_to_tcg_without_booting() -> None:
    facts = HostFacts(kvm_device_usable=True, cpu_flags=frozenset({"fpu", "hypervisor"}))
    booted: list[Accel] = []
    choice = choose(LINUX, facts, _recording_boot(booted))
    assert choice.accel is Accel.TCG and choice.emulated
    assert "no vmx/svm" in choice.reason and booted == []


def test_a_failed_test_boot_falls_back_to_tcg_and_says_why() -> None:
    choice = choose(LINUX, KVM_HOST, lambda accel: "KVM internal error: emulation failure")
    assert choice.accel is Accel.TCG
    assert "test boot with kvm failed: KVM internal error" in choice.reason


def test_no_kvm_device_means_tcg() -> None:
    assert choose(LINUX, HostFacts()).reason.startswith("tcg (emulation, much slower): /dev/kvm")


def test_macos_uses_hvf_when_the_hypervisor_framework_is_there() -> None:
    mac = Host(HostOS.MACOS, Arch.ARM64)
    assert choose(mac, HostFacts(hv_support=True)).accel is Accel.HVF
    assert choose(mac, HostFacts()).accel is Accel.TCG


def test_windows_needs_whpx_listed_by_qemu() -> None:
    win = Host(HostOS.WINDOWS, Arch.X86_64)
    assert choose(win, HostFacts(whpx_listed=True)).accel is Accel.WHPX
    assert "Windows Hypervisor Platform" in choose(win, HostFacts()).reason


def test_arm64_linux_needs_no_cpu_flag() -> None:
    arm = Host(HostOS.LINUX, Arch.ARM64)
    assert choose(arm, HostFacts(kvm_device_usable=True)).accel is Accel.KVM


def test_this_hosts_facts_are_read_without_starting_qemu() -> None:
    facts = read_host_facts(LINUX)
    assert isinstance(facts.kvm_device_usable, bool) and isinstance(facts.cpu_flags, frozenset)
