"""The host's end of the control port (``cove.guest_agent.control``): the once-per-boot
exchange with the guest's init, before SSH exists.

After a cold boot, init says ``ready`` at its hold point and waits; ``machine start`` may
save the VM's state there, then sends ``go`` with the time and fresh entropy. A VM
restored from that state resumes inside the same wait, so it gets only the ``go``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from cove.guest_agent import protocol
from cove.vm.errors import BootFailed

Address = Path | tuple[str, int]  # a Unix socket, or loopback TCP on Windows
POLL = 0.05


class ControlPort:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    @classmethod
    def connect(cls, address: Address, alive: Callable[[], bool], deadline: float
                ) -> ControlPort:
        """Connects to QEMU's end of the port, retrying while QEMU sets it up."""
        while True:
            family = socket.AF_UNIX if isinstance(address, Path) else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.connect(str(address) if isinstance(address, Path) else address)
                return cls(sock)
            except OSError as exc:
                sock.close()
                _check(alive, deadline, f"cannot reach the guest's control port: {exc}")
                time.sleep(POLL)

    def wait_ready(self, alive: Callable[[], bool], deadline: float) -> None:
        """Until init says ready; BootFailed if QEMU dies or the deadline passes first."""
        self.sock.settimeout(POLL)
        while b"\n" not in self.buffer:
            _check(alive, deadline, "the guest's init never reached its hold point")
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                raise BootFailed("the VM stopped while booting")
            self.buffer += chunk
            if len(self.buffer) > protocol.MAX_LINE:
                raise BootFailed("the guest's control port sent a line too long")
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            message = protocol.decode(line)
        except protocol.ProtocolError as exc:
            raise BootFailed(f"the guest's control port: {exc}") from exc
        if message.get("op") != "ready":
            raise BootFailed(f"the guest's control port said {message!r}, not ready")

    def go(self, registry_mirrors: tuple[str, ...] = (),
           shares: tuple[protocol.SharedFolder, ...] = ()) -> None:
        self.sock.settimeout(5)
        self.sock.sendall(protocol.encode(protocol.go_message(
            time.time_ns(), os.urandom(protocol.ENTROPY_BYTES), registry_mirrors, shares)))

    def close(self) -> None:
        self.sock.close()


def _check(alive: Callable[[], bool], deadline: float, what: str) -> None:
    if not alive():
        raise BootFailed("the VM stopped while booting")
    if time.monotonic() > deadline:
        raise BootFailed(what)
