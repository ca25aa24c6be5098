"""Terminals: a container's pty pair, its window size, the controlling terminal.

Stdlib only: the container init and the exec helper use these after pivot_root.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios

from cove.runtime.linux.syscalls import KernelError

# <asm-generic/ioctls.h>; Python's termios lacks them
TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430


def set_window_size(fd: int, height: int, width: int) -> None:
    """The rows and columns the terminal on ``fd`` reports (``TIOCSWINSZ``)."""
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
    except OSError as exc:
        raise KernelError(exc.errno or 0, "set window size", f"fd {fd}") from exc


def open_pty(ptmx: str = "/dev/ptmx") -> tuple[int, int]:
    """(master, slave) of a new pty of the devpts instance ``ptmx`` belongs to; both are
    close-on-exec and neither becomes our controlling terminal."""
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0)))[0]
        slave = os.open(os.path.join(os.path.dirname(ptmx), "pts", str(number)),
                        os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        os.close(master)
        raise KernelError(exc.errno or 0, "open pty", ptmx) from exc
    return master, slave


def make_controlling_terminal(fd: int) -> None:
    """Make the terminal on ``fd`` this session leader's controlling terminal (``TIOCSCTTY``)."""
    try:
        fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
    except OSError as exc:
        raise KernelError(exc.errno or 0, "set controlling terminal", f"fd {fd}") from exc
