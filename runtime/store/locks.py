"""Advisory file locks (``flock``) on the store's lock files.

A lock lives as long as its open descriptor: closing the descriptor, or the process
dying, releases it, so a crash never leaves a lock behind.
"""

from __future__ import annotations

import fcntl
import os


def open_lock(path: str | os.PathLike[str]) -> int:
    """A descriptor on the lock file at ``path`` (created when missing); the caller
    closes it, which releases any lock taken on it."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def hold(fd: int, *, shared: bool = False) -> None:
    """Take the lock on ``fd``, waiting while another holder conflicts with it."""
    fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)


def try_hold(fd: int) -> bool:
    """Take the lock on ``fd`` exclusively if nobody holds it; False when somebody does."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def hold_if_free(path: str | os.PathLike[str]) -> int | None:
    """The lock at ``path`` held exclusively (the caller closes the descriptor), or None,
    without waiting, while somebody else holds it."""
    fd = open_lock(path)
    if not try_hold(fd):
        os.close(fd)
        return None
    return fd
