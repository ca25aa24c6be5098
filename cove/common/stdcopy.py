"""Docker's stdcopy framing, written once for the engine (which frames) and the CLI (which demuxes).

Without a TTY, attach, logs and exec carry stdin, stdout and stderr over one stream as
frames: an 8-byte header — the stream (0 stdin, 1 stdout, 2 stderr), three zero bytes,
the payload's length as a big-endian uint32 — then the payload (moby ``api/pkg/stdcopy``).
A TTY stream is raw bytes with no framing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

STDIN, STDOUT, STDERR = 0, 1, 2
HEADER_SIZE = 8


def encode_frame(stream: int, payload: bytes) -> bytes:
    """One frame: ``payload`` as ``stream``'s."""
    return bytes((stream, 0, 0, 0)) + len(payload).to_bytes(4, "big") + payload


class FrameDemuxer:
    """Incremental parser: ``feed`` bytes in any chunking, get whole frames out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The frames completed by ``data``; a header naming no stream is ``ValueError``."""
        self._buffer += data
        frames: list[tuple[int, bytes]] = []
        while len(self._buffer) >= HEADER_SIZE:
            stream = self._buffer[0]
            if stream not in (STDIN, STDOUT, STDERR):
                raise ValueError(f"Unrecognized input header: {stream}")
            end = HEADER_SIZE + int.from_bytes(self._buffer[4:HEADER_SIZE], "big")
            if len(self._buffer) < end:
                break
            frames.append((stream, bytes(self._buffer[HEADER_SIZE:end])))
            del self._buffer[:end]
        return frames


def demux(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(stream, payload) of each frame of a stream given as arbitrary chunks."""
    parser = FrameDemuxer()
    for chunk in chunks:
        yield from parser.feed(chunk)
