"""Booting Cove's guest image under QEMU with TCG, as the host side will: disks found by
serial, a seed tar with the keys, SSH forwarded from a free port on 127.0.0.1.

A boot gets its own temp directory (seed, console log); QEMU is killed and the directory
removed when the test is done, whatever happened.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from cove.vm.control import ControlPort
from cove.vm.errors import BootFailed
from cove.vm.qemu import Accel, Host, MachineConfig, MachineFiles, cmdline

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "packaging/guest/build"
STAGE = re.compile(r"cove-init: (\d+\.\d+)s (.*)")
FAILED = ("init failed", "Kernel panic", "not answering", "not listening")


def build_image(arch: str = "amd64") -> GuestImage:
    """packaging/guest/build: a cold build takes minutes, then its cache answers at once."""
    done = subprocess.run(
        [str(BUILD), "--arch", arch], capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stderr[-3000:]
    path = Path(done.stdout.strip().splitlines()[-1])
    return GuestImage(path, json.loads((path / "manifest.json").read_text()))


@dataclass(frozen=True)
class GuestImage:
    path: Path
    manifest: dict[str, object]


@dataclass
class Guest:
    console: Path
    ssh_port: int
    client_key: str  # OpenSSH private key file
    host_key: str  # "ssh-ed25519 AAAA..." the guest must present
    process: subprocess.Popen[bytes] | None  # None: QEMU daemonized itself (qemu_pid)
    qemu_pid: int = 0

    def running(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        try:  # not our child, so maybe a zombie for a while: that is not running
            stat = Path(f"/proc/{self.qemu_pid}/stat").read_text()
        except FileNotFoundError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"

    def console_text(self) -> str:
        return self.console.read_text(errors="replace")

    def stages(self) -> list[tuple[float, str]]:
        """The ``cove-init: 1.23s what`` lines, in console order."""
        return [(float(m[1]), m[2].strip()) for m in STAGE.finditer(self.console_text())]

    def wait_for(self, text: str, timeout: float) -> None:
        """Polls the console until text shows; fails on a boot failure, QEMU's exit or the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            console = self.console_text()
            if text in console:
                return
            failure = next((f for f in FAILED if f in console), None)
            if failure or not self.running():
                pytest.fail(
                    f"guest failed ({failure or 'QEMU exited'}); console:\n{console[-3000:]}"
                )
            time.sleep(0.1)
        pytest.fail(f"no {text!r} after {timeout:.0f}s; console:\n{self.console_text()[-3000:]}")

    def ssh(self, command: str, timeout: float = 60.0) -> tuple[int, str, str]:
        """Runs a command over SSH as root, trusting only the seeded host key."""
        import paramiko

        client = paramiko.SSHClient()
        keytype, blob = self.host_key.split()[:2]
        client.get_host_keys().add(f"[127.0.0.1]:{self.ssh_port}", keytype,
                                   paramiko.PKey.from_type_string(keytype, base64.b64decode(blob)))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect("127.0.0.1", self.ssh_port, username="root", key_filename=self.client_key,
                           look_for_keys=False, allow_agent=False, timeout=timeout,
                           banner_timeout=timeout, auth_timeout=timeout)
            _, stdout, stderr = client.exec_command(command, timeout=timeout)
            out, err = stdout.read().decode(), stderr.read().decode()
            return stdout.channel.recv_exit_status(), out, err
        finally:
            client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_keys(directory: Path) -> tuple[str, str, bytes]:
    """A client key file, the host key's public line, and the seed tar that hands both over."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private, public = serialization.PrivateFormat.OpenSSH, serialization.PublicFormat.OpenSSH
    pem, ssh = serialization.Encoding.PEM, serialization.Encoding.OpenSSH
    host, client = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    client_file = directory / "client_key"
    client_file.write_bytes(client.private_bytes(pem, private, serialization.NoEncryption()))
    client_file.chmod(0o600)
    members = {
        "authorized_keys": client.public_key().public_bytes(ssh, public) + b"\n",
        "ssh_host_ed25519_key": host.private_bytes(pem, private, serialization.NoEncryption()),
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600
            archive.addfile(info, io.BytesIO(data))
    seed = out.getvalue()
    return str(client_file), host.public_key().public_bytes(ssh, public).decode(), seed + b"\0" * (-len(seed) % 512)


@contextmanager
def boot(image: GuestImage, data_disk: Path | None = None, append: str = "") -> Iterator[Guest]:
    """Boots the image (TCG, q35, 512 MB, one CPU) with a seed and the given data disk."""
    with tempfile.TemporaryDirectory(prefix="cove-guest-") as tmp:
        work = Path(tmp)
        client_key, host_key, seed = make_keys(work)
        (work / "seed.tar").write_bytes(seed)
        port = free_port()
        disks = [("system", image.path / "system.img", "raw", "readonly=on"),
                 ("seed", work / "seed.tar", "raw", "readonly=on")]
        if data_disk is not None:
            disks.append(("data", data_disk, "qcow2", "discard=unmap"))
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-M", "q35", "-m", "512",
                "-smp", "1", "-nographic", "-nodefaults", "-no-user-config", "-no-reboot",
                "-serial", f"file:{work / 'console.log'}", "-monitor", "none",
                "-kernel", str(image.path / "vmlinuz"), "-initrd", str(image.path / "initramfs.img"),
                "-append", f"{image.manifest['kernel_cmdline']} {append}".strip(),
                "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22",
                "-device", "virtio-net-pci,netdev=n0,romfile="]
        for name, path, fmt, options in disks:
            argv += ["-drive", f"if=none,id={name},file={path},format={fmt},{options}",
                     "-device", f"virtio-blk-pci,drive={name},serial=cove-{name}"]
        (work / "console.log").touch()
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        try:
            yield Guest(work / "console.log", port, client_key, host_key, process)
        finally:
            process.kill()
            process.wait(timeout=30)
            if process.stderr is not None:
                process.stderr.close()


@contextmanager
def boot_as_machine(
    image: GuestImage,
    host: Host,
    accel: Accel,
    cpus: int = 1,
    memory_mib: int = 512,
    timeout: float = 180.0,
) -> Iterator[Guest]:
    """Boots the image with the argv ``cove.vm.qemu.cmdline`` builds for ``host`` (daemonized,
    QMP, the control port), a new data disk and a seed, and gives init the host's go as
    ``machine start`` does; yields once init has had it. QEMU is killed at the end."""
    with tempfile.TemporaryDirectory(prefix="cove-guest-") as tmp:
        work = Path(tmp)
        client_key, host_key, seed = make_keys(work)
        (work / "seed.tar").write_bytes(seed)
        files = MachineFiles(
            kernel=str(image.path / "vmlinuz"),
            initrd=str(image.path / "initramfs.img"),
            system_disk=str(image.path / "system.img"),
            data_disk=str(new_data_disk(work)),
            seed_disk=str(work / "seed.tar"),
            serial_log=str(work / "console.log"),
            pidfile=str(work / "qemu.pid"),
            qmp_socket=str(work / "qmp.sock"),
            control_socket=str(work / "control.sock"),
        )
        port = free_port()
        config = MachineConfig(
            cpus=cpus,
            memory_mib=memory_mib,
            ssh_port=port,
            kernel_args=str(image.manifest["kernel_cmdline"]).split(),
        )
        started = subprocess.run(
            cmdline(host, accel, config, files), capture_output=True, text=True, timeout=60
        )
        assert started.returncode == 0, started.stderr
        guest = Guest(
            work / "console.log",
            port,
            client_key,
            host_key,
            None,
            int((work / "qemu.pid").read_text()),
        )
        try:
            deadline = time.monotonic() + timeout
            try:
                control = ControlPort.connect(work / "control.sock", guest.running, deadline)
                try:
                    control.wait_ready(guest.running, deadline)
                    control.go()
                finally:
                    control.close()
            except BootFailed as exc:
                pytest.fail(f"{exc}; console:\n{guest.console_text()[-3000:]}")
            yield guest
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(guest.qemu_pid, signal.SIGKILL)
            gone = time.monotonic() + 30
            while guest.running() and time.monotonic() < gone:
                time.sleep(0.05)


def new_data_disk(directory: Path, size: str = "2G") -> Path:
    disk = directory / "data.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), size], check=True)
    return disk
