"""Finding the guest image a machine boots: the kernel, initramfs and read-only system disk
that ``packaging/guest/build`` leaves under the cache dir, one directory per hash of its
inputs, each with a ``manifest.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cove.vm.errors import MachineError

# the manifest's names for the architectures (Debian's)
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


class NoGuestImage(MachineError):
    """No guest image for this architecture was built or installed."""


@dataclass(frozen=True)
class GuestImage:
    root: Path
    manifest: dict[str, object]

    @property
    def key(self) -> str:
        """Identifies the image: a machine started from another key is an upgrade."""
        return self.root.name

    @property
    def kernel(self) -> Path:
        return self.root / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.root / "initramfs.img"

    @property
    def system_disk(self) -> Path:
        return self.root / "system.img"

    @property
    def kernel_args(self) -> tuple[str, ...]:
        return tuple(str(self.manifest.get("kernel_cmdline", "")).split())


def find(images_dir: Path, arch: str) -> GuestImage:
    """The newest complete image for ``arch`` (a Python ``Arch`` value: x86_64, aarch64)."""
    wanted = DEBIAN_ARCH.get(arch, arch)
    found: list[tuple[float, GuestImage]] = []
    for manifest_path in images_dir.glob("*/manifest.json"):
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            continue
        image = GuestImage(manifest_path.parent, manifest)
        whole = all(p.exists() for p in (image.kernel, image.initrd, image.system_disk))
        if whole and manifest.get("arch") == wanted:
            found.append((manifest_path.stat().st_mtime, image))
    if not found:
        raise NoGuestImage(
            f"no Cove guest image for {wanted} in {images_dir}: build one with "
            "packaging/guest/build (as root, on Debian) or install Cove's guest package")
    return max(found, key=lambda pair: pair[0])[1]
