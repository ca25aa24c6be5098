"""The guest's mounts: the kernel's filesystems, the data disk at /var/lib/cove, and the
host's shared folders (9p) at their host paths.

The system disk is mounted read-only by the initramfs; everything writable is a tmpfs
except the data disk, which holds images, containers and volumes across upgrades.
"""

from __future__ import annotations

import errno
import os
import subprocess

from cove.guest_agent import kernel
from cove.guest_agent.kernel import MS_NODEV, MS_NOEXEC, MS_NOSUID

DATA_ROOT = "/var/lib/cove"
EXT4_MAGIC_OFFSET = 1080  # s_magic: the superblock starts at 1024, the magic is 56 bytes in
EXT4_MAGIC = b"\x53\xef"
BLKFLSBUF = 0x1261  # _IO(0x12, 97)

# (fstype, target, flags, options), in mount order
EARLY_MOUNTS: tuple[tuple[str, str, int, str], ...] = (
    ("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""),
    ("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, ""),
    ("devtmpfs", "/dev", MS_NOSUID, "mode=0755"),
    ("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"),
    ("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777"),
    ("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755"),
    ("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777"),
    ("tmpfs", "/var/tmp", MS_NOSUID | MS_NODEV, "mode=1777"),
    ("cgroup2", "/sys/fs/cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate"),
)


def mount_early() -> None:
    """Mounts what every process expects; /dev may already be there (the initramfs moved it)."""
    for fstype, target, flags, options in EARLY_MOUNTS:
        if os.path.ismount(target):
            continue
        os.makedirs(target, exist_ok=True)
        kernel.mount(fstype, target, fstype, flags, options)


def disk_by_serial(serial: str) -> str | None:
    """The /dev path of the virtio disk the host gave this serial (``-device virtio-blk-pci,serial=``)."""
    try:
        names = sorted(os.listdir("/sys/block"))
    except FileNotFoundError:
        return None
    for name in names:
        try:
            with open(f"/sys/block/{name}/serial") as f:
                if f.read().strip() == serial:
                    return f"/dev/{name}"
        except OSError:
            continue
    return None


def is_ext4(device: str) -> bool:
    with open(device, "rb") as f:
        f.seek(EXT4_MAGIC_OFFSET)
        return f.read(2) == EXT4_MAGIC


def forget_cached(device: str) -> None:
    """Drops what the kernel cached of the disk's blocks. The kernel reads a disk's first
    blocks when it finds it (the partition scan); in a VM restored from a saved state,
    those pages are the disk as it was when the state was saved, and the ext4 superblock
    is among them. Without this, a disk formatted since would look blank again."""
    import fcntl

    with open(device, "rb") as f:
        fcntl.ioctl(f, BLKFLSBUF)


def mount_data(device: str | None) -> str:
    """Mounts the data disk at /var/lib/cove (formatting it if blank); says what it did."""
    if device is None:
        kernel.mount("tmpfs", DATA_ROOT, "tmpfs", 0, "mode=0711")  # containers need suid and devices
        return "no data disk: /var/lib/cove is a tmpfs, lost at power-off"
    forget_cached(device)
    note = ""
    if not is_ext4(device):
        subprocess.run(["mkfs.ext4", "-q", "-L", "cove-data", "-E", "lazy_itable_init=1,nodiscard",
                        device], check=True, stdin=subprocess.DEVNULL)
        note = " (blank: formatted ext4)"
    kernel.mount(device, DATA_ROOT, "ext4", 0, "discard")
    return f"data disk {device} on {DATA_ROOT}{note}"


# 512 KiB messages: 9p's throughput grows with msize (the default 8 KiB is several times
# slower); cache=mmap lets programs mmap files while the host's changes stay visible
NINEP_OPTIONS = "trans=virtio,version=9p2000.L,msize=524288,cache=mmap"
MS_RDONLY = 1


def mount_share(tag: str, path: str, readonly: bool) -> tuple[bool, str]:
    """Mounts the host folder QEMU tagged ``tag`` at ``path``; says what it did. The root
    filesystem is read-only: a missing top folder (``/Users`` of a macOS host, ``/home``'s
    user) is made on a tmpfs mounted over the nearest folder that cannot be written."""
    try:
        _make_mountpoint(path)
        kernel.mount(tag, path, "9p", MS_RDONLY if readonly else 0, NINEP_OPTIONS)
    except OSError as exc:
        if exc.errno == errno.ENODEV:  # no 9p filesystem in this kernel, nor a module of it
            return False, f"shared folder {path} not mounted: the guest's kernel has no 9p"
        return False, f"shared folder {path} not mounted: {exc}"
    return True, f"shared folder {path}{' (read-only)' if readonly else ''}"


def _make_mountpoint(path: str) -> None:
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path.rstrip("/")) or "/"
    _make_mountpoint(parent)
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        return
    except OSError:
        if parent == "/":
            raise OSError(f"cannot make {path} on the read-only root") from None
        # a folder of the read-only image: a tmpfs over it (it holds nothing the guest needs:
        # only folders outside the engine's own are shared) makes it writable
        kernel.mount("tmpfs", parent, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        os.mkdir(path, 0o755)
