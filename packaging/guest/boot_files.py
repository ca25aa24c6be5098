"""The guest's kernel, its modules, and the small initramfs that mounts the system disk.

The kernel is Debian's generic one (``linux-image-<arch>``), not its cloud kernel: the cloud
kernel has no 9p, and the shared folders are virtio-9p, the one file sharing QEMU has on
macOS hosts. Its virtio drivers and ext4 are modules, and its deb has no modules.dep: a
subset of the modules goes into the system image with a modules.dep made here, and the
initramfs carries only what mounts the system disk (virtio, ext4), in the order that file
gives.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# what the engine may load (overlay, bridges, netfilter, fuse...), relative to kernel/
MODULE_DIRS = ("drivers/virtio", "drivers/char/hw_random", "drivers/block/virtio_blk.ko",
               "drivers/block/loop.ko", "drivers/block/nbd.ko", "drivers/char/virtio_console.ko",
               "drivers/firmware/qemu_fw_cfg.ko", "drivers/net/virtio_net.ko",
               "drivers/net/net_failover.ko", "drivers/net/veth.ko", "drivers/net/macvlan.ko",
               "drivers/net/ipvlan", "drivers/net/vxlan", "drivers/net/dummy.ko",
               "drivers/net/tun.ko", "drivers/net/wireguard", "fs/overlayfs", "fs/fuse",
               "fs/erofs", "fs/squashfs", "fs/binfmt_misc.ko", "fs/netfs", "fs/fscache",
               "net/core", "net/bridge", "net/netfilter", "net/ipv4", "net/ipv6", "net/802",
               "net/llc", "net/vmw_vsock", "net/packet", "net/8021q", "net/xfrm",
               "net/key", "net/unix", "net/tls", "net/psample", "lib", "crypto",
               "fs/ext4", "fs/jbd2", "fs/mbcache.ko", "fs/9p", "net/9p")
# What the initramfs loads (each after its dependencies) to find the system disk, per arch.
# Both kernels have virtio and ext4 as modules (and crc32c, which ext4 asks the crypto API
# for, with no module dependency to say so); what else a boot needs is built in: on
# amd64 the 8250 serial console, on arm64 (QEMU's `virt`) the PCIe host bridge
# (pci-host-generic, ECAM), the PL011 console and the GICv3.
BOOT_MODULES = {"amd64": ("virtio_pci", "virtio_blk", "virtio_net", "crc32c_generic", "ext4"),
                "arm64": ("virtio_pci", "virtio_blk", "virtio_net", "crc32c_generic", "ext4")}


def kernel_package(arch: str) -> str:
    return f"linux-image-{arch}"


@dataclass(frozen=True)
class Kernel:
    version: str
    vmlinuz: Path
    modules: Path  # lib/modules/<version> as the deb ships it
    busybox: Path  # busybox-static, for the initramfs


def fetch(work: Path, arch: str, suite: str) -> Kernel:
    """Unpacks the kernel and busybox-static for the arch (mmdebstrap's extract: runs nothing)."""
    subprocess.run(["mmdebstrap", "--variant=extract", f"--architectures={arch}", "--quiet",
                    f"--include=busybox-static,{kernel_package(arch)}", suite, str(work)],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    (vmlinuz,) = (work / "boot").glob("vmlinuz-*")
    version = vmlinuz.name.removeprefix("vmlinuz-")
    vmlinuz = unpacked(vmlinuz)
    modules = next(p for p in (work / "lib/modules" / version, work / "usr/lib/modules" / version)
                   if p.is_dir())
    busybox = next(p for p in (work / "bin/busybox", work / "usr/bin/busybox") if p.exists())
    return Kernel(version, vmlinuz, modules, busybox)


XZ_MAGIC = b"\xfd7zXZ\x00"


def unpacked(vmlinuz: Path) -> Path:
    """The kernel as QEMU boots it fastest. Debian's generic amd64 kernel is an XZ-packed
    bzImage, and unpacking XZ under TCG took 3.5 s of every cold boot here (the cloud
    kernel's LZ4 took a fraction): its ELF ``vmlinux`` is taken out at build time instead,
    and QEMU starts it directly through its PVH entry point (wall time to userspace 1.6 s
    against 5.2 s, and 2.2 s for the cloud kernel). Any other kernel is kept as it is
    (arm64's is an uncompressed Image already)."""
    import lzma

    data = vmlinuz.read_bytes()
    if data[0x202:0x206] != b"HdrS":  # not an x86 bzImage (its boot protocol's signature)
        return vmlinuz
    start = data.find(XZ_MAGIC)
    try:
        elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:]) \
            if start >= 0 else b""
    except lzma.LZMAError:
        return vmlinuz
    if not elf.startswith(b"\x7fELF"):
        return vmlinuz
    target = vmlinuz.with_name(vmlinuz.name.replace("vmlinuz", "vmlinux"))
    target.write_bytes(elf)
    return target


def unwanted(module: Path) -> bool:
    """The kernel's own self-tests (the generic kernel's test_bpf alone is 4.7 MB), LLC
    type 2 (the bridge needs only llc), IPVS and ipset (swarm's, and the engine has no
    swarm): 7 MB the 150 MB goal has no room for."""
    return (module.name.startswith("test_") or module.name in ("selftests.ko", "llc2.ko")
            or module.parent.name in ("ipvs", "ipset"))


def install_modules(kernel: Kernel, root: Path) -> list[str]:
    """Copies MODULE_DIRS into the image and runs depmod there; returns depmod's warnings."""
    target = root / "usr/lib/modules" / kernel.version
    for relative in MODULE_DIRS:
        source = kernel.modules / "kernel" / relative
        files = [source] if source.is_file() else sorted(source.rglob("*.ko*"))
        for path in (p for p in files if not unwanted(p)):
            dest = target / path.relative_to(kernel.modules)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if (kernel.modules / name).exists():
            (target / name).write_bytes((kernel.modules / name).read_bytes())
    # (no -e: the deb's System.map is a placeholder, so every symbol would look unknown)
    done = subprocess.run(["depmod", "-b", str(root), kernel.version],
                          check=True, capture_output=True, text=True)
    return done.stderr.splitlines()


def load_order(modules_dir: Path, wanted: tuple[str, ...]) -> list[str]:
    """The .ko paths to insmod, each after what it needs, from the image's modules.dep."""
    deps: dict[str, list[str]] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        module, _, needs = line.partition(":")
        deps[module] = needs.split()
    by_name = {Path(m).name.removesuffix(".ko"): m for m in deps}
    order: list[str] = []

    def visit(module: str) -> None:
        for needed in deps[module]:
            visit(needed)
        if module not in order:
            order.append(module)

    for name in wanted:
        visit(by_name[name])
    return order


def newc_entry(name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
               ino: int = 0) -> bytes:
    """One member of a cpio "newc" archive (the initramfs format), owned by root, time 0."""
    encoded = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
    header = b"070701" + b"".join(b"%08X" % f for f in fields) + encoded
    header += b"\0" * (-len(header) % 4)
    return header + data + b"\0" * (-len(data) % 4)


def write_initramfs(arch: str, kernel_version: str, busybox: Path, root: Path, init: Path,
                    output: Path) -> list[str]:
    """Writes the (uncompressed: nothing to inflate under TCG) initramfs; returns the module order."""
    modules_dir = root / "usr/lib/modules" / kernel_version
    order = load_order(modules_dir, BOOT_MODULES[arch])
    names = [Path(m).name.removesuffix(".ko") for m in order]

    def members() -> Iterator[tuple[str, int, bytes, tuple[int, int]]]:
        for directory in ("bin", "dev", "proc", "sys", "newroot", "modules"):
            yield directory, stat.S_IFDIR | 0o755, b"", (0, 0)
        yield "dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)
        yield "init", stat.S_IFREG | 0o755, init.read_bytes(), (0, 0)
        yield "bin/busybox", stat.S_IFREG | 0o755, busybox.read_bytes(), (0, 0)
        yield "modules.load", stat.S_IFREG | 0o644, ("\n".join(names) + "\n").encode(), (0, 0)
        for module, name in zip(order, names, strict=True):
            yield f"modules/{name}.ko", stat.S_IFREG | 0o644, (modules_dir / module).read_bytes(), (0, 0)

    with open(output, "wb") as f:
        for ino, (name, mode, data, rdev) in enumerate(members(), start=1):
            f.write(newc_entry(name, mode, data, rdev, ino))
        f.write(newc_entry("TRAILER!!!", 0))
        f.write(b"\0" * (-f.tell() % 512))
    os.chmod(output, 0o644)
    return names

