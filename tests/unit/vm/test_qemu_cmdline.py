"""The QEMU argv for each host, checked as data (no QEMU needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cove.vm.qemu import (
    MIN_VERSION,
    Accel,
    Arch,
    Host,
    HostOS,
    MachineConfig,
    MachineFiles,
    cmdline,
    firmware_near,
    incoming_uri,
    migrate_uri,
    parse_version,
)

FILES = MachineFiles(kernel="/m/vmlinuz", initrd="/m/initrd.img", system_disk="/m/system.img",
                     data_disk="/m/data.qcow2", seed_disk="/m/seed.img",
                     serial_log="/m/console.log", pidfile="/m/qemu.pid",
                     qmp_socket="/m/qmp.sock", control_socket="/s/control.sock")
CONFIG = MachineConfig(cpus=2, memory_mib=2048, ssh_port=50022, qmp_port=50023,
                       kernel_args=("console=ttyS0", "quiet", "panic=-1"))

LINUX = Host(HostOS.LINUX, Arch.X86_64)
MAC_ARM = Host(HostOS.MACOS, Arch.ARM64)
MAC_INTEL = Host(HostOS.MACOS, Arch.X86_64)
WINDOWS = Host(HostOS.WINDOWS, Arch.X86_64)


def _option(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_linux_with_kvm_passes_the_host_cpu_through() -> None:
    argv = cmdline(LINUX, Accel.KVM, CONFIG, FILES)
    assert argv[0] == "qemu-system-x86_64"
    assert _option(argv, "-accel") == ["kvm"]
    assert _option(argv, "-cpu") == ["host"]
    assert _option(argv, "-machine") == ["q35"]
    assert (_option(argv, "-smp"), _option(argv, "-m")) == (["2"], ["2048M"])


def test_tcg_fallback_emulates_max_with_a_thread_per_cpu() -> None:
    argv = cmdline(LINUX, Accel.TCG, CONFIG, FILES)
    assert _option(argv, "-accel") == ["tcg,thread=multi"]
    assert _option(argv, "-cpu") == ["max"]
    one = cmdline(LINUX, Accel.TCG, MachineConfig(cpus=1, memory_mib=512, ssh_port=1), FILES)
    assert _option(one, "-accel") == ["tcg"]


def test_arm64_tcg_emulates_max_on_virt_with_pointer_auth_that_is_fast_to_emulate() -> None:
    argv = cmdline(Host(HostOS.LINUX, Arch.ARM64), Accel.TCG, CONFIG, FILES)
    assert argv[0] == "qemu-system-aarch64"
    assert _option(argv, "-accel") == ["tcg,thread=multi"]
    assert _option(argv, "-cpu") == ["max,pauth-impdef=on"]
    assert _option(argv, "-machine") == ["virt,highmem=on,gic-version=max"]
    assert "-bios" not in argv  # qboot is x86 firmware: arm64 starts the kernel directly


def test_apple_silicon_uses_hvf_on_the_virt_machine() -> None:
    argv = cmdline(MAC_ARM, Accel.HVF, CONFIG, FILES)
    assert argv[0] == "qemu-system-aarch64"
    assert _option(argv, "-accel") == ["hvf"]
    assert _option(argv, "-cpu") == ["host"]
    assert _option(argv, "-machine")[0].startswith("virt,")


def test_intel_mac_uses_hvf_on_q35() -> None:
    argv = cmdline(MAC_INTEL, Accel.HVF, CONFIG, FILES)
    assert (argv[0], _option(argv, "-machine")) == ("qemu-system-x86_64", ["q35"])


def test_windows_uses_whpx_qmp_on_loopback_tcp_and_stays_in_the_foreground() -> None:
    argv = cmdline(WINDOWS, Accel.WHPX, CONFIG, FILES)
    assert argv[0] == "qemu-system-x86_64.exe"
    assert _option(argv, "-accel") == ["whpx,kernel-irqchip=off"]
    assert _option(argv, "-qmp") == ["tcp:127.0.0.1:50023,server=on,wait=off"]
    assert "-daemonize" not in argv and "-pidfile" not in argv


def test_unix_hosts_daemonize_with_a_pidfile_and_qmp_on_a_unix_socket() -> None:
    for host, accel in ((LINUX, Accel.KVM), (MAC_ARM, Accel.HVF)):
        argv = cmdline(host, accel, CONFIG, FILES)
        assert _option(argv, "-qmp") == ["unix:/m/qmp.sock,server=on,wait=off"]
        assert "-daemonize" in argv and _option(argv, "-pidfile") == ["/m/qemu.pid"]


def test_ssh_is_forwarded_from_loopback_only() -> None:
    argv = cmdline(LINUX, Accel.TCG, CONFIG, FILES)
    assert _option(argv, "-netdev") == ["user,id=net0,hostfwd=tcp:127.0.0.1:50022-:22"]


def test_system_disk_is_read_only_and_the_data_disk_discards() -> None:
    drives = _option(cmdline(LINUX, Accel.TCG, CONFIG, FILES), "-drive")
    assert drives == [
        "if=none,id=system,file=/m/system.img,format=raw,readonly=on",
        "if=none,id=data,file=/m/data.qcow2,format=qcow2,discard=unmap,detect-zeroes=unmap",
        "if=none,id=seed,file=/m/seed.img,format=raw,readonly=on",
    ]


def test_each_disk_carries_the_serial_the_guest_finds_it_by() -> None:
    devices = _option(cmdline(LINUX, Accel.TCG, CONFIG, FILES), "-device")
    assert [d for d in devices if d.startswith("virtio-blk")] == [
        "virtio-blk-pci,drive=system,serial=cove-system",
        "virtio-blk-pci,drive=data,serial=cove-data",
        "virtio-blk-pci,drive=seed,serial=cove-seed",
    ]


def test_commas_in_paths_are_escaped_for_qemu() -> None:
    files = MachineFiles(**{**FILES.__dict__, "data_disk": "/Users/a,b/data.qcow2"})
    drives = _option(cmdline(LINUX, Accel.TCG, CONFIG, files), "-drive")
    assert "file=/Users/a,,b/data.qcow2" in drives[1]


def test_the_console_goes_to_the_serial_log() -> None:
    argv = cmdline(LINUX, Accel.TCG, CONFIG, FILES)
    assert "file,id=console,path=/m/console.log" in _option(argv, "-chardev")
    assert _option(argv, "-serial") == ["chardev:console"]


def test_the_kernel_boots_with_the_images_own_command_line() -> None:
    argv = cmdline(LINUX, Accel.TCG, CONFIG, FILES)
    assert _option(argv, "-kernel") == ["/m/vmlinuz"]
    assert _option(argv, "-initrd") == ["/m/initrd.img"]
    assert _option(argv, "-append") == ["console=ttyS0 quiet panic=-1"]


def test_an_accelerator_of_another_host_is_refused() -> None:
    with pytest.raises(ValueError, match="hvf is not an accelerator of linux"):
        cmdline(LINUX, Accel.HVF, CONFIG, FILES)


def test_architecture_names_of_each_os() -> None:
    assert [Arch.from_machine(m) for m in ("x86_64", "AMD64", "arm64", "aarch64")] == [
        Arch.X86_64, Arch.X86_64, Arch.ARM64, Arch.ARM64]
    with pytest.raises(ValueError, match="riscv64"):
        Arch.from_machine("riscv64")


def test_a_guest_that_panics_or_reboots_ends_qemu() -> None:
    assert "-no-reboot" in cmdline(LINUX, Accel.TCG, CONFIG, FILES)


def test_qemu_versions_are_read_from_its_banner() -> None:
    assert parse_version("QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u18)\n"
                         "Copyright (c) 2003-2022 Fabrice Bellard") == (7, 2)
    assert parse_version("QEMU emulator version 5.2.0") < MIN_VERSION
    with pytest.raises(ValueError, match="cannot read QEMU's version"):
        parse_version("qemu-system-x86_64: command not found")


def test_qboot_is_used_when_given_and_found_beside_qemu(tmp_path: Path) -> None:
    files = MachineFiles(**{**FILES.__dict__, "bios": "/q/qboot.rom"})
    argv = cmdline(LINUX, Accel.TCG, CONFIG, files)
    assert _option(argv, "-bios") == ["/q/qboot.rom"]
    assert "-bios" not in cmdline(LINUX, Accel.TCG, CONFIG, FILES)
    (tmp_path / "bin").mkdir()
    (tmp_path / "share" / "qemu").mkdir(parents=True)
    qemu = tmp_path / "bin" / "qemu-system-x86_64"
    qemu.write_text("")
    assert firmware_near(str(qemu), Arch.X86_64) == ""
    (tmp_path / "share" / "qemu" / "qboot.rom").write_bytes(b"rom")
    assert firmware_near(str(qemu), Arch.X86_64) == str(tmp_path / "share" / "qemu" / "qboot.rom")
    assert firmware_near(str(qemu), Arch.ARM64) == ""


def test_the_control_port_is_a_named_virtio_serial_line_served_on_a_socket() -> None:
    argv = cmdline(LINUX, Accel.TCG, CONFIG, FILES)
    assert "socket,id=control,path=/s/control.sock,server=on,wait=off" in _option(argv, "-chardev")
    assert "virtserialport,bus=vserial.0,chardev=control,name=cove.control" in _option(argv, "-device")
    windows = cmdline(WINDOWS, Accel.WHPX, MachineConfig(
        cpus=2, memory_mib=2048, ssh_port=1, qmp_port=2, control_port=50024), FILES)
    assert ("socket,id=control,host=127.0.0.1,port=50024,server=on,wait=off"
            in _option(windows, "-chardev"))


def test_a_restore_is_the_same_line_plus_incoming() -> None:
    booted = cmdline(LINUX, Accel.TCG, CONFIG, FILES)
    restored = cmdline(LINUX, Accel.TCG, CONFIG, FILES, incoming="fd:7")
    assert restored == [*booted, "-incoming", "fd:7"]
    assert "-incoming" not in booted


def test_saved_states_go_through_a_passed_descriptor_where_the_os_has_them() -> None:
    for host in (LINUX, MAC_ARM):
        assert migrate_uri(host, (7, 2), "/m/state") == "fd:cove-state"
        assert incoming_uri(host, (7, 2), "/m/state", 9) == "fd:9"
    assert migrate_uri(WINDOWS, (8, 2), "C:/m/state") == "file:C:/m/state"
    assert incoming_uri(WINDOWS, (9, 0), "C:/m/state", -1) == "file:C:/m/state"
    with pytest.raises(ValueError, match="8.2"):
        migrate_uri(WINDOWS, (8, 1), "C:/m/state")


def test_each_shared_folder_is_a_tagged_virtio_9p_device_owned_by_the_host_user() -> None:
    config = MachineConfig(cpus=1, memory_mib=512, ssh_port=1,
                           shares=[("/home/me", False), ("/srv/a,b", True)])
    for host in (LINUX, MAC_ARM, MAC_INTEL):
        argv = cmdline(host, Accel.TCG, config, FILES)
        assert _option(argv, "-fsdev") == [
            "local,id=share0,path=/home/me,security_model=none,multidevs=remap",
            "local,id=share1,path=/srv/a,,b,security_model=none,multidevs=remap,readonly=on"]
        devices = _option(argv, "-device")
        assert "virtio-9p-pci,fsdev=share0,mount_tag=cove-share0" in devices
        assert "virtio-9p-pci,fsdev=share1,mount_tag=cove-share1" in devices
    assert "-fsdev" not in cmdline(LINUX, Accel.TCG, CONFIG, FILES)


def test_shared_folders_are_refused_on_windows_whose_qemu_has_no_9p() -> None:
    config = MachineConfig(cpus=1, memory_mib=512, ssh_port=1, shares=[("C:/Users/me", False)])
    with pytest.raises(ValueError, match="QEMU on Windows has no virtio-9p"):
        cmdline(WINDOWS, Accel.WHPX, config, FILES)
    assert "-fsdev" not in cmdline(WINDOWS, Accel.WHPX, CONFIG, FILES)
