"""The guest image boots under QEMU (TCG) to a running coved, reachable over pinned-key SSH.

Three boots: a fresh data disk (formatted at first boot, then a clean power-off on
SIGTERM), the same disk again (its data kept, not formatted again), and no data disk with
DHCP (a tmpfs, said on the console; coved killed and restarted by init).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.support.guest_vm import GuestImage, boot, build_image, new_data_disk

READY = "coved ready"
BOOT_TIMEOUT = 180.0  # TCG on a loaded 2-core machine; a boot takes 5-20 s
STAGES = ["kernel", "initramfs modules", "system disk", "mounts", "modules", "network", "agent",
          "engine loaded", "data disk", "sshd", READY]
PING = ("python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/cove.sock'); "
        "s.sendall(b'GET /_ping HTTP/1.0\\r\\n\\r\\n'); "
        "print(b''.join(iter(lambda: s.recv(4096), b'')).decode())\"")


def stage_names(stages: list[tuple[float, str]]) -> list[str]:
    """Each stage line's name: the words before the details (``network: eth0 ...`` is network)."""
    names = []
    for _, text in stages:
        name = next((s for s in STAGES if text.startswith(s)), None)
        if name is not None and name not in names:
            names.append(name)
    return names


def test_a_second_build_with_the_same_inputs_is_the_cached_image(guest_image: GuestImage) -> None:
    again = build_image()
    # (others may edit the engine's sources meanwhile: then the inputs, and the image, differ)
    same_inputs = again.manifest["inputs"] == guest_image.manifest["inputs"]
    assert (again.path == guest_image.path) == same_inputs
    if same_inputs:
        assert again.manifest["built_at"] == guest_image.manifest["built_at"]


def test_manifest_names_the_parts_and_their_sizes(guest_image: GuestImage) -> None:
    manifest = guest_image.manifest
    assert str(manifest["kernel_version"]).endswith("-amd64")
    packages = manifest["packages"]
    assert isinstance(packages, dict)
    assert {"python3", "dropbear-bin", "busybox", "e2fsprogs"} <= packages.keys()
    assert not any(name.startswith("perl") for name in packages)
    sizes = manifest["sizes"]
    assert isinstance(sizes, dict)
    for name in ("system.img", "vmlinuz", "initramfs.img"):
        assert sizes[name] == (guest_image.path / name).stat().st_size > 0
    assert sizes["system.img"] <= 150 * 2**20


def test_boots_to_coved_with_each_stage_timed_and_answers_ping_over_ssh(guest_image: GuestImage) -> None:
    with tempfile.TemporaryDirectory(prefix="cove-data-") as tmp:
        disk = new_data_disk(Path(tmp))
        with boot(guest_image, disk) as guest:
            guest.wait_for(READY, BOOT_TIMEOUT)
            stages = guest.stages()
            assert stage_names(stages) == STAGES, guest.console_text()
            times = [t for t, _ in stages]
            assert times == sorted(times)
            assert any("blank: formatted ext4" in text for _, text in stages)

            status, out, err = guest.ssh(PING)
            assert status == 0, err
            assert out.startswith("HTTP/1.") and " 200 " in out.splitlines()[0] and out.rstrip().endswith("OK")
            status, out, _ = guest.ssh("uname -r; touch /var/lib/cove/kept && echo written")
            assert out.split() == [str(guest_image.manifest["kernel_version"]), "written"]
            # init stops everything, unmounts the data disk and powers off; a second later, so
            # that this command's answer leaves before dropbear is stopped
            status, _, err = guest.ssh("sh -c 'sleep 1; kill -TERM 1' >/dev/null 2>&1 &")
            assert status == 0, err
            guest.wait_for("shutting down", 30)
            assert guest.process.wait(timeout=60) == 0

        with boot(guest_image, disk) as guest:
            guest.wait_for(READY, BOOT_TIMEOUT)
            data = next(text for _, text in guest.stages() if text.startswith("data disk"))
            assert "formatted" not in data
            status, out, _ = guest.ssh("ls /var/lib/cove/kept")
            assert (status, out.strip()) == (0, "/var/lib/cove/kept")


def test_without_a_data_disk_coved_runs_on_a_tmpfs_says_so_and_is_restarted_when_killed(
        guest_image: GuestImage) -> None:
    with boot(guest_image, None, append="cove.net=dhcp") as guest:
        guest.wait_for(READY, BOOT_TIMEOUT)
        texts = [text for _, text in guest.stages()]
        assert "no data disk: /var/lib/cove is a tmpfs, lost at power-off" in texts
        assert "network: eth0 (dhcp)" in texts
        status, out, err = guest.ssh(PING)
        assert status == 0 and " 200 " in out.splitlines()[0], err

        status, _, err = guest.ssh("kill -KILL $(cat /run/cove/coved.pid)")
        assert status == 0, err
        guest.wait_for("coved exited (signal 9); restart in", 30)
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            status, out, err = guest.ssh(PING)
            if status == 0 and " 200 " in out.splitlines()[0]:
                break
            assert time.monotonic() < deadline, f"coved not back: {err}"
            time.sleep(0.5)
