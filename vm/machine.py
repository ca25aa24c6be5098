"""A Cove machine: one QEMU guest running the engine, and the host side around it.

``init`` makes the files (settings, keys, the data disk, the seed); ``start`` boots QEMU
with the accelerator the host really has, waits for the guest's SSH and for its engine to
answer, then starts the forwarder that serves the engine on a host Unix socket; ``stop``
asks the guest to power off (its init stops the engine and unmounts the data disk), then
QMP ``system_powerdown``, then ``quit``, then SIGKILL, each with a deadline.

What a running machine booted with is kept in ``state.json`` (QEMU's pid, the SSH port,
the accelerator, the settings and image it used), so ``status`` can say when the settings
changed since and a later command knows where to connect.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from cove.guest_agent.protocol import SharedFolder
from cove.vm import accel, guest_image, keys, qmp, saved_state, settings
from cove.vm.control import ControlPort
from cove.vm.errors import (
    BootFailed,
    HostKeyMismatch,
    MachineBusy,
    MachineError,
    MachineExists,
    NoSuchMachine,
    QemuMissing,
)
from cove.vm.forwarder import wait_for_socket
from cove.vm.paths import MachinePaths, cache_dir
from cove.vm.qemu import (
    MIN_VERSION,
    Host,
    MachineConfig,
    MachineFiles,
    binary,
    cmdline,
    firmware_near,
    incoming_uri,
    migrate_uri,
    parse_version,
    share_tag,
)
from cove.vm.seed import write_seed
from cove.vm.settings import MachineSettings

BOOT_TIMEOUT = 180.0  # TCG on a busy 2-core host; KVM/HVF boots in seconds
STOP_TIMEOUT = 30.0
SAVE_TIMEOUT = 120.0
PAUSED_ON_FULL_DISK = ("the host's disk is full: the VM paused on a write it could not make; "
                       "free space on the host, then `cove machine start` resumes it")
PORT_ATTEMPTS = 3
HOSTFWD_FAILED = "Could not set up host forwarding rule"  # QEMU's words for a taken port
RESTORE_TIMEOUT = 60.0  # loading a saved state, and then until the engine answers
CONSOLE_TAIL = 30


# forwarders outlive the process that started them, by design; kept referenced so that
# Python does not warn about a still-running child when the Popen is collected
_DETACHED: list[subprocess.Popen[bytes]] = []


@dataclass(frozen=True)
class Booted:
    """What a running machine booted with (``state.json``)."""

    qemu_pid: int
    ssh_port: int
    accel: str
    accel_reason: str
    image: str
    cpus: int
    memory_mib: int
    started_at: float
    booted_from: str = "cold boot"  # or "saved state"
    boot_seconds: float = 0.0  # from launching QEMU until the engine answered
    saved_state: str = ""  # what became of saving one, at a cold boot
    registry_mirrors: tuple[str, ...] = ()  # handed to the guest's engine at the go
    shares: tuple[str, ...] = ()  # the shared folders (PATH or PATH:ro) on QEMU's line


@dataclass
class _Boot:
    """What one start boots with, found once."""

    qemu: str
    version_text: str
    image: guest_image.GuestImage
    accel: accel.AccelChoice
    settings: MachineSettings
    files: MachineFiles
    state_key: str = ""
    note: str = ""


def this_host() -> Host:
    import platform

    from cove.vm.qemu import Arch, HostOS

    os_name = {"linux": HostOS.LINUX, "darwin": HostOS.MACOS, "win32": HostOS.WINDOWS}
    return Host(os_name.get(sys.platform, HostOS.LINUX), Arch.from_machine(platform.machine()))


def free_loopback_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (dead, not yet reaped by whoever adopted it) is
    not running."""
    if pid <= 0:
        return False
    with suppress(ChildProcessError):  # our own child (a forwarder started here): reap it
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS): kill(0) is all there is


class QemuMachine:
    def __init__(self, paths: MachinePaths, host: Host | None = None,
                 images_dir: Path | None = None) -> None:
        self.paths = paths
        self.host = host or this_host()
        self.images_dir = images_dir or Path(
            os.environ.get("COVE_GUEST_IMAGES") or cache_dir() / "guest")

    @property
    def name(self) -> str:
        return self.paths.name

    @property
    def state_path(self) -> Path:
        return self.paths.root / "state.json"

    # files ---------------------------------------------------------------
    def exists(self) -> bool:
        return self.paths.settings.exists()

    def settings(self) -> MachineSettings:
        try:
            return settings.load(self.paths.settings)
        except FileNotFoundError as exc:
            raise NoSuchMachine(f"{self.name}: VM does not exist") from exc

    def init(self, wanted: MachineSettings) -> None:
        """Settings, both key pairs, the data disk and the seed; all or nothing."""
        if self.exists():
            raise MachineExists(f"{self.name}: VM already exists")
        wanted = wanted.validated(os.cpu_count())
        qemu_img = shutil.which("qemu-img")
        if qemu_img is None:
            raise QemuMissing("qemu-img was not found: install QEMU (Debian: qemu-utils)")
        self.paths.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            client = keys.generate(f"cove-{self.name}-client")
            host_key = keys.generate(f"cove-{self.name}-host")
            keys.write(client, self.paths.client_key)
            keys.write(host_key, self.paths.host_key)
            write_seed(self.paths.seed_disk, {
                "authorized_keys": (client.public_line + "\n").encode(),
                "ssh_host_ed25519_key": host_key.private_openssh,
                "hostname": b"cove\n",
            })
            made = subprocess.run(
                [qemu_img, "create", "-q", "-f", "qcow2", str(self.paths.data_disk),
                 f"{wanted.disk_gib}G"], capture_output=True, text=True, timeout=60)
            if made.returncode != 0:
                raise MachineError(f"cannot create the data disk: {made.stderr.strip()}")
            settings.save(self.paths.settings, wanted)  # last: the machine exists from here
        except BaseException:
            shutil.rmtree(self.paths.root, ignore_errors=True)
            raise

    def set(self, **values: Any) -> MachineSettings:
        """New settings for the next start; the data disk only ever grows."""
        current = self.settings()
        wanted = current.changed(**values).validated(os.cpu_count())
        if wanted.disk_gib < current.disk_gib:
            raise MachineError(f"the disk can only grow: it is {current.disk_gib} GiB")
        if wanted.disk_gib > current.disk_gib:
            if self.booted() is not None:
                raise MachineError("stop the machine before growing its disk")
            resized = subprocess.run(
                ["qemu-img", "resize", "-q", str(self.paths.data_disk), f"{wanted.disk_gib}G"],
                capture_output=True, text=True, timeout=60)
            if resized.returncode != 0:
                raise MachineError(f"cannot grow the data disk: {resized.stderr.strip()}")
        settings.save(self.paths.settings, wanted)
        return wanted

    def remove(self) -> None:
        if not self.exists():
            raise NoSuchMachine(f"{self.name}: VM does not exist")
        self.stop()
        shutil.rmtree(self.paths.root, ignore_errors=True)
        shutil.rmtree(self.paths.sockets, ignore_errors=True)

    # state -----------------------------------------------------------------
    def booted(self) -> Booted | None:
        """What the running machine booted with; None when QEMU is not running."""
        try:
            data = json.loads(self.state_path.read_text())
            known: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                     for k, v in data.items() if k in Booted.__dataclass_fields__}
            state = Booted(**known)
        except (OSError, ValueError, TypeError):
            return None
        return state if pid_alive(state.qemu_pid) else None

    def _save_state(self, state: Booted) -> None:
        tmp = self.state_path.with_name(".state.json.tmp")
        tmp.write_text(json.dumps(asdict(state)))
        os.replace(tmp, self.state_path)

    # lifecycle ---------------------------------------------------------------
    def start(self, timeout: float = BOOT_TIMEOUT) -> Booted:
        """Restores the machine's saved state when it is valid for this start, else boots
        cold and saves one at the guest's hold point (``cove.vm.saved_state``)."""
        wanted = self.settings()
        deadline = time.monotonic() + timeout
        with self._exclusive("start"):
            running = self.booted()
            if running is not None and self._paused_on_full_disk():
                return self._resume(running, deadline)
            if running is not None:
                raise MachineBusy(f"unable to start {self.name!r}: VM already running")
            self._stop_forwarder()  # one left by a boot that crashed (QEMU killed)
            image = guest_image.find(self.images_dir, self.host.arch.value)
            qemu = shutil.which(binary(self.host))
            if qemu is None:
                raise QemuMissing(f"{binary(self.host)} was not found: install QEMU")
            boot = _Boot(qemu=qemu, version_text=_qemu_version(qemu), image=image,
                         accel=accel.choose(self.host, accel.read_host_facts(self.host)),
                         settings=wanted,
                         files=self._files(image, firmware_near(qemu, self.host.arch)))
            boot.state_key = saved_state.key(
                self._argv(boot, ssh_port=0), boot.version_text, image.key,
                self.paths.seed_disk.read_bytes(), wanted.disk_gib)
            if saved_state.valid(self.paths, boot.state_key):
                try:
                    return self._boot(boot, min(deadline, time.monotonic() + RESTORE_TIMEOUT),
                                      restore=True)
                except BootFailed as exc:  # a state QEMU cannot load: boot cold, save anew
                    saved_state.discard(self.paths)
                    first = str(exc).splitlines()[0]
                    boot.note = f"the saved state could not be restored ({first}); booted cold"
            return self._boot(boot, deadline, restore=False)

    def _paused_on_full_disk(self) -> bool:
        """QEMU pauses a guest whose disk write the host's full disk refused (``werror``'s
        default, ``enospc``): nothing is lost, and ``cont`` retries the write."""
        try:
            return qmp.run_state(self.paths.qmp_socket) == "io-error"
        except MachineError:
            return False

    def _resume(self, state: Booted, deadline: float) -> Booted:
        qmp.execute(self.paths.qmp_socket, "cont")
        if self._paused_on_full_disk():
            raise MachineError(f"{self.name!r} is still paused: the host's disk is still full")
        self._wait_for_engine(state, deadline)
        return state

    def _argv(self, boot: _Boot, ssh_port: int, incoming: str = "") -> list[str]:
        try:
            argv = cmdline(self.host, boot.accel.accel, MachineConfig(
                cpus=boot.settings.cpus, memory_mib=boot.settings.memory_mib,
                ssh_port=ssh_port, kernel_args=boot.image.kernel_args,
                shares=[(s.path, s.readonly) for s in boot.settings.shares]),
                boot.files, incoming)
        except ValueError as exc:  # shared folders on Windows: QEMU there has no 9p
            raise MachineError(str(exc)) from exc
        argv[0] = boot.qemu
        return argv

    def _boot(self, boot: _Boot, deadline: float, restore: bool) -> Booted:
        began = time.monotonic()
        self.paths.sockets.mkdir(parents=True, exist_ok=True, mode=0o700)
        for stale in (self.paths.qmp_socket, self.paths.qemu_pidfile,
                      self.paths.engine_socket, self.paths.control_socket):
            with suppress(FileNotFoundError):
                stale.unlink()
        self.paths.console_log.write_bytes(b"")
        version = parse_version(boot.version_text)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = free_loopback_port()
            launched = self._launch(boot, port, version, restore)
            if launched.returncode == 0:
                break
            # the port was free when chosen, and someone took it before QEMU bound it
            if HOSTFWD_FAILED not in launched.stderr or attempt == PORT_ATTEMPTS:
                raise BootFailed(f"QEMU did not start: {launched.stderr.strip()}")
        try:
            qemu_pid = int(self.paths.qemu_pidfile.read_text().strip())
        except (OSError, ValueError) as exc:  # QEMU removes it when it exits
            raise BootFailed("the VM stopped while booting: QEMU exited at once") from exc
        state = Booted(qemu_pid=qemu_pid,
                       ssh_port=port, accel=boot.accel.accel.value,
                       accel_reason=boot.accel.reason, image=boot.image.key,
                       cpus=boot.settings.cpus, memory_mib=boot.settings.memory_mib,
                       started_at=time.time(),
                       booted_from="saved state" if restore else "cold boot",
                       registry_mirrors=boot.settings.registry_mirrors,
                       shares=tuple(str(s) for s in boot.settings.shares))
        self._save_state(state)
        alive = functools.partial(pid_alive, state.qemu_pid)
        try:
            forwarder = self._spawn_forwarder()
            port_to_guest = ControlPort.connect(self.paths.control_socket, alive, deadline)
            try:
                saved = ""
                if restore:
                    try:
                        qmp.resume_restored(self.paths.qmp_socket, RESTORE_TIMEOUT)
                    except qmp.QMPError as exc:
                        raise BootFailed(str(exc)) from exc
                else:
                    port_to_guest.wait_ready(alive, deadline)
                    saved = self._save_guest(boot, version)
                port_to_guest.go(boot.settings.registry_mirrors, tuple(
                    SharedFolder(share_tag(i), s.path, s.readonly)
                    for i, s in enumerate(boot.settings.shares)))
                self._forwarder_listening(forwarder)
                self._wait_for_engine(state, deadline)
            finally:
                port_to_guest.close()
        except BootFailed as exc:
            self._kill(state)
            raise BootFailed(f"{exc}:\n{self.console_tail()}") from exc
        except BaseException:
            self._kill(state)
            raise
        state = replace(state, boot_seconds=round(time.monotonic() - began, 2),
                        saved_state="; ".join(filter(None, (boot.note, saved))))
        self._save_state(state)
        return state

    def _launch(self, boot: _Boot, port: int, version: tuple[int, int], restore: bool
                ) -> subprocess.CompletedProcess[str]:
        """Runs QEMU (which daemonizes once the machine is set up); a restore hands it the
        saved state as an open file."""
        fd = os.open(self.paths.saved_state, os.O_RDONLY) if restore else -1
        try:
            incoming = incoming_uri(self.host, version, str(self.paths.saved_state), fd) \
                if restore else ""
            return subprocess.run(self._argv(boot, port, incoming), capture_output=True,
                                  text=True, timeout=60, pass_fds=(fd,) if restore else ())
        finally:
            if restore:
                os.close(fd)

    def _save_guest(self, boot: _Boot, version: tuple[int, int]) -> str:
        """Saves the guest at its hold point, for the next starts; a failure (the host's
        disk full, say) costs only that: this boot goes on. Says what happened."""
        try:
            uri = migrate_uri(self.host, version, str(saved_state.pending_path(self.paths)))
        except ValueError as exc:
            return f"not saved: {exc}"
        fd = saved_state.pending_file(self.paths)
        try:
            took = qmp.save_state(self.paths.qmp_socket, uri,
                                  fd if uri.startswith("fd:") else None, SAVE_TIMEOUT)
            saved_state.commit(self.paths, fd, boot.state_key)
        except (MachineError, OSError) as exc:
            saved_state.discard(self.paths)
            with suppress(MachineError):  # never leave the guest paused
                qmp.execute(self.paths.qmp_socket, "cont")
            return f"not saved: {exc}"
        finally:
            os.close(fd)
        return f"saved in {took:.2f}s"

    def _files(self, image: guest_image.GuestImage, bios: str) -> MachineFiles:
        p = self.paths
        return MachineFiles(kernel=str(image.kernel), initrd=str(image.initrd),
                            system_disk=str(image.system_disk), data_disk=str(p.data_disk),
                            seed_disk=str(p.seed_disk), serial_log=str(p.console_log),
                            pidfile=str(p.qemu_pidfile), qmp_socket=str(p.qmp_socket),
                            control_socket=str(p.control_socket), bios=bios)

    def _wait_for_engine(self, state: Booted, deadline: float) -> None:
        """Until the guest's engine answers /_ping through the forwarder (which answers 503
        while the guest is unreachable); a dead QEMU or the deadline is a BootFailed with
        the console's tail."""
        while True:
            if not pid_alive(state.qemu_pid):
                raise BootFailed(f"the VM stopped while booting:\n{self.console_tail()}")
            if time.monotonic() > deadline:
                raise BootFailed(f"the VM did not become ready in time:\n{self.console_tail()}")
            if engine_answers(self.paths.engine_socket):
                return
            time.sleep(0.1)

    def _spawn_forwarder(self) -> subprocess.Popen[bytes]:
        """Started as soon as QEMU is, so its own start (Python, paramiko) overlaps the
        guest's boot; it answers 503 until the guest's SSH is up."""
        log = open(self.paths.forwarder_log, "ab")
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "cove.vm.forwarder_process", "--machine-root",
                 str(self.paths.root), "--sockets", str(self.paths.sockets.parent)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        self.paths.forwarder_pidfile.write_text(f"{process.pid}\n")
        _DETACHED.append(process)
        return process

    def _forwarder_listening(self, process: subprocess.Popen[bytes]) -> None:
        if not wait_for_socket(self.paths.engine_socket, 15):
            process.kill()
            raise MachineError(f"the forwarder did not start; see {self.paths.forwarder_log}")

    def console_tail(self, lines: int = CONSOLE_TAIL) -> str:
        try:
            text = self.paths.console_log.read_text(errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """False when it was not running. The guest powers itself off if it can (asked
        through the forwarder, which holds the SSH connection), else ACPI, then QMP
        ``quit``, then SIGKILL."""
        with self._exclusive("stop"):
            state = self.booted()
            if state is None:
                self._stop_forwarder()
                return False
            deadline = time.monotonic() + timeout
            forwarder = self._forwarder_pid()
            if forwarder:
                with suppress(ProcessLookupError):
                    os.kill(forwarder, signal.SIGUSR1)
            if not _wait_gone(state.qemu_pid, time.monotonic() + timeout / 2):
                with suppress(MachineError):
                    qmp.execute(self.paths.qmp_socket, "system_powerdown")
                if not _wait_gone(state.qemu_pid, deadline):
                    self._kill(state)
            self._stop_forwarder()
            for gone in (self.state_path, self.paths.guest_report):
                with suppress(FileNotFoundError):
                    gone.unlink()
            return True

    def _kill(self, state: Booted) -> None:
        with suppress(MachineError):
            qmp.execute(self.paths.qmp_socket, "quit", timeout=3)
        if not _wait_gone(state.qemu_pid, time.monotonic() + 3):
            with suppress(ProcessLookupError):
                os.kill(state.qemu_pid, signal.SIGKILL)
            _wait_gone(state.qemu_pid, time.monotonic() + 5)
        self._stop_forwarder()

    def _forwarder_pid(self) -> int:
        """The running forwarder's pid (its pidfile, checked against pid reuse), or 0."""
        try:
            pid = int(self.paths.forwarder_pidfile.read_text())
        except (OSError, ValueError):
            return 0
        return pid if pid_alive(pid) and _is_forwarder(pid) else 0

    def _stop_forwarder(self) -> None:
        """End the forwarder its pidfile names (whatever became of the VM), SIGKILL if
        SIGTERM is not enough; the socket goes with it."""
        pid = self._forwarder_pid()
        if pid:
            for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                with suppress(ProcessLookupError):
                    os.kill(pid, sig)
                if _wait_gone(pid, time.monotonic() + grace):
                    break
        for leftover in (self.paths.forwarder_pidfile, self.paths.engine_socket):
            with suppress(FileNotFoundError):
                leftover.unlink()

    @contextmanager
    def _exclusive(self, what: str) -> Iterator[None]:
        """One start or stop of this machine at a time (two starts would boot two VMs on
        one data disk)."""
        import fcntl

        self.paths.root.mkdir(parents=True, exist_ok=True)
        with open(self.paths.start_lock, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise MachineBusy(
                    f"cannot {what} {self.name!r}: another start or stop of it is running"
                ) from exc
            yield

    # reports -------------------------------------------------------------
    def guest_report(self) -> dict[str, Any]:
        """What the guest agent last reported (through the forwarder): {} before it has."""
        return _read_json(self.paths.guest_report)

    def status(self) -> dict[str, Any]:
        wanted = self.settings()
        state = self.booted()
        disk = self.paths.data_disk.stat()
        report: dict[str, Any] = {
            "Name": self.name,
            "State": "running" if state else "stopped",
            "CPUs": wanted.cpus, "MemoryMiB": wanted.memory_mib, "DiskGiB": wanted.disk_gib,
            "DiskUsedBytes": disk.st_blocks * 512,
            "Socket": str(self.paths.engine_socket) if state else "",
            "RegistryMirrors": list(wanted.registry_mirrors),
            "SharedFolders": [str(s) for s in wanted.shares],
        }
        if state is not None and self._paused_on_full_disk():
            report["State"] = "paused"
            report["Problem"] = PAUSED_ON_FULL_DISK
        if state is not None:
            report.update(Accelerator=state.accel, AcceleratorReason=state.accel_reason,
                          SSHPort=state.ssh_port, StartedAt=state.started_at,
                          BootedFrom=state.booted_from, BootSeconds=state.boot_seconds)
            if state.saved_state:
                report["SavedState"] = state.saved_state
            guest = self.guest_report()
            if guest:
                report["Guest"] = guest
            booted_with: dict[str, Any] = {
                "CPUs": state.cpus, "MemoryMiB": state.memory_mib,
                "RegistryMirrors": list(state.registry_mirrors),
                "SharedFolders": list(state.shares)}
            pending = {k: v for k, v in report.items()
                       if k in booted_with and v != booted_with[k]}
            if pending:
                report["PendingRestart"] = pending
        return report


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def engine_answers(path: Path) -> bool:
    """True when GET /_ping on the engine socket answers 200; a forwarder that refused the
    guest's host key makes it raise ``HostKeyMismatch`` (waiting longer cannot help)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(5)
    answer = b""
    try:
        probe.connect(str(path))
        probe.sendall(b"GET /_ping HTTP/1.1\r\nHost: cove\r\nConnection: close\r\n\r\n")
        while chunk := probe.recv(4096):
            answer += chunk
    except OSError:
        pass
    finally:
        probe.close()
    if answer.startswith(b"HTTP/1.1 503"):
        _, _, body = answer.partition(b"\r\n\r\n")
        try:
            message = str(json.loads(body)["message"])
        except (ValueError, KeyError, TypeError):
            message = ""
        if message.startswith(HostKeyMismatch.MARK):
            raise HostKeyMismatch(message)
    return answer.startswith(b"HTTP/1.1 200")


def _qemu_version(qemu: str) -> str:
    """``qemu --version``'s first line, checked against the oldest QEMU Cove drives."""
    try:
        text = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                              timeout=30).stdout
        version = parse_version(text)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise QemuMissing(f"{qemu} does not run: {exc}") from exc
    if version < MIN_VERSION:
        raise QemuMissing(f"QEMU {version[0]}.{version[1]} at {qemu} is too old: Cove needs "
                          f"{MIN_VERSION[0]}.{MIN_VERSION[1]} or newer")
    return text.splitlines()[0] if text else ""


def _is_forwarder(pid: int) -> bool:
    """Whether ``pid`` is still a forwarder (a pid can be reused); True where /proc is not
    there to ask."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"cove.vm.forwarder_process" in f.read()
    except FileNotFoundError:
        return not os.path.isdir("/proc")
    except OSError:
        return True


def _wait_gone(pid: int, deadline: float) -> bool:
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

