"""The shim's output plumbing: json-file log lines, attach frames, timestamps.

The log format is Docker's json-file driver, line by line, so ``docker logs``
semantics (and tools that read the file directly) carry over unchanged.
"""

from __future__ import annotations

import os
import time

from cove.runtime.containers import shim_json as json

STDOUT = 1
STDERR = 2
STREAM_NAMES = {STDOUT: "stdout", STDERR: "stderr"}
# Docker's copier flushes a line longer than this as a partial entry.
MAX_LINE = 16 * 1024


def rfc3339_nano(ns: int | None = None) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction are trimmed."""
    if ns is None:
        ns = time.time_ns()
    seconds, fraction = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    digits = f"{fraction:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


def frame(stream: int, data: bytes) -> bytes:
    """One attach frame: stream byte, 4-byte big-endian length, payload."""
    return bytes((stream,)) + len(data).to_bytes(4, "big") + data


class JsonFileLog:
    """Appends json-file entries; splits on newlines, flushes partial lines at EOF.

    With ``max_size`` (``--log-opt max-size``) a full file is rotated to ``.1`` (older
    ones shifted up to ``.{max_files - 1}``, the oldest dropped), as docker's json-file
    driver keeps ``max-file`` files in all.
    """

    def __init__(self, path: str | None, max_size: int = 0, max_files: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self._partial: dict[int, bytes] = {STDOUT: b"", STDERR: b""}
        self._fd = -1
        self._size = 0
        if path:
            self._open()

    def _open(self) -> None:
        assert self.path
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                           0o640)
        self._size = os.fstat(self._fd).st_size

    def _rotate(self) -> None:
        assert self.path
        os.close(self._fd)
        if self.max_files == 1:
            os.truncate(self.path, 0)
        else:
            for number in range(self.max_files - 1, 1, -1):
                try:
                    os.replace(f"{self.path}.{number - 1}", f"{self.path}.{number}")
                except FileNotFoundError:
                    pass
            os.replace(self.path, self.path + ".1")
        self._open()

    def _emit(self, stream: int, chunk: bytes) -> None:
        if self._fd < 0:
            return
        # json.dumps({"log": ..., "stream": ..., "time": ...}) spelt out: every line passes here
        data = ('{"log": ' + json.dumps(chunk.decode("utf-8", "replace")) + ', "stream": "'
                + STREAM_NAMES[stream] + '", "time": "' + rfc3339_nano() + '"}\n').encode()
        if self.max_size and self._size and self._size + len(data) > self.max_size:
            self._rotate()
        os.write(self._fd, data)
        self._size += len(data)

    def write(self, stream: int, data: bytes) -> None:
        buffered = self._partial[stream] + data
        while True:
            newline = buffered.find(b"\n")
            if newline < 0:
                break
            self._emit(stream, buffered[:newline + 1])
            buffered = buffered[newline + 1:]
        while len(buffered) >= MAX_LINE:
            self._emit(stream, buffered[:MAX_LINE])
            buffered = buffered[MAX_LINE:]
        self._partial[stream] = buffered

    def flush(self, stream: int | None = None) -> None:
        """Write out what is left of a line (at the stream's EOF)."""
        for key in ([stream] if stream else list(self._partial)):
            if self._partial[key]:
                self._emit(key, self._partial[key])
                self._partial[key] = b""

    def close(self) -> None:
        self.flush()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
