"""Stream plumbing for attach, exec, and logs: the stdin/stdout pump and the raw TTY.

Without a TTY the daemon's output is multiplexed (``cove.common.stdcopy``); with one it is
raw bytes.
"""

from __future__ import annotations

import os
import sys

from cove.common.detach_keys import EscapeScanner
from cove.common.stdcopy import STDERR, demux

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any, BinaryIO, Protocol

    class RawStream(Protocol):
        def recv(self, size: int = ...) -> bytes: ...
        def sendall(self, data: bytes) -> None: ...
        def close_write(self) -> None: ...
        def shutdown(self) -> None: ...


def write_frames(chunks: Iterable[bytes], stdout: BinaryIO, stderr: BinaryIO,
                 tty: bool) -> None:
    """Copy a (multiplexed unless ``tty``) stream to stdout/stderr, flushing as it goes."""
    if tty:
        for chunk in chunks:
            stdout.write(chunk)
            stdout.flush()
        return
    for stream, payload in demux(chunks):
        target = stderr if stream == STDERR else stdout
        target.write(payload)
        target.flush()


def _recv_chunks(conn: RawStream) -> Iterator[bytes]:
    while True:
        try:
            data = conn.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return
        if not data:
            return
        yield data


def _copy_stdin(conn: RawStream, stdin_fd: int, scanner: EscapeScanner | None,
                detached: list[bool]) -> None:
    """stdin -> socket; half-close at EOF so the container sees end of input. When the
    ``scanner`` sees the detach keys, drop the connection: the output loop ends with it."""
    try:
        while True:
            data = os.read(stdin_fd, 32768)
            if not data:
                if scanner is not None:
                    conn.sendall(scanner.flush())
                break
            if scanner is not None:
                data, seen = scanner.feed(data)
                if seen:
                    if data:
                        conn.sendall(data)
                    detached.append(True)
                    conn.shutdown()
                    return
            if data:
                conn.sendall(data)
    except OSError:
        pass
    conn.close_write()


def pump(conn: RawStream, stdin_fd: int | None, stdout: BinaryIO, stderr: BinaryIO,
         tty: bool, detach_keys: bytes | None = None) -> bool:
    """Copy stdin to the container and its output back until the daemon closes the stream.

    With ``detach_keys`` (a TTY session, as docker watches only there) typing them ends the
    session early; returns whether that happened."""
    detached: list[bool] = []
    if stdin_fd is not None:
        import threading

        scanner = EscapeScanner(detach_keys) if detach_keys else None
        threading.Thread(target=_copy_stdin, args=(conn, stdin_fd, scanner, detached),
                         daemon=True).start()
    write_frames(_recv_chunks(conn), stdout, stderr, tty)
    return bool(detached)


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(height, width) of the terminal on ``fd``, or None if it is not one."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


class RawTerminal:
    """Put the terminal in raw mode for a TTY session and always restore it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: list[Any] | None = None

    def __enter__(self) -> None:
        if not os.isatty(self.fd) or sys.platform == "win32":
            return
        import termios
        import tty as ttymod

        self.saved = termios.tcgetattr(self.fd)
        ttymod.setraw(self.fd, termios.TCSANOW)

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


class ResizeOnWinch:
    """Send the terminal size now and on every SIGWINCH while the session lasts."""

    def __init__(self, resize: Callable[[int, int], None], fd: int) -> None:
        self.resize = resize
        self.fd = fd
        self.signum: int | None = None
        self.previous: object = None

    def send(self, *_args: object) -> None:
        size = terminal_size(self.fd)
        if size is not None and size[0] > 0 and size[1] > 0:
            try:
                self.resize(*size)
            except Exception:  # noqa: BLE001 - a failed resize must not end the session
                pass

    def __enter__(self) -> None:
        import signal
        import threading

        self.send()
        winch = getattr(signal, "SIGWINCH", None)
        if winch is None or threading.current_thread() is not threading.main_thread():
            return
        self.previous = signal.signal(winch, self.send)
        self.signum = winch

    def __exit__(self, *exc: object) -> None:
        if self.signum is not None:
            import signal

            signal.signal(self.signum, self.previous)  # type: ignore[arg-type]
