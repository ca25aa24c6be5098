"""Detach keys: the key sequence that leaves a TTY session without ending the container.

Written once for the CLI (which watches what the user types) and the engine (which checks
and watches what an API client sends), in docker's notation: comma-separated keys, each one
character or ``ctrl-<c>`` (moby/term ``ToBytes``); ``ctrl-p,ctrl-q`` by default.
"""

from __future__ import annotations

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"

_CONTROL_NAMES = "@abcdefghijklmnopqrstuvwxyz[\\]^_"  # ctrl-@ is 0 ... ctrl-_ is 31


def parse_detach_keys(keys: str) -> bytes:
    """``"ctrl-p,ctrl-q"`` -> ``b"\\x10\\x11"``; ValueError with docker's wording otherwise."""
    codes = bytearray()
    for key in keys.split(","):
        if len(key) == 1:
            codes += key.encode("latin-1", errors="replace")
            continue
        lowered = key.lower()
        if lowered.startswith("ctrl-") and len(lowered) == 6 and lowered[5] in _CONTROL_NAMES:
            codes.append(_CONTROL_NAMES.index(lowered[5]))
            continue
        raise ValueError(f"Unknown character: '{key}'")
    return bytes(codes)


class EscapeScanner:
    """Finds the detach sequence in input read in any chunking.

    ``feed`` returns the bytes to pass on and whether the sequence was typed; a chunk that
    ends with the start of the sequence is held back until the next one says whether the
    rest follows (docker holds a lone ``ctrl-p`` the same way)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        stream, self._held = self._held + data, b""
        found = stream.find(self.keys)
        if found >= 0:
            return stream[:found], True
        for size in range(min(len(self.keys) - 1, len(stream)), 0, -1):
            if stream.endswith(self.keys[:size]):
                self._held = stream[-size:]
                return stream[:-size], False
        return stream, False

    def flush(self) -> bytes:
        """What was held back, at the end of the input."""
        held, self._held = self._held, b""
        return held
