"""The local volume driver's store: ``<data-root>/volumes/<name>/{_data,volume.json}``.

A volume exists once its record is renamed into place (``atomic_write``), and stops
existing once the record is unlinked, so a crash never leaves half a volume visible.
References (which containers use a volume) are kept in memory, as dockerd keeps them:
the container records are the truth, and the engine replays them at start.
Messages are dockerd's (``volume/service``, ``volume/local``), prefixed with the
operation (``create x: ...``, ``get x: no such volume``).
"""

from __future__ import annotations

import builtins
import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cove.runtime import errors
from cove.runtime.store.layout import Layout, atomic_write_json, read_json

LOCAL_DRIVER = "local"
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"


@dataclass
class Volume:
    name: str
    created_at: str
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    driver: str = LOCAL_DRIVER

    def record(self) -> dict[str, Any]:
        return {"Name": self.name, "Driver": self.driver, "Labels": self.labels,
                "Options": self.options, "CreatedAt": self.created_at, "Scope": "local"}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Volume:
        return cls(name=data["Name"], created_at=data.get("CreatedAt") or "",
                   labels=dict(data.get("Labels") or {}),
                   options=dict(data.get("Options") or {}),
                   driver=data.get("Driver") or LOCAL_DRIVER)


def _go_quote(text: str) -> str:
    """Go's %q for the texts a volume name can hold (JSON escaping is the same there)."""
    return json.dumps(text, ensure_ascii=False)


def validate_name(name: str) -> None:
    """The local driver's name rule, with its messages (``create <name>: `` prefixed)."""
    if len(name) == 1:
        reason = "volume name is too short, names should be at least two alphanumeric characters"
    elif not _NAME_RE.match(name):
        reason = (f"{_go_quote(name)} includes invalid characters for a local volume name, only "
                  f"{_go_quote(_NAME_CHARS)} are allowed. If you intended to pass a host "
                  "directory, use absolute path")
    else:
        return
    raise errors.InvalidParameter(f"create {name}: {reason}")


def rfc3339_seconds(timestamp: float) -> str:
    """Go's ``time.RFC3339`` in local time, as dockerd prints a volume's CreatedAt."""
    text = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(timestamp))
    offset = text[-5:]
    return text[:-5] + ("Z" if offset == "+0000" else offset[:3] + ":" + offset[3:])


class VolumeStore:
    """Thread-safe: one lock guards the records, the directories and the references."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._lock = threading.RLock()
        self._volumes: dict[str, Volume] = {}
        self._refs: dict[str, set[str]] = {}
        self._load()

    def _load(self) -> None:
        root = self.layout.volumes_dir
        root.mkdir(parents=True, exist_ok=True)
        self.layout.tmp_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(root)):
            try:
                volume = Volume.from_record(read_json(self.layout.volume_record(name)))
            except (OSError, ValueError, KeyError):
                # no record: a create or a remove cut short; the directory is not a volume
                shutil.rmtree(self.layout.volume_dir(name), ignore_errors=True)
                continue
            self._volumes[volume.name] = volume

    def mountpoint(self, name: str) -> str:
        return str(self.layout.volume_data(name))

    def create(self, name: str, driver: str = "", labels: dict[str, str] | None = None,
               options: dict[str, str] | None = None,
               ref: str | None = None) -> tuple[Volume, bool]:
        """(the volume ``name``, whether this call made it); empty ``name``: a new 64-hex one.

        An existing volume is returned as it is (its labels are not changed), as dockerd
        does; ``ref`` (a container ID) is recorded as a user of it in the same step, so
        a prune running meanwhile cannot remove it.
        """
        name = name or secrets.token_hex(32)
        driver = driver or LOCAL_DRIVER
        if driver != LOCAL_DRIVER:
            raise errors.NotFound(f"create {name}: error looking up volume plugin {driver}: "
                                  f'plugin "{driver}" not found')
        with self._lock:
            volume = self._volumes.get(name)
            made = volume is None
            if volume is None:
                validate_name(name)
                if options:
                    raise errors.NotImplementedByEngine(
                        f"create {name}: options of the local volume driver (type, device, o: "
                        f"{', '.join(sorted(options))}) are not supported by this engine")
                volume = self._make(name, dict(labels or {}))
            if ref:
                self._refs.setdefault(name, set()).add(ref)
            return volume, made

    def _make(self, name: str, labels: dict[str, str]) -> Volume:
        directory = self.layout.volume_dir(name)
        volume = Volume(name=name, created_at=rfc3339_seconds(time.time()), labels=labels)
        try:
            directory.mkdir(mode=0o701, exist_ok=True)
            self.layout.volume_data(name).mkdir(mode=0o755, exist_ok=True)
            atomic_write_json(self.layout.volume_record(name), volume.record(), 0o600)
        except OSError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise errors.SystemError_(f"create {name}: {exc.strerror or exc}") from exc
        self._volumes[name] = volume
        return volume

    def get(self, name: str) -> Volume:
        with self._lock:
            volume = self._volumes.get(name)
        if volume is None:
            raise errors.NotFound(f"get {name}: no such volume")
        return volume

    def list(self) -> builtins.list[Volume]:
        with self._lock:
            return list(self._volumes.values())

    def acquire(self, name: str, ref: str) -> None:
        with self._lock:
            self._refs.setdefault(name, set()).add(ref)

    def release(self, name: str, ref: str) -> None:
        with self._lock:
            users = self._refs.get(name)
            if users is not None:
                users.discard(ref)
                if not users:
                    del self._refs[name]

    def users(self, name: str) -> builtins.list[str]:
        with self._lock:
            return sorted(self._refs.get(name, ()))

    def in_use(self, name: str) -> bool:
        with self._lock:
            return bool(self._refs.get(name))

    def remove(self, name: str, force: bool = False) -> bool:
        """Remove an unused volume; False when it did not exist and ``force`` was given."""
        with self._lock:
            if name not in self._volumes:
                if force:
                    return False
                raise errors.NotFound(f"get {name}: no such volume")
            users = self._refs.get(name)
            if users:
                raise errors.Conflict(
                    f"remove {name}: volume is in use - [{' '.join(sorted(users))}]")
            try:
                os.unlink(self.layout.volume_record(name))
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise errors.SystemError_(f"remove {name}: {exc.strerror or exc}") from exc
            del self._volumes[name]
            # moved aside under the lock, so a create of the same name starts afresh
            doomed = self.layout.tmp_dir / f"volume-{name}-{secrets.token_hex(4)}"
            try:
                os.rename(self.layout.volume_dir(name), doomed)
            except OSError:
                doomed = self.layout.volume_dir(name)
                shutil.rmtree(doomed, ignore_errors=True)
        shutil.rmtree(doomed, ignore_errors=True)
        return True
