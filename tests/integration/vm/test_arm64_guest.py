"""The Apple-silicon guest is real: ``packaging/guest/build --arch arm64`` builds it on this
x86-64 host (its maintainer scripts under qemu-user), and it boots under
``qemu-system-aarch64`` with TCG, with the argv ``cove.vm.qemu.cmdline`` builds for an arm64
host, to a running coved that answers over pinned-key SSH.

Marked ``arm64_guest`` (``-m "not arm64_guest"`` leaves it out): measured here, a cold build
takes about 3 minutes, then the cache answers at once, and the boot to ``coved ready`` some
15-25 s under TCG.
"""

from __future__ import annotations

import shutil
import time

import pytest

from cove.vm.qemu import Accel, Arch, Host, HostOS
from tests.integration.vm.test_guest_image import PING, READY
from tests.support.guest_vm import GuestImage, boot_as_machine, build_image

pytestmark = pytest.mark.arm64_guest

BOOT_TIMEOUT = 300.0  # an emulated arm64 on a loaded 2-core x86 machine: a boot takes 15-40 s
# init's stages that every boot with a data disk passes, in this order (the console has more)
MILESTONES = ("kernel", "initramfs modules", "system disk", "mounts", "modules", "network",
              "ready for the host", "go from the host", "data disk", "sshd", READY)


@pytest.fixture(scope="module")
def arm64_image() -> GuestImage:
    for tool in ("qemu-system-aarch64", "qemu-img", "mmdebstrap", "qemu-aarch64-static"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/setup --test installs it)")
    return build_image("arm64")


def test_arm64_image_has_the_arm64_kernel_packages_and_engine(arm64_image: GuestImage) -> None:
    manifest = arm64_image.manifest
    assert manifest["arch"] == "arm64"
    assert str(manifest["kernel_version"]).endswith("-arm64")
    assert "console=ttyAMA0" in str(manifest["kernel_cmdline"]).split()
    packages = manifest["packages"]
    assert isinstance(packages, dict)
    assert {"python3", "dropbear-bin", "busybox", "e2fsprogs"} <= packages.keys()
    wheels = manifest["wheels"]
    assert isinstance(wheels, dict)
    # the engine's own wheel, and its C-extension dependencies built for aarch64
    assert any(name.startswith("cove-") for name in wheels)
    binary = [name for name in wheels if not name.endswith("-none-any.whl")]
    assert binary and all("aarch64" in name for name in binary), binary
    sizes = manifest["sizes"]
    assert isinstance(sizes, dict)
    for name in ("system.img", "vmlinuz", "initramfs.img"):
        assert sizes[name] == (arm64_image.path / name).stat().st_size > 0


def test_arm64_guest_boots_under_qemu_system_aarch64_to_coved_and_answers_over_ssh(
        arm64_image: GuestImage) -> None:
    began = time.monotonic()
    with boot_as_machine(arm64_image, Host(HostOS.LINUX, Arch.ARM64), Accel.TCG,
                         timeout=BOOT_TIMEOUT) as guest:
        guest.wait_for(READY, BOOT_TIMEOUT)
        ready = time.monotonic() - began
        stages = guest.stages()
        seen = [m for m in MILESTONES if any(text.startswith(m) for _, text in stages)]
        order = [next(i for i, (_, text) in enumerate(stages) if text.startswith(m))
                 for m in seen]
        assert (seen, order) == (list(MILESTONES), sorted(order)), guest.console_text()
        assert any("blank: formatted ext4" in text for _, text in stages)

        status, out, err = guest.ssh("uname -m; uname -r")
        assert status == 0, err
        assert out.split() == ["aarch64", str(arm64_image.manifest["kernel_version"])]
        status, out, err = guest.ssh(PING)
        assert status == 0, err
        assert out.startswith("HTTP/1.") and " 200 " in out.splitlines()[0]
        print(f"\narm64 guest under TCG: coved ready {ready:.1f}s after QEMU started; stages: "
              + ", ".join(f"{text.split(':')[0]} {t:.2f}s" for t, text in stages))
