"""The shim's output plumbing: json-file log lines, attach frames, timestamps.

The log format is Docker's json-file driver, line by line, so ``docker logs``
semantics (and tools that read the file directly) carry over unchanged.
"""

from __future__ import annotations

import errno
import os
import sys
import time

from cove.runtime.containers import shim_json as json

STDOUT = 1
STDERR = 2
STREAM_NAMES = {STDOUT: "stdout", STDERR: "stderr"}
# Docker's copier flushes a line longer than this as a partial entry.
MAX_LINE = 16 * 1024
REOPEN_SECONDS = 1.0  # how often a log whose file could not be (re)opened is tried again


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

    A write the disk refuses (ENOSPC, EDQUOT, EIO...) drops that entry (a short write is
    cut back so the file stays whole lines) and counts it; the container's output keeps
    being read. One line on stderr (the shim's log) says when dropping starts, one when it
    stops and how many entries went, so a full disk costs two lines, not one per entry.
    """

    def __init__(self, path: str | None, max_size: int = 0, max_files: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self._partial: dict[int, bytes] = {STDOUT: b"", STDERR: b""}
        self._fd = -1
        self._size = 0
        self.dropped = 0  # entries lost in the current burst of failures
        self.dropped_total = 0
        self._retry_open_at = 0.0
        self._open_error: OSError | None = None
        if path:
            self._reopen()

    def _open(self) -> None:
        assert self.path
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                           0o640)
        self._size = os.fstat(self._fd).st_size

    def _reopen(self) -> bool:
        """Open the file, or after an open that failed (rotation on a full disk) try again,
        at most once a ``REOPEN_SECONDS`` so a dead disk is not hammered."""
        now = time.monotonic()
        if now < self._retry_open_at:
            return False
        try:
            self._open()
        except OSError as exc:
            self._retry_open_at = now + REOPEN_SECONDS
            self._open_error = exc
            return False
        return True

    def _drop(self, exc: OSError) -> None:
        if not self.dropped:
            report(f"log write to {self.path} failed ({exc.strerror}); dropping log entries"
                    " until it works again")
        self.dropped += 1
        self.dropped_total += 1

    def _resumed(self) -> None:
        report(f"log writes to {self.path} work again; {self.dropped} entries were dropped")
        self.dropped = 0

    def _rotate(self) -> None:
        assert self.path
        os.close(self._fd)
        self._fd = -1
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
        if not self.path:
            return
        if self._fd < 0 and not self._reopen():
            self._drop(self._open_error or OSError(errno.EIO, os.strerror(errno.EIO)))
            return
        # json.dumps({"log": ..., "stream": ..., "time": ...}) spelt out: every line passes here
        data = ('{"log": ' + json.dumps(chunk.decode("utf-8", "replace")) + ', "stream": "'
                + STREAM_NAMES[stream] + '", "time": "' + rfc3339_nano() + '"}\n').encode()
        try:
            if self.max_size and self._size and self._size + len(data) > self.max_size:
                self._rotate()
            written = os.write(self._fd, data)
        except OSError as exc:  # whatever the disk says, the container must not pay for it
            if self._fd < 0:
                self._open_error = exc
                self._retry_open_at = time.monotonic() + REOPEN_SECONDS
            self._drop(exc)
            return
        if written < len(data):  # the disk filled mid-entry: cut it back to whole lines
            self._cut_back()
            self._drop(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
            return
        self._size += len(data)
        if self.dropped:
            self._resumed()

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            try:
                self._size = os.fstat(self._fd).st_size
            except OSError:
                pass

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
        if self.dropped:
            report(f"log {self.path} closed; {self.dropped} entries were dropped")
            self.dropped = 0


def report(line: str) -> None:
    """One line to the shim's own log (its stderr), which may be on the full disk too: then
    the line is lost, never the shim (``print`` would raise)."""
    try:
        os.write(sys.stderr.fileno(), f"shim: {line}\n".encode())
    except (OSError, ValueError, AttributeError):
        pass
