"""Open a possibly compressed stream as plain bytes, choosing the codec by magic number.

Layers and archives arrive gzip-, zstd-, xz-, bzip2-compressed or plain, and the
media type (when there is one) may lie; the first bytes do not. Decoder failures are
hostile or broken input, so they surface as ``InvalidParameter``.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import lzma
import shutil
import subprocess
import threading
import zlib
from typing import IO, BinaryIO

from ..errors import InvalidParameter

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZIP2_MAGIC = b"BZh"

DECODE_ERRORS: tuple[type[Exception], ...] = (
    EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError, OSError, ValueError,
)


class _Prefixed(io.RawIOBase):
    """``stream`` with the already-peeked ``head`` put back in front."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _ZstdProcess(io.RawIOBase):
    """zstd through the ``zstd`` binary when the ``zstandard`` module is absent.

    A thread feeds the compressed stream to the child so a full pipe never
    deadlocks; a failing child (bad frame, truncation) raises on EOF.
    """

    def __init__(self, source: IO[bytes]) -> None:
        binary = shutil.which("zstd")
        if binary is None:
            raise InvalidParameter("zstd-compressed content is not supported on this host")
        self._proc = subprocess.Popen(
            [binary, "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._source = source
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        assert self._proc.stdin is not None
        try:
            while chunk := self._source.read(1 << 16):
                self._proc.stdin.write(chunk)
        except (BrokenPipeError, OSError, ValueError):
            pass
        finally:
            try:
                self._proc.stdin.close()
            except OSError:
                pass

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        assert self._proc.stdout is not None
        n = self._proc.stdout.readinto(buffer)  # type: ignore[attr-defined]
        if not n:
            if self._proc.wait() != 0:
                raise InvalidParameter("invalid zstd data: decompression failed")
            return 0
        return int(n)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._feeder.join(timeout=5)
        super().close()


def open_decompressed(stream: IO[bytes]) -> BinaryIO:
    """Return a reader of the decompressed bytes of ``stream``; the caller closes it."""
    head = stream.read(6)
    raw = io.BufferedReader(_Prefixed(head, stream), 1 << 16)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if head.startswith(ZSTD_MAGIC):
        try:
            zstandard = importlib.import_module("zstandard")
        except ImportError:
            return io.BufferedReader(_ZstdProcess(raw), 1 << 16)
        return zstandard.ZstdDecompressor().stream_reader(raw)  # type: ignore[no-any-return]
    if head.startswith(XZ_MAGIC):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    if head.startswith(BZIP2_MAGIC):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    return raw
