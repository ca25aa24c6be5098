"""``RUN --mount``: what BuildKit mounts for one RUN step, done by the classic builder.

Docker's legacy builder refuses ``--mount`` ("requires BuildKit"), and so many real
Dockerfiles do not build there. Cove has no BuildKit, so it gives RUN the mounts itself:

- ``type=bind`` (the default): a path of the context, or of a stage or image
  (``from=``), read-only unless ``rw``; with ``rw`` the step writes to a copy that is
  thrown away, as BuildKit does.
- ``type=cache``: a directory kept across builds under the data root, keyed by ``id``
  (default: the target), so package managers keep their downloads. ``sharing=locked``
  lets one step at a time use it; ``private`` gives a busy cache's second user a fresh
  directory.
- ``type=tmpfs``: an empty tmpfs (``size=`` bytes).
- ``type=secret`` and ``type=ssh``: the build API has no way for the client to send a
  secret or an agent, so none is mounted; with ``required`` the step fails, as BuildKit
  fails for a secret it was not given.

Nothing under a mount becomes part of the layer, and mount points RUN had to create are
removed again before the layer is taken (BuildKit's mount-stub cleanup). The cache key
includes each mount and, for bind mounts, what they show (context checksum or image ID),
so editing a bound file reruns the step.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cove.common.paths import resolve_in_root
from cove.runtime import errors
from cove.runtime.build.copy_from import select_from_image
from cove.runtime.store import locks
from cove.runtime.store.layout import tree_size

TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING = ("shared", "private", "locked")
_BOOL_KEYS = {"readonly": "readonly", "ro": "readonly", "rw": "rw", "readwrite": "rw",
              "required": "required"}
_ALIASES = {"target": "target", "dst": "target", "destination": "target", "source": "source",
            "src": "source", "from": "from", "id": "id", "sharing": "sharing", "mode": "mode",
            "uid": "uid", "gid": "gid", "size": "size", "type": "type", "env": "env"}


@dataclass
class RunMount:
    """One parsed ``--mount`` flag, with BuildKit's defaults filled in."""

    kind: str
    target: str
    source: str = ""
    origin: str = ""  # from=: a stage name or image reference; "" is the context
    readonly: bool = False
    id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None
    required: bool = False

    def key(self) -> list[Any]:
        """What identifies the mount in the step's cache key."""
        return [self.kind, self.target, self.source, self.origin, self.readonly, self.id,
                self.sharing, self.mode, self.uid, self.gid, self.size]


def _flag_error(spec: str, why: str) -> errors.InvalidParameter:
    return errors.InvalidParameter(f"failed to parse RUN --mount={spec}: {why}")


def _bool(spec: str, key: str, value: str | None) -> bool:
    if value is None:
        return True
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise _flag_error(spec, f"invalid value for {key}: {value}")


def _int(spec: str, key: str, value: str, base: int = 10) -> int:
    try:
        return int(value, base)
    except ValueError:
        raise _flag_error(spec, f"invalid value for {key}: {value}") from None


def parse_mount(spec: str, workdir: str) -> RunMount:
    """BuildKit's ``--mount`` CSV (``type=cache,target=/root/.cache,sharing=locked``).

    A relative target is taken from the step's working directory, as BuildKit does.
    """
    fields: dict[str, str | None] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, eq, value = part.partition("=")
        lowered = name.lower()
        if lowered in _BOOL_KEYS:
            fields[_BOOL_KEYS[lowered]] = value if eq else None
        elif lowered in _ALIASES and eq:
            fields[_ALIASES[lowered]] = value
        else:
            raise _flag_error(spec, f"unexpected key '{name}' in '{part}'")
    kind = (fields.get("type") or "bind").lower()
    if kind not in TYPES:
        raise _flag_error(spec, f"unsupported mount type {kind!r}")
    target = fields.get("target") or ""
    if kind == "secret" and not target:
        target = "/run/secrets/" + (fields.get("id") or "")
    if kind == "ssh" and not target:
        target = "/run/buildkit/ssh_agent." + (fields.get("id") or "0")
    if not target:
        raise _flag_error(spec, "mount destination (target) is required")
    target = posixpath.normpath(posixpath.join(workdir or "/", target))
    if target == "/":
        raise _flag_error(spec, "cannot mount over /")
    mount = RunMount(kind=kind, target=target, source=fields.get("source") or "",
                     origin=fields.get("from") or "", id=fields.get("id") or "")
    if "readonly" in fields:
        mount.readonly = _bool(spec, "readonly", fields["readonly"])
    elif "rw" in fields:
        mount.readonly = not _bool(spec, "rw", fields["rw"])
    else:
        mount.readonly = kind == "bind"  # BuildKit: binds read-only, the rest writable
    mount.required = "required" in fields and _bool(spec, "required", fields["required"])
    sharing = (fields.get("sharing") or "shared").lower()
    if sharing not in SHARING:
        raise _flag_error(spec, f"unsupported sharing value {sharing!r}")
    mount.sharing = sharing
    if fields.get("mode"):
        mount.mode = _int(spec, "mode", str(fields["mode"]), 8)
    for key in ("uid", "gid"):
        if fields.get(key):
            setattr(mount, key, _int(spec, key, str(fields[key])))
    if fields.get("size"):
        mount.size = _size(spec, str(fields["size"]))
    if kind == "cache" and not mount.id:
        mount.id = mount.target
    return mount


def _size(spec: str, text: str) -> int:
    units = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
             "g": 1 << 30, "gb": 1 << 30}
    number = text.rstrip("bBkKmMgG")
    unit = text[len(number):].lower()
    if unit not in units or not number.isdigit():
        raise _flag_error(spec, f"invalid size: {text}")
    return int(number) * units[unit]


@dataclass
class PreparedMounts:
    """The mounts of one RUN step, ready for the container; ``release()`` undoes them."""

    host_mounts: list[dict[str, Any]] = field(default_factory=list)  # HostConfig.Mounts
    cache_key: list[Any] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def release(self) -> None:
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except OSError:
                pass


class MountSources:
    """What the builder gives: the context, stage/image lookup and where to keep things."""

    def __init__(self, context: Any, image_for: Callable[[str], str],
                 lower_dirs: Callable[[str], list[str]], tmp_root: str, cache_root: str) -> None:
        self.context = context
        self.image_for = image_for
        self.lower_dirs = lower_dirs
        self.tmp_root = tmp_root
        self.cache_root = cache_root


def prepare(mounts: list[RunMount], sources: MountSources) -> PreparedMounts:
    """Resolve every mount to a host directory (or tmpfs) in ``HostConfig.Mounts`` form."""
    prepared = PreparedMounts()
    try:
        for mount in mounts:
            prepared.cache_key.append(mount.key())
            prepared.targets.append(mount.target)
            if mount.kind == "bind":
                _bind(mount, sources, prepared)
            elif mount.kind == "cache":
                _cache(mount, sources, prepared)
            elif mount.kind == "tmpfs":
                options: dict[str, Any] = {"Options": [["exec"]]}  # BuildKit's is not noexec
                if mount.size:
                    options["SizeBytes"] = mount.size
                prepared.host_mounts.append({"Type": "tmpfs", "Target": mount.target,
                                             "TmpfsOptions": options})
            elif mount.required:
                what = "secret" if mount.kind == "secret" else "ssh agent"
                raise errors.InvalidParameter(
                    f"{what} {mount.id or 'default'} not found: the build API carries no "
                    f"{what}s (it needs BuildKit's session); drop required=true to build "
                    "without it")
            else:
                prepared.targets.pop()  # nothing is mounted there
    except BaseException:
        prepared.release()
        raise
    return prepared


def _bind_entry(source: str, target: str, readonly: bool) -> dict[str, Any]:
    return {"Type": "bind", "Source": source, "Target": target, "ReadOnly": readonly}


def _bind(mount: RunMount, sources: MountSources, prepared: PreparedMounts) -> None:
    if mount.origin:
        image_id = sources.image_for(mount.origin)
        found, _key = select_from_image(sources.lower_dirs(image_id), image_id,
                                        [mount.source or "."], sources.tmp_root)
        prepared._cleanups.append(found.release)
        root = found.mountpoint
        prepared.cache_key.append(["image", image_id])
    else:
        root = os.path.realpath(sources.context.root)
        rel = os.path.normpath(mount.source.lstrip("/")) if mount.source else "."
        if rel.startswith(".."):
            raise errors.InvalidParameter(
                f"RUN --mount: source {mount.source} is outside the build context")
    path = resolve_in_root(root, mount.source or "/")  # a symlink cannot lead out of it
    if not os.path.lexists(path):
        raise errors.InvalidParameter(
            f"RUN --mount: source {mount.source or '/'} not found "
            f"{'in ' + mount.origin if mount.origin else 'in the build context'}")
    if not mount.origin:  # what the mount shows, found inside the context, keys the step
        prepared.cache_key.append(["context", sources.context.checksum(
            [os.path.relpath(path, root)])])
    if not mount.readonly:  # writes go to a copy that the step leaves behind
        scratch = tempfile.mkdtemp(prefix="run-mount-", dir=sources.tmp_root)
        prepared._cleanups.append(lambda: shutil.rmtree(scratch, ignore_errors=True))
        copy = os.path.join(scratch, "copy")
        if os.path.isdir(path):
            shutil.copytree(path, copy, symlinks=True)
        else:
            shutil.copy2(path, copy)
        path = copy
    prepared.host_mounts.append(_bind_entry(path, mount.target, mount.readonly))


def _cache(mount: RunMount, sources: MountSources, prepared: PreparedMounts) -> None:
    name = hashlib.sha256(mount.id.encode()).hexdigest()[:32]
    directory = os.path.join(sources.cache_root, name)
    os.makedirs(sources.cache_root, mode=0o700, exist_ok=True)
    lock_fd = locks.open_lock(directory + ".lock")
    prepared._cleanups.append(lambda: os.close(lock_fd))
    if mount.sharing == "locked":
        locks.hold(lock_fd)
    elif mount.sharing == "private":
        if not locks.try_hold(lock_fd):  # in use: this step gets a directory of its own
            directory = tempfile.mkdtemp(prefix="cache-mount-", dir=sources.tmp_root)
            prepared._cleanups.append(lambda: shutil.rmtree(directory, ignore_errors=True))
            _init_cache_dir(directory, mount, sources, prepared)
            prepared.host_mounts.append(_bind_entry(directory, mount.target, mount.readonly))
            return
    else:
        locks.hold(lock_fd, shared=True)
    try:
        os.utime(directory)  # last used: what ``builder prune --filter until=`` goes by
    except FileNotFoundError:
        pass
    if not os.path.isdir(directory):
        # filled beside it and renamed: a crash never leaves a half-seeded cache
        staging = tempfile.mkdtemp(prefix="cache-mount-", dir=sources.tmp_root)
        try:
            _init_cache_dir(staging, mount, sources, prepared)
            os.rename(staging, directory)
        except FileExistsError:
            shutil.rmtree(staging, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if not os.path.isdir(directory):
                raise errors.SystemError_(f"RUN --mount: cannot create cache: {exc}") from exc
    prepared.host_mounts.append(_bind_entry(directory, mount.target, mount.readonly))


def _init_cache_dir(directory: str, mount: RunMount, sources: MountSources,
                    prepared: PreparedMounts) -> None:
    """A new cache: empty, or seeded from ``from=``/``source=``; owner and mode as asked."""
    if mount.origin:
        image_id = sources.image_for(mount.origin)
        found, _key = select_from_image(sources.lower_dirs(image_id), image_id,
                                        [mount.source or "."], sources.tmp_root)
        try:
            shutil.copytree(found[0][0], directory, symlinks=True, dirs_exist_ok=True)
        finally:
            found.release()
    os.chmod(directory, mount.mode if mount.mode is not None else 0o755)
    os.chown(directory, mount.uid or 0, mount.gid or 0)


def remove_stubs(upper: str, targets: list[str], exists_in_image: Callable[[str], bool]) -> None:
    """Take out of the step's upper dir the empty mount points the mounts made.

    Walks up from each target and stops at the first path the image already had or
    that the step itself filled.
    """
    for target in sorted(set(targets), key=lambda t: -t.count("/")):
        path = target
        while path not in ("/", ""):
            if exists_in_image(path):
                break
            full = upper + path
            try:
                if os.path.isdir(full) and not os.path.islink(full):
                    os.rmdir(full)  # fails (and so stops) when the step put files there
                elif os.path.isfile(full) and os.path.getsize(full) == 0:
                    os.unlink(full)
                else:
                    break
            except OSError:
                break
            path = posixpath.dirname(path)


def cache_dirs(cache_root: str) -> list[str]:
    """The cache-mount directories, oldest name first; not lock files, not half-deleted."""
    try:
        names = sorted(os.listdir(cache_root))
    except FileNotFoundError:
        return []
    return [os.path.join(cache_root, name) for name in names
            if not name.endswith((".lock", ".deleting"))
            and os.path.isdir(os.path.join(cache_root, name))]


def in_use(directory: str) -> bool:
    """Whether a step is using the cache directory (holds its lock) now."""
    fd = locks.hold_if_free(directory + ".lock")
    if fd is None:
        return True
    os.close(fd)
    return False


def prune_cache_mounts(cache_root: str, used_before: float | None = None) -> list[tuple[str, int]]:
    """Delete the cache-mount directories no step is using: (id, bytes freed) for each.

    A directory is taken only with its lock held exclusively, so a running step keeps its
    cache; the lock files stay (a step may be waiting on one). Directories a crash left
    half-deleted go too.
    """
    for leftover in (os.path.join(cache_root, n) for n in _listing(cache_root)
                     if n.endswith(".deleting")):
        shutil.rmtree(leftover, ignore_errors=True)
    removed: list[tuple[str, int]] = []
    for directory in cache_dirs(cache_root):
        if used_before is not None and os.stat(directory).st_mtime >= used_before:
            continue
        lock_fd = locks.hold_if_free(directory + ".lock")
        if lock_fd is None:
            continue
        try:
            size = tree_size(directory)
            # renamed first: a crash mid-delete leaves a name no step will use
            doomed = directory + ".deleting"
            os.rename(directory, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append((os.path.basename(directory), size))
        finally:
            os.close(lock_fd)
    return removed


def _listing(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []
