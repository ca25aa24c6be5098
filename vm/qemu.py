"""The QEMU command line, built as data.

Every host Cove runs on gets its argv from these pure functions, so the macOS (HVF) and
Windows (WHPX) lines are unit-tested on Linux without QEMU. What differs by host:

- the accelerator and the CPU model: ``hvf``/``whpx``/``kvm`` pass the host CPU through;
  TCG emulates ``max``, with one translation thread per vCPU;
- the machine type: ``q35`` on x86_64 (``microvm`` boots faster here but hangs in about one
  boot of twelve), ``virt`` on arm64;
- how QMP is reached and how QEMU leaves the foreground: Unix sockets and ``-daemonize``
  where the host has them, loopback TCP and a detached process on Windows.

Disks: the system image read-only (an upgrade replaces it whole); the data disk qcow2
with ``discard=unmap`` so that deleting images in the guest gives host space back; the
seed disk (keys, settings) read-only. Networking is user mode, with SSH forwarded from
127.0.0.1 only.

Shared folders are virtio-9p devices, one per folder, tagged ``cove-share<N>``: QEMU has 9p
on Linux and macOS hosts and not on Windows. The guest mounts each tag at the folder's own
path (the go message names the paths). They are on the command line, so changing them
changes the saved state's key and the next start boots cold.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from cove.guest_agent.protocol import CONTROL_PORT


class Accel(enum.Enum):
    HVF = "hvf"
    WHPX = "whpx"
    KVM = "kvm"
    TCG = "tcg"


class HostOS(enum.Enum):
    LINUX = "linux"
    MACOS = "darwin"
    WINDOWS = "windows"


class Arch(enum.Enum):
    X86_64 = "x86_64"
    ARM64 = "aarch64"

    @classmethod
    def from_machine(cls, machine: str) -> Arch:
        """``platform.machine()`` names (``AMD64`` on Windows, ``arm64`` on macOS)."""
        name = machine.lower()
        if name in ("x86_64", "amd64"):
            return cls.X86_64
        if name in ("aarch64", "arm64"):
            return cls.ARM64
        raise ValueError(f"no Cove guest for the {machine} architecture")


@dataclass(frozen=True)
class Host:
    os: HostOS
    arch: Arch


def native_accelerator(host: Host) -> Accel:
    """The hardware accelerator a host can have (it may still be unusable: probe it)."""
    return {HostOS.MACOS: Accel.HVF, HostOS.WINDOWS: Accel.WHPX,
            HostOS.LINUX: Accel.KVM}[host.os]


@dataclass(frozen=True)
class MachineFiles:
    """Where one machine's files are (named once, in ``vm.paths``)."""

    kernel: str
    initrd: str
    system_disk: str
    data_disk: str
    seed_disk: str
    serial_log: str
    pidfile: str
    qmp_socket: str  # a Unix socket path; on Windows unused (QMP on loopback TCP)
    control_socket: str = ""  # the guest's control port (Unix socket; Windows: TCP)
    bios: str = ""  # x86: qboot, which starts the kernel ~0.7 s sooner than SeaBIOS


@dataclass(frozen=True)
class MachineConfig:
    cpus: int
    memory_mib: int
    ssh_port: int  # on 127.0.0.1 of the host
    qmp_port: int = 0  # Windows only: QMP on 127.0.0.1:qmp_port
    control_port: int = 0  # Windows only: the control port on 127.0.0.1:control_port
    kernel_args: Sequence[str] = ()  # the guest image's own (its manifest names them)
    shares: Sequence[tuple[str, bool]] = ()  # (host folder, read-only), shared at that path


# server=on,wait=off (6.0) and virtio-balloon's free-page-reporting (5.1) are used above
MIN_VERSION = (6, 0)


def parse_version(text: str) -> tuple[int, int]:
    """(major, minor) from ``qemu-system-* --version`` ("QEMU emulator version 7.2.15 …")."""
    import re

    found = re.search(r"version (\d+)\.(\d+)", text)
    if found is None:
        raise ValueError(f"cannot read QEMU's version from {text[:80]!r}")
    return int(found.group(1)), int(found.group(2))


def binary(host: Host) -> str:
    name = "qemu-system-" + host.arch.value
    return name + ".exe" if host.os is HostOS.WINDOWS else name


def accel_args(host: Host, accel: Accel, cpus: int) -> list[str]:
    if accel is Accel.TCG:
        # one translation thread per vCPU: single-threaded TCG makes -smp 2 no faster.
        # arm64: the guest keeps pointer authentication, with QEMU's own algorithm instead of
        # QARMA5, which is slow to emulate (measured: the Debian guest's kernel stage 4.7-5.8 s
        # with QARMA5, 1.4-1.9 s with this; the boot to a ready engine 32-43 s, 16-20 s)
        cpu = "max,pauth-impdef=on" if host.arch is Arch.ARM64 else "max"
        return ["-accel", "tcg,thread=multi" if cpus > 1 else "tcg", "-cpu", cpu]
    if accel is Accel.WHPX:
        # WHPX's in-kernel irqchip fails to start Linux guests on many Windows builds
        return ["-accel", "whpx,kernel-irqchip=off", "-cpu", "max"]
    return ["-accel", accel.value, "-cpu", "host"]


def machine_args(host: Host) -> list[str]:
    if host.arch is Arch.ARM64:
        # highmem for >3 GiB of RAM; gic v3 is what HVF and KVM on arm64 provide
        return ["-machine", "virt,highmem=on,gic-version=max"]
    return ["-machine", "q35"]


def disk_args(files: MachineFiles) -> list[str]:
    """The guest finds each disk by its serial (``cove-<name>``), never by its order."""
    drives = [
        ("system", files.system_disk, "raw", "readonly=on"),
        ("data", files.data_disk, "qcow2", "discard=unmap,detect-zeroes=unmap"),
        ("seed", files.seed_disk, "raw", "readonly=on"),
    ]
    argv: list[str] = []
    for name, path, fmt, options in drives:
        argv += ["-drive", f"if=none,id={name},file={_escape(path)},format={fmt},{options}",
                 "-device", f"virtio-blk-pci,drive={name},serial=cove-{name}"]
    return argv


def network_args(config: MachineConfig) -> list[str]:
    return ["-netdev", f"user,id=net0,hostfwd=tcp:127.0.0.1:{config.ssh_port}-:22",
            # romfile=: no iPXE ROM (not installed everywhere, and the guest never PXE boots)
            "-device", "virtio-net-pci,netdev=net0,romfile="]


SHARE_TAG = "cove-share{}"
NO_9P_ON_WINDOWS = "QEMU on Windows has no virtio-9p: shared folders are not available there"


def share_tag(index: int) -> str:
    """The 9p mount tag of the ``index``-th shared folder (tags are at most 31 bytes)."""
    return SHARE_TAG.format(index)


def share_args(host: Host, config: MachineConfig) -> list[str]:
    """One virtio-9p device per shared folder. ``security_model=none``: the files are the
    host user's (QEMU runs as that user), so what a container's root writes ends up owned
    by the user on the host, and a chown in the guest is not passed on. ``multidevs=remap``
    keeps inode numbers unique across host filesystems mounted under a shared folder."""
    if not config.shares:
        return []
    if host.os is HostOS.WINDOWS:
        raise ValueError(NO_9P_ON_WINDOWS)
    argv: list[str] = []
    for index, (path, readonly) in enumerate(config.shares):
        options = ",readonly=on" if readonly else ""
        argv += ["-fsdev", f"local,id=share{index},path={_escape(path)},security_model=none,"
                           f"multidevs=remap{options}",
                 "-device", f"virtio-9p-pci,fsdev=share{index},mount_tag={share_tag(index)}"]
    return argv


def control_args(host: Host, config: MachineConfig, files: MachineFiles) -> list[str]:
    """QMP, the serial console to a file, and leaving the foreground."""
    argv = ["-display", "none", "-monitor", "none",
            "-chardev", f"file,id=console,path={_escape(files.serial_log)}",
            "-serial", "chardev:console"]
    if host.os is HostOS.WINDOWS:
        # no -daemonize on Windows: the driver starts QEMU detached and records the pid
        return argv + ["-qmp", f"tcp:127.0.0.1:{config.qmp_port},server=on,wait=off"]
    return argv + ["-qmp", f"unix:{_escape(files.qmp_socket)},server=on,wait=off",
                   "-daemonize", "-pidfile", files.pidfile]


def control_port_args(host: Host, config: MachineConfig, files: MachineFiles) -> list[str]:
    """The virtio-serial line init waits on for the host's go (``cove.guest_agent.control``).
    QEMU serves it as a socket without waiting for a client: ``machine start`` connects."""
    if host.os is HostOS.WINDOWS:
        backend = f"socket,id=control,host=127.0.0.1,port={config.control_port},server=on,wait=off"
    else:
        backend = f"socket,id=control,path={_escape(files.control_socket)},server=on,wait=off"
    return ["-device", "virtio-serial-pci,id=vserial", "-chardev", backend,
            "-device", f"virtserialport,bus=vserial.0,chardev=control,name={CONTROL_PORT}"]


# QEMU 8.2 added the file: migration URI; before it, Windows has no way to save a state
FILE_MIGRATION = (8, 2)
STATE_FD_NAME = "cove-state"  # what QMP getfd names the saved state's file


def migrate_uri(host: Host, version: tuple[int, int], path: str) -> str:
    """QMP ``migrate``'s target for a saved state. Where file descriptors can be passed,
    QEMU writes straight to a file the driver opened and handed over (``getfd``), so the
    file is whole when the migration completes; ``exec:cat > …`` would race QEMU killing
    the ``cat`` as it closes the pipe."""
    if host.os is not HostOS.WINDOWS:
        return f"fd:{STATE_FD_NAME}"
    if version >= FILE_MIGRATION:
        return f"file:{path}"
    raise ValueError(_no_saved_state(version))


def incoming_uri(host: Host, version: tuple[int, int], path: str, fd: int) -> str:
    """``-incoming``'s value restoring the saved state at ``path``, open as ``fd`` (which
    the driver passes on to QEMU) where descriptors can be passed."""
    if host.os is not HostOS.WINDOWS:
        return f"fd:{fd}"
    if version >= FILE_MIGRATION:
        return f"file:{path}"
    raise ValueError(_no_saved_state(version))


def _no_saved_state(version: tuple[int, int]) -> str:
    return (f"QEMU {version[0]}.{version[1]} cannot save a VM's state to a file on Windows "
            f"(QEMU {FILE_MIGRATION[0]}.{FILE_MIGRATION[1]} can)")


def boot_args(config: MachineConfig, files: MachineFiles) -> list[str]:
    bios = ["-bios", files.bios] if files.bios else []
    return [*bios, "-kernel", files.kernel, "-initrd", files.initrd,
            "-append", " ".join(config.kernel_args)]


def firmware_near(qemu: str, arch: Arch) -> str:
    """qboot beside this QEMU (``<prefix>/share/qemu/``, or the exe's own folder on
    Windows), for x86 guests; "" when it is not there (SeaBIOS then, slower but fine)."""
    import os

    if arch is not Arch.X86_64:
        return ""
    here = os.path.dirname(os.path.realpath(qemu))
    for folder in (os.path.join(here, "..", "share", "qemu"), here):
        candidate = os.path.normpath(os.path.join(folder, "qboot.rom"))
        if os.path.isfile(candidate):
            return candidate
    return ""


def cmdline(host: Host, accel: Accel, config: MachineConfig, files: MachineFiles,
            incoming: str = "") -> list[str]:
    """The whole argv of one machine's QEMU; with ``incoming``, it restores a saved state
    instead of booting (the rest of the line must be what the state was saved with)."""
    if accel is not Accel.TCG and accel is not native_accelerator(host):
        raise ValueError(f"{accel.value} is not an accelerator of {host.os.value}")
    return [
        # -no-reboot: a guest that panics or reboots ends QEMU, so a failed boot is seen
        binary(host), "-name", "cove", "-nodefaults", "-no-user-config", "-no-reboot",
        *machine_args(host),
        *accel_args(host, accel, config.cpus),
        "-smp", str(config.cpus), "-m", f"{config.memory_mib}M",
        *boot_args(config, files),
        *disk_args(files),
        *network_args(config),
        *share_args(host, config),
        # free pages go back to the host: a VM that once used 8 GiB does not keep it
        "-device", "virtio-balloon-pci,free-page-reporting=on",
        "-device", "virtio-rng-pci",
        *control_port_args(host, config, files),
        *control_args(host, config, files),
        *(["-incoming", incoming] if incoming else []),
    ]


def _escape(path: str) -> str:
    """A path inside a QEMU option string: commas are doubled, as QEMU's parser wants."""
    return path.replace(",", ",,")
