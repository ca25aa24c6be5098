"""Unpack one image layer (a tar, maybe compressed) into a directory — hostile input safe.

A layer comes from whoever built the image, so every entry is checked before it
touches the disk: no absolute paths, no ``..``, never a write through a symlink
(each parent is ``lstat``-ed, so a link planted by an earlier entry cannot
redirect a later one), hardlinks only to files already inside the layer. Symlinks
themselves may point anywhere: they are resolved inside the container, never here.
Docker's whiteouts become overlayfs ones (char device 0/0, ``trusted.overlay.opaque``).
Bad input raises ``InvalidParameter``; the atomic variant leaves nothing behind.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from ..errors import EngineError, InvalidParameter, SystemError_
from ..linux.overlay import make_whiteout
from ..linux.syscalls import kernel
from .compression import DECODE_ERRORS, open_decompressed
from .tarsplit import SkeletonWriter

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
MAX_HEADER_SIZE = 1 << 20  # pax / GNU long-name headers are read into memory
MAX_PATH_BYTES = 4095
MAX_NAME_BYTES = 255
_XATTR_PAX_PREFIX = "SCHILY.xattr."
_SKIPPED_XATTR_ERRNOS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM}
_BAD_INPUT: tuple[type[Exception], ...] = (*DECODE_ERRORS, OverflowError, UnicodeError)
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM}


@dataclass(frozen=True)
class LayerResult:
    diff_id: str  # "sha256:" + digest of the uncompressed tar
    size: int  # bytes of regular-file content unpacked


class SafeTarInfo(tarfile.TarInfo):
    """Refuse giant pax / long-name headers before tarfile reads them into memory."""

    def _proc_member(self, tar: tarfile.TarFile) -> Any:
        if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                         tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
            if self.size > MAX_HEADER_SIZE:
                raise InvalidParameter(f"invalid layer: {self.size}-byte extended header")
        return super()._proc_member(tar)  # type: ignore[misc]


class _Recorder(io.RawIOBase):
    """The decompressed tar on its way to tarfile: hashed (diff ID), counted, and fed
    to the tar-split skeleton."""

    def __init__(self, source: IO[bytes], skeleton: SkeletonWriter | None,
                 max_size: int | None) -> None:
        self._source = source
        self._skeleton = skeleton
        self._max_size = max_size
        self.digest = hashlib.sha256()
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._source.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.position += n
        if self._max_size is not None and self.position > self._max_size:
            raise InvalidParameter(f"invalid layer: larger than {self._max_size} bytes")
        self.digest.update(data)
        if self._skeleton is not None:
            self._skeleton.feed(data)
        return n

    def drain(self) -> None:
        while self.read(1 << 16):
            pass


def clean_member_path(name: str, what: str = "path") -> list[str]:
    """Split an archive path into components, refusing anything that could escape."""
    if name.startswith("/"):
        raise InvalidParameter(f"invalid layer: refusing absolute {what} {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidParameter(f"invalid layer: refusing {what} {name!r} escaping the layer")
    encoded = os.fsencode(name)
    if len(encoded) > MAX_PATH_BYTES or any(len(os.fsencode(p)) > MAX_NAME_BYTES for p in parts):
        raise InvalidParameter(f"invalid layer: {what} too long ({len(encoded)} bytes)")
    if "\x00" in name:
        raise InvalidParameter(f"invalid layer: NUL byte in {what}")
    return parts


class _Extractor:
    def __init__(self, root: str, allow_devices: bool) -> None:
        self.root = root
        self.allow_devices = allow_devices
        self.size = 0
        self.dir_times: list[tuple[str, int, int]] = []
        self.file_paths: set[str] = set()  # regular files the skeleton references
        self.skeleton_broken = False

    # paths ---------------------------------------------------------------
    def _walk(self, parts: list[str], name: str, create: bool) -> str:
        """Absolute path of ``parts``' parent; every component must be a real dir."""
        current = self.root
        for index, component in enumerate(parts[:-1]):
            current = os.path.join(current, component)
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                if not create:
                    raise InvalidParameter(f"invalid layer: {name!r} not found in layer") from None
                os.mkdir(current, 0o755)
                continue
            if stat.S_ISLNK(st.st_mode):
                shown = "/".join(parts[: index + 1])
                raise InvalidParameter(
                    f"invalid layer: refusing to write {name!r} through symlink {shown!r}")
            if not stat.S_ISDIR(st.st_mode):
                shown = "/".join(parts[: index + 1])
                raise InvalidParameter(f"invalid layer: {shown!r} in {name!r} is not a directory")
        return current

    def _remove(self, path: str, relpath: str, keep_dir: bool) -> bool:
        """Remove whatever is at ``path``; return True if a directory was kept."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            shutil.rmtree(path)
        else:
            os.unlink(path)
        prefix = relpath + "/"
        if relpath in self.file_paths or any(p.startswith(prefix) for p in self.file_paths):
            self.skeleton_broken = True  # content the skeleton points at is gone
        return False

    # entries -------------------------------------------------------------
    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo,
            skeleton: SkeletonWriter | None) -> None:
        parts = clean_member_path(member.name)
        if not parts:
            if member.isdir():
                self._metadata(self.root, member)
            return
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parts, member)
            return
        parent = self._walk(parts, member.name, create=True)
        path = os.path.join(parent, base)
        relpath = "/".join(parts)
        kept_dir = self._remove(path, relpath, keep_dir=member.isdir())
        if member.isreg():
            if skeleton is not None and not member.issparse():
                skeleton.file_data(member.offset_data, member.size, relpath)
                self.file_paths.add(relpath)
            self._regular(tar, member, path)
        elif member.isdir():
            if not kept_dir:
                os.mkdir(path, 0o755)
        elif member.issym():
            os.symlink(member.linkname, path)
        elif member.islnk():
            self._hardlink(member, path)
            return
        elif member.ischr() or member.isblk():
            if not self.allow_devices:
                return
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            kernel().mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
        elif member.isfifo():
            os.mkfifo(path, 0o600)
        else:
            raise InvalidParameter(f"invalid layer: unsupported entry type {member.type!r} "
                                   f"for {member.name!r}")
        self._metadata(path, member)

    def _regular(self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        source = tar.extractfile(member)
        assert source is not None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        with os.fdopen(fd, "wb") as out, source:
            remaining = member.size
            while remaining:
                chunk = source.read(min(remaining, 1 << 20))
                if not chunk:
                    raise InvalidParameter(f"invalid layer: {member.name!r} is truncated")
                out.write(chunk)
                remaining -= len(chunk)
        self.size += member.size

    def _hardlink(self, member: tarfile.TarInfo, path: str) -> None:
        target_parts = clean_member_path(member.linkname, "hardlink target")
        if not target_parts:
            raise InvalidParameter(f"invalid layer: hardlink {member.name!r} to the layer root")
        target = os.path.join(self._walk(target_parts, member.linkname, create=False),
                              target_parts[-1])
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise InvalidParameter(f"invalid layer: hardlink {member.name!r} to "
                                   f"{member.linkname!r} which is not in the layer") from None
        if stat.S_ISDIR(st.st_mode):
            raise InvalidParameter(f"invalid layer: hardlink {member.name!r} to a directory")
        os.link(target, path, follow_symlinks=False)

    def _whiteout(self, parts: list[str], member: tarfile.TarInfo) -> None:
        base = parts[-1]
        parent = self._walk(parts, member.name, create=True)
        if base == WHITEOUT_OPAQUE:
            os.setxattr(parent, OPAQUE_XATTR, b"y", follow_symlinks=False)
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return  # aufs bookkeeping (.wh..wh.plnk ...), meaningless for overlayfs
        hidden = base[len(WHITEOUT_PREFIX):]
        if hidden in ("", ".", ".."):
            raise InvalidParameter(f"invalid layer: refusing whiteout {member.name!r}")
        path = os.path.join(parent, hidden)
        self._remove(path, "/".join(parts[:-1] + [hidden]), keep_dir=False)
        make_whiteout(kernel(), path)
        os.chown(path, member.uid, member.gid, follow_symlinks=False)

    def _metadata(self, path: str, member: tarfile.TarInfo) -> None:
        """Ownership, then mode (chown clears set-id bits), then xattrs (chown clears
        capabilities), then times — directories' times last of all."""
        os.chown(path, member.uid, member.gid, follow_symlinks=False)
        if not member.issym():
            os.chmod(path, member.mode & 0o7777)
        for key, value in member.pax_headers.items():
            if key.startswith(_XATTR_PAX_PREFIX):
                self._xattr(path, key[len(_XATTR_PAX_PREFIX):], value)
        mtime = int(member.mtime * 1_000_000_000)
        atime_text = member.pax_headers.get("atime")
        atime = int(float(atime_text) * 1_000_000_000) if atime_text else mtime
        if member.isdir():
            self.dir_times.append((path, atime, mtime))
        else:
            os.utime(path, ns=(atime, mtime), follow_symlinks=False)

    def _xattr(self, path: str, name: str, value: str) -> None:
        if name.startswith("trusted.overlay."):
            return  # overlayfs would obey them (redirects, opaque); only we set those
        try:
            os.setxattr(path, name, value.encode("utf-8", "surrogateescape"),
                        follow_symlinks=False)
        except OSError as exc:
            if exc.errno in _SKIPPED_XATTR_ERRNOS:
                return  # the filesystem or namespace refuses it, as dockerd tolerates
            raise

    def finish(self) -> None:
        for path, atime, mtime in reversed(self.dir_times):
            os.utime(path, ns=(atime, mtime), follow_symlinks=False)


def unpack_layer(stream: IO[bytes] | BinaryIO, dest: Path, *, allow_devices: bool = True,
                 skeleton: BinaryIO | None = None, max_size: int | None = None) -> LayerResult:
    """Unpack the layer in ``stream`` (gzip, zstd, xz, bzip2 or plain tar) into the
    existing directory ``dest``; optionally write its tar-split skeleton."""
    writer = SkeletonWriter(skeleton) if skeleton is not None else None
    extractor = _Extractor(os.fspath(dest), allow_devices)
    try:
        with open_decompressed(stream) as plain:
            recorder = _Recorder(plain, writer, max_size)
            buffered = io.BufferedReader(recorder, 1 << 20)
            head = buffered.peek(1)
            if head:
                with tarfile.open(fileobj=buffered, mode="r|", tarinfo=SafeTarInfo,
                                  errors="surrogateescape", bufsize=1 << 20) as tar:
                    while (member := tar.next()) is not None:
                        extractor.add(tar, member, writer)
                        tar.members.clear()  # type: ignore[attr-defined]  # stream mode: forget them
            recorder.drain()
        extractor.finish()
        if writer is not None:
            if extractor.skeleton_broken:
                raise InvalidParameter("invalid layer: a file is overwritten inside one layer")
            writer.finish()
    except EngineError:
        raise
    except tarfile.TarError as exc:
        raise InvalidParameter(f"invalid layer tar: {exc}") from exc
    except OSError as exc:
        if exc.errno in _DISK_ERRNOS:
            raise SystemError_(f"unpacking layer into {dest}: {exc}") from exc
        raise InvalidParameter(f"invalid layer: {exc}") from exc
    except _BAD_INPUT as exc:
        raise InvalidParameter(f"invalid layer: {exc}") from exc
    return LayerResult(diff_id="sha256:" + recorder.digest.hexdigest(), size=extractor.size)


def unpack_layer_atomic(stream: IO[bytes] | BinaryIO, final_dir: Path, tmp_root: Path, *,
                        expected_diff_id: str | None = None, skeleton_path: Path | None = None,
                        allow_devices: bool = True, max_size: int | None = None) -> LayerResult:
    """Unpack into a temp dir under ``tmp_root`` and rename it to ``final_dir`` only
    when the whole layer was accepted (and its diff ID is the expected one)."""
    tmp_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="layer-", dir=tmp_root))
    try:
        diff = work / "diff"
        diff.mkdir(mode=0o755)
        os.chmod(diff, 0o755)
        if skeleton_path is not None:
            with open(work / "tar-split", "wb") as out:
                result = unpack_layer(stream, diff, allow_devices=allow_devices,
                                      skeleton=out, max_size=max_size)
        else:
            result = unpack_layer(stream, diff, allow_devices=allow_devices, max_size=max_size)
        if expected_diff_id is not None and result.diff_id != expected_diff_id:
            raise InvalidParameter(f"invalid diffID for layer: expected {expected_diff_id!r}, "
                                   f"got {result.diff_id!r}")
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        if skeleton_path is not None:
            os.rename(work / "tar-split", skeleton_path)
        os.rename(diff, final_dir)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
