"""Rebuild a layer's original tar byte for byte from its unpacked directory.

An image ID is the digest of a config that lists each layer's diff ID (the
sha256 of its uncompressed tar), so ``save`` must reproduce the exact tar it
loaded. Like moby's tar-split, we keep a small gzipped *skeleton* per layer: the
tar's own bytes (headers, padding, end blocks) verbatim, and for each regular
file only a reference to its path in the diff directory.

Skeleton records: ``R`` + u64 length + raw bytes; ``F`` + u64 size + u32 length +
path (relative, fs-encoded); ``E`` ends the skeleton.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import SystemError_

_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")


class SkeletonWriter:
    """Receives the decompressed tar as it streams past and writes the skeleton.

    ``feed`` gets every byte in order; ``file_data`` says which byte range is a
    regular file's content (announced after its header was read, before its data
    is consumed by the extractor, so at most the read-ahead is pending).
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0)
        self._pending = bytearray()
        self._committed = 0  # stream offset of _pending[0]
        self._position = 0  # stream offset after the last fed byte

    def feed(self, data: bytes) -> None:
        start = self._position
        self._position += len(data)
        if start < self._committed:
            data = data[self._committed - start:]
        self._pending += data

    def file_data(self, offset: int, size: int, relpath: str) -> None:
        """Bytes ``[offset, offset+size)`` are the content of ``relpath``."""
        if offset < self._committed:
            raise SystemError_("tar-split: file data out of order")
        self._raw(bytes(self._pending[: offset - self._committed]))
        path = os.fsencode(relpath)
        self._out.write(b"F" + _U64.pack(size) + _U32.pack(len(path)) + path)
        consumed = offset + size - self._committed
        del self._pending[:consumed]
        self._committed = offset + size

    def finish(self) -> None:
        self._raw(bytes(self._pending))
        self._pending.clear()
        self._out.write(b"E")
        self._out.close()

    def _raw(self, data: bytes) -> None:
        if data:
            self._out.write(b"R" + _U64.pack(len(data)) + data)


def _read_exact(f: gzip.GzipFile, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise SystemError_("tar-split: skeleton is truncated")
    return data


def iter_tar(skeleton_path: Path, diff_dir: Path, chunk: int = 1 << 20) -> Iterator[bytes]:
    """Yield the original tar stream, reading file contents from ``diff_dir``."""
    with gzip.open(skeleton_path, "rb") as f:
        while True:
            kind = f.read(1)
            if kind == b"E":
                return
            if kind == b"R":
                (length,) = _U64.unpack(_read_exact(f, 8))
                while length:
                    part = _read_exact(f, min(length, chunk))
                    length -= len(part)
                    yield part
            elif kind == b"F":
                (size,) = _U64.unpack(_read_exact(f, 8))
                (plen,) = _U32.unpack(_read_exact(f, 4))
                relpath = _read_exact(f, plen)
                yield from _file_content(diff_dir, relpath, size, chunk)
            else:
                raise SystemError_("tar-split: skeleton is corrupt")


def _file_content(diff_dir: Path, relpath: bytes, size: int, chunk: int) -> Iterator[bytes]:
    fd = os.open(os.path.join(os.fsencode(diff_dir), relpath), os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        remaining = size
        while remaining:
            part = f.read(min(remaining, chunk))
            if not part:
                raise SystemError_(f"tar-split: {os.fsdecode(relpath)} is shorter than recorded")
            remaining -= len(part)
            yield part


def write_tar(skeleton_path: Path, diff_dir: Path, out: BinaryIO) -> tuple[str, int]:
    """Write the rebuilt tar to ``out``; return its digest and length."""
    digest = hashlib.sha256()
    length = 0
    for part in iter_tar(skeleton_path, diff_dir):
        digest.update(part)
        length += len(part)
        out.write(part)
    return "sha256:" + digest.hexdigest(), length
