"""Doing one thing inside another network namespace, on a thread of its own.

Python 3.11 has no ``os.setns``, and a daemon's main thread must never change namespace
(everything it opens afterwards would land there). A network namespace is a per-thread
attribute, so ``in_netns`` runs a function on a fresh thread that joins the namespace
first and dies afterwards; what the function opened (a netlink socket, a sysctl file)
stays bound to that namespace. No fork: coved is multithreaded.

A namespace is named by a pid (its ``/proc/<pid>/ns/net``) or by the path of a netns file
(``/run/netns/<name>``, a bind mount a container keeps).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

from cove.runtime.linux.syscalls import CLONE_NEWNET, kernel

T = TypeVar("T")

NetnsRef = int | str
"""A network namespace: a pid, or the path of a netns file."""


def netns_path(netns: NetnsRef) -> str:
    """The file that names ``netns``."""
    return f"/proc/{netns}/ns/net" if isinstance(netns, int) else netns


def in_netns(netns: NetnsRef | None, action: Callable[[], T]) -> T:
    """``action()``'s result, run inside ``netns`` (in this thread's own when None)."""
    if netns is None:
        return action()
    path = netns_path(netns)
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                kernel().setns(fd, CLONE_NEWNET, path)
            finally:
                os.close(fd)
            result.append(action())
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="cove-netns")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def sockets_in_netns(
    netns: NetnsRef, address: str, port: int = 0, backlog: int = 64
) -> list[socket.socket]:
    """A UDP socket and a listening TCP socket bound to ``address``:``port`` inside
    ``netns`` (each on a port the kernel picks when ``port`` is 0), non-blocking. A socket stays in the namespace it was made
    in, whatever thread uses it later, so coved serves them from its own threads; they
    also hold the namespace alive until closed."""

    def bind() -> list[socket.socket]:
        made: list[socket.socket] = []
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                sock = socket.socket(socket.AF_INET, kind)
                made.append(sock)
                sock.bind((address, port))
                if kind == socket.SOCK_STREAM:
                    sock.listen(backlog)
                sock.setblocking(False)
        except BaseException:
            for sock in made:
                sock.close()
            raise
        return made

    return in_netns(netns, bind)


def netns_identity(netns: NetnsRef) -> tuple[int, int] | None:
    """The namespace's (device, inode), which names it for as long as it lives (a pid's
    file may later name another one); None when it is gone."""
    try:
        st = os.stat(netns_path(netns))
    except OSError:
        return None
    return st.st_dev, st.st_ino
