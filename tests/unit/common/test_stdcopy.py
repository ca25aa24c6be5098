"""stdcopy framing (cove.common.stdcopy): what the engine writes, the CLI reads back."""

from __future__ import annotations

import pytest

from cove.common.stdcopy import FrameDemuxer, demux, encode_frame


def test_frame_header_is_stream_three_zeros_and_big_endian_length() -> None:
    assert encode_frame(2, b"abc") == b"\x02\x00\x00\x00\x00\x00\x00\x03abc"


def test_demux_handles_arbitrary_chunking() -> None:
    stream = encode_frame(1, b"out\n") + encode_frame(2, b"err\n") + encode_frame(1, b"")
    byte_chunks = [stream[i:i + 1] for i in range(len(stream))]
    assert list(demux(byte_chunks)) == [(1, b"out\n"), (2, b"err\n"), (1, b"")]


def test_demux_header_is_big_endian_length() -> None:
    frame = bytes([2, 0, 0, 0, 0, 0, 1, 0]) + b"x" * 256
    assert FrameDemuxer().feed(frame) == [(2, b"x" * 256)]


def test_demux_keeps_an_incomplete_frame_for_the_next_feed() -> None:
    demuxer = FrameDemuxer()
    frame = encode_frame(1, b"hello")
    assert demuxer.feed(frame[:6]) == []
    assert demuxer.feed(frame[6:]) == [(1, b"hello")]


def test_demux_rejects_unknown_stream_type() -> None:
    with pytest.raises(ValueError, match="Unrecognized input header: 7"):
        FrameDemuxer().feed(bytes([7, 0, 0, 0, 0, 0, 0, 1, 0]))
