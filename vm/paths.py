"""Every file of a machine, named once.

    <data dir>/machines/<name>/            platformdirs' user data dir for "cove"
      machine.json                         settings (CPUs, memory, disk size) and state
      data.qcow2                           the data disk: /var/lib/cove in the guest
      seed.img                             keys and settings for the guest (a tar, read-only)
      ssh/id_ed25519  ssh/id_ed25519.pub   the client key the host logs in with
      ssh/host_ed25519 ssh/host_ed25519.pub  the guest's host key, pinned: made here
      console.log                          the guest's serial console
      qemu.pid  forwarder.pid  forwarder.log
      guest.json                           the guest agent's last report (OS, kernel, engine)
      start.lock                           held by `machine start`: one start at a time
      saved-state  saved-state.key         the VM saved at init's hold point, and what it
                                           is valid for (image, QEMU, CPUs, memory, disk)
    <socket dir>/<name>/                   short: AF_UNIX paths are limited (104 bytes on macOS)
      qmp.sock                             QEMU's QMP
      control.sock                         the guest's control port (the boot's go)
      cove.sock                            the forwarded engine socket (DOCKER_HOST)

The guest images are cached apart, under the cache dir, by the hash of their inputs.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# sockaddr_un.sun_path: 108 bytes on Linux, 104 on macOS; keep room for the NUL
MAX_SOCKET_PATH = 100


def data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("cove", appauthor=False))


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("cove", appauthor=False))


def socket_dir() -> Path:
    """``$XDG_RUNTIME_DIR/cove`` if it is there and its socket paths fit, else a dir of the
    user's own under the temp dir (macOS's is per user already)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        candidate = Path(runtime) / "cove"
        if len(str(candidate / "machine-name-room" / "cove.sock")) <= MAX_SOCKET_PATH:
            return candidate
    return Path(tempfile.gettempdir()) / f"cove-{_user_id()}"


def _user_id() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else os.environ.get("USERNAME", "user")


@dataclass(frozen=True)
class MachinePaths:
    name: str
    root: Path
    sockets: Path

    @classmethod
    def of(cls, name: str, root: Path | None = None, sockets: Path | None = None
           ) -> MachinePaths:
        return cls(name, (root or data_dir() / "machines") / name,
                   (sockets or socket_dir()) / name)

    @property
    def settings(self) -> Path:
        return self.root / "machine.json"

    @property
    def data_disk(self) -> Path:
        return self.root / "data.qcow2"

    @property
    def seed_disk(self) -> Path:
        return self.root / "seed.img"

    @property
    def ssh_dir(self) -> Path:
        return self.root / "ssh"

    @property
    def client_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def host_key(self) -> Path:
        return self.ssh_dir / "host_ed25519"

    @property
    def console_log(self) -> Path:
        return self.root / "console.log"

    @property
    def qemu_pidfile(self) -> Path:
        return self.root / "qemu.pid"

    @property
    def forwarder_pidfile(self) -> Path:
        return self.root / "forwarder.pid"

    @property
    def forwarder_log(self) -> Path:
        return self.root / "forwarder.log"

    @property
    def guest_report(self) -> Path:
        """The guest agent's last status report, kept by the forwarder."""
        return self.root / "guest.json"

    @property
    def start_lock(self) -> Path:
        return self.root / "start.lock"

    @property
    def saved_state(self) -> Path:
        """The guest's RAM and devices at init's hold point (``cove.vm.saved_state``)."""
        return self.root / "saved-state"

    @property
    def saved_state_key(self) -> Path:
        return self.root / "saved-state.key"

    @property
    def control_socket(self) -> Path:
        return self.sockets / "control.sock"

    @property
    def qmp_socket(self) -> Path:
        return self.sockets / "qmp.sock"

    @property
    def engine_socket(self) -> Path:
        """What the CLI and the docker CLI connect to: ``unix://<this>``."""
        return self.sockets / "cove.sock"
