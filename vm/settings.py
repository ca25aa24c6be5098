"""A machine's settings: what ``cove machine init`` and ``set`` write, and ``start`` reads.

``set`` changes the file only; a running machine keeps what it booted with until its
next start, and ``status`` shows both when they differ. Units are podman machine's:
memory in MiB, disk size in GiB.

Two lists besides: the registry mirrors the guest's engine pulls Docker Hub images through
(dockerd's ``registry-mirrors``), and the shared folders, host folders shared into the
guest at the same absolute path so that ``docker run -v /host/path:/ctr`` through the
machine works (Docker Desktop's "file sharing"; by default the user's home, as Docker
Desktop and Lima share it). A file written before they existed reads as no mirrors and no
shared folders; older Cove versions ignore the keys they do not know.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_CPUS = 2
DEFAULT_MEMORY_MIB = 2048
DEFAULT_DISK_GIB = 100
MIN_MEMORY_MIB = 256


class SettingsError(ValueError):
    """A setting out of range, or a settings file that cannot be read."""


def validate_mirror(url: str) -> str:
    """A registry mirror as dockerd validates ``registry-mirrors`` (moby's
    ``ValidateMirror``, with its words), without its trailing slash."""
    scheme, found, _ = url.partition("://")
    if not found or not scheme:
        raise SettingsError(f"invalid mirror: no scheme specified for {url!r}: must use "
                            "either 'https://' or 'http://'")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError as exc:
        raise SettingsError(f"invalid mirror: {url!r} is not a valid URI: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise SettingsError(f"invalid mirror: unsupported scheme {parts.scheme!r} in {url!r}: "
                            "must use either 'https://' or 'http://'")
    if not parts.hostname:
        raise SettingsError(f"invalid mirror: {url!r} is not a valid URI: no host")
    # dockerd 20.10 (the engine's API level) refuses a path too: coved would ignore it
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError(f"invalid mirror: path, query, or fragment at end of the URI {url!r}")
    if parts.username is not None:
        shown = url.replace(parts.netloc, f"{parts.username}:xxxxx@{parts.netloc.rpartition('@')[2]}")
        raise SettingsError(f"invalid mirror: username/password not allowed in URI {shown!r}")
    return url.rstrip("/")


@dataclass(frozen=True)
class Share:
    """A host folder shared into the guest at the same absolute path."""

    path: str
    readonly: bool = False

    @classmethod
    def parse(cls, text: str) -> Share:
        """``PATH`` or ``PATH:ro`` (``--mount``'s value); ``PATH:rw`` is the default."""
        path, mode = text, "rw"
        head, sep, tail = text.rpartition(":")
        if sep and tail in ("ro", "rw") and head:
            path, mode = head, tail
        return cls(path, mode == "ro")

    def __str__(self) -> str:
        return f"{self.path}:ro" if self.readonly else self.path

    def validated(self) -> Share:
        if not os.path.isabs(self.path):
            raise SettingsError(f"shared folder {self.path!r} is not an absolute path")
        if not os.path.isdir(self.path):
            raise SettingsError(f"shared folder {self.path!r} is not a directory on this host")
        if reserved(os.path.normpath(self.path)):
            raise SettingsError(f"shared folder {self.path!r} would hide the guest's own "
                                f"{reserved(os.path.normpath(self.path))}")
        if "\n" in self.path:
            raise SettingsError(f"shared folder {self.path!r}: a path with a newline "
                                "cannot be shared")
        return replace(self, path=os.path.normpath(self.path))


# the guest's system folders: a shared folder at, above or inside one would hide it
GUEST_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run",
                 "/sbin", "/sys", "/usr", "/var")


def reserved(path: str) -> str:
    """The guest folder ``path`` would hide, or ""."""
    if path == "/":
        return "root filesystem"
    for folder in GUEST_FOLDERS:
        if path == folder or path.startswith(folder + "/"):
            return folder
    return ""


def default_shares() -> tuple[Share, ...]:
    """The user's home, as Docker Desktop and Lima share it; none where QEMU has no 9p
    (Windows), nor for root, whose home is the guest's own /root."""
    home = os.path.normpath(str(Path.home()))
    if sys.platform == "win32" or reserved(home):
        return ()
    return (Share(home),)


@dataclass(frozen=True)
class MachineSettings:
    cpus: int = DEFAULT_CPUS
    memory_mib: int = DEFAULT_MEMORY_MIB
    disk_gib: int = DEFAULT_DISK_GIB
    ssh_port: int = 0  # chosen at init: a free port on 127.0.0.1
    registry_mirrors: tuple[str, ...] = ()
    shares: tuple[Share, ...] = ()

    def validated(self, host_cpus: int | None = None) -> MachineSettings:
        if self.cpus < 1:
            raise SettingsError(f"--cpus must be at least 1, not {self.cpus}")
        if host_cpus is not None and self.cpus > host_cpus:
            raise SettingsError(f"--cpus {self.cpus} exceeds the host's {host_cpus} CPUs")
        if self.memory_mib < MIN_MEMORY_MIB:
            raise SettingsError(
                f"--memory must be at least {MIN_MEMORY_MIB} MiB, not {self.memory_mib}")
        if self.disk_gib < 1:
            raise SettingsError(f"--disk-size must be at least 1 GiB, not {self.disk_gib}")
        if not 0 <= self.ssh_port < 65536:
            raise SettingsError(f"invalid SSH port {self.ssh_port}")
        mirrors = tuple(dict.fromkeys(validate_mirror(m) for m in self.registry_mirrors))
        shares: dict[str, Share] = {}
        for share in self.shares:
            checked = share.validated()
            shares[checked.path] = checked  # the last of one path wins
        if shares and sys.platform == "win32":
            raise SettingsError(NO_SHARES_ON_WINDOWS)
        return replace(self, registry_mirrors=mirrors, shares=tuple(shares.values()))

    def changed(self, **values: Any) -> MachineSettings:
        """These settings with the given ones replaced (None: keep)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


NO_SHARES_ON_WINDOWS = ("shared folders need virtio-9p, which QEMU on Windows does not have: "
                        "clear them with --mount \"\"")


def load(path: Path) -> MachineSettings:
    try:
        data: Any = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"cannot read {path}: not a JSON object")
    known = {f.name for f in fields(MachineSettings)} - {"registry_mirrors", "shares"}
    try:
        mirrors = data.get("registry_mirrors", [])
        shares = data.get("shares", [])
        if not isinstance(mirrors, list) or not isinstance(shares, list):
            raise TypeError("registry_mirrors and shares are lists")
        return MachineSettings(
            **{k: int(v) for k, v in data.items() if k in known},
            registry_mirrors=tuple(str(m) for m in mirrors),
            shares=tuple(Share(str(s["path"]), bool(s.get("readonly", False))) for s in shares))
    except (TypeError, ValueError, KeyError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc


def save(path: Path, settings: MachineSettings) -> None:
    """Write, fsync, rename: a crash leaves the old settings or the new ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(asdict(settings), f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
