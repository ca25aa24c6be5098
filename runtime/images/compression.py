"""Open a possibly compressed stream as plain bytes, choosing the codec by magic number.

Layers and archives arrive gzip-, zstd-, xz-, bzip2-compressed or plain, and the
media type (when there is one) may lie; the first bytes do not. Decoder failures are
hostile or broken input, so they surface as ``InvalidParameter``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import IO, BinaryIO

import zstandard

from ..errors import InvalidParameter

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZIP2_MAGIC = b"BZh"
_ZSTD_READ = 1 << 16
# compressed bytes decoded at once: bounds what one piece expands to (about 32 MiB)
_ZSTD_PIECE = 1 << 10

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


class _Zstd(io.RawIOBase):
    """zstd decoded in-process, frame after frame as the ``zstd`` tool does.

    Input is decoded a small piece at a time, since one frame can expand some
    30,000-fold; a corrupt frame, or input that ends inside one, raises InvalidParameter.
    """

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._decompressor = zstandard.ZstdDecompressor()
        self._frame: zstandard.ZstdDecompressionObj | None = None  # None between frames
        self._input = memoryview(b"")
        self._output = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._output:
            if not self._input:
                self._input = memoryview(self._source.read(_ZSTD_READ))
                if not self._input:
                    if self._frame is not None:
                        raise InvalidParameter("invalid zstd data: the input ends inside a frame")
                    return 0
            self._output = memoryview(self._decode_piece())
        n = min(len(buffer), len(self._output))
        buffer[:n] = self._output[:n]
        self._output = self._output[n:]
        return n

    def _decode_piece(self) -> bytes:
        if self._frame is None:
            self._frame = self._decompressor.decompressobj()
        remaining = self._input
        piece, self._input = remaining[:_ZSTD_PIECE], remaining[_ZSTD_PIECE:]
        try:
            decoded = self._frame.decompress(piece)
        except zstandard.ZstdError as exc:
            raise InvalidParameter(f"invalid zstd data: {exc}") from exc
        if self._frame.eof:  # what follows the frame starts the next one
            self._input = remaining[len(piece) - len(self._frame.unused_data):]
            self._frame = None
        return decoded


def open_decompressed(stream: IO[bytes]) -> BinaryIO:
    """Return a reader of the decompressed bytes of ``stream``; the caller closes it."""
    head = stream.read(6)
    raw = io.BufferedReader(_Prefixed(head, stream), 1 << 16)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if head.startswith(ZSTD_MAGIC):
        return io.BufferedReader(_Zstd(raw), 1 << 16)
    if head.startswith(XZ_MAGIC):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    if head.startswith(BZIP2_MAGIC):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    return raw
