"""zstd layers are decoded in-process, frame after frame, and broken input is refused."""

from __future__ import annotations

import io
import os
import struct

import pytest
import zstandard

from cove.runtime.errors import InvalidParameter
from cove.runtime.images.compression import open_decompressed
from tests.support.layers import zstd_compress


def _decoded(data: bytes) -> bytes:
    with open_decompressed(io.BytesIO(data)) as plain:
        chunks = []
        while chunk := plain.read(1 << 14):
            chunks.append(chunk)
        return b"".join(chunks)


def test_concatenated_and_skippable_frames_decode_as_the_zstd_tool_does():
    first, second = os.urandom(200_000), b"b" * 300_000
    skippable = struct.pack("<II", 0x184D2A50, 3) + b"pad"
    sized = zstandard.ZstdCompressor().compress(second)  # with a content size this time
    assert _decoded(zstd_compress(first) + skippable + sized) == first + second


def test_a_frame_cut_short_is_refused():
    data = zstd_compress(os.urandom(100_000))
    with pytest.raises(InvalidParameter, match="invalid zstd data: the input ends inside a frame"):
        _decoded(data[:-7])


@pytest.mark.parametrize("tail", [b"garbage!", os.urandom(64)])
def test_bytes_after_the_last_frame_that_are_no_frame_are_refused(tail):
    with pytest.raises(InvalidParameter, match="invalid zstd data"):
        _decoded(zstd_compress(b"layer") + tail)


def test_corrupt_frame_is_refused_with_the_decoders_reason():
    with pytest.raises(InvalidParameter, match="invalid zstd data: .+"):
        _decoded(b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4)


def test_a_highly_compressed_frame_streams_in_bounded_reads():
    size = 64 << 20
    data = zstd_compress(bytes(size))
    assert len(data) < 10_000
    with open_decompressed(io.BytesIO(data)) as plain:
        total = 0
        while chunk := plain.read(1 << 16):
            assert len(chunk) <= 1 << 16
            total += len(chunk)
    assert total == size
