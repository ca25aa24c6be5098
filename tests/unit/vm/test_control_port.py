"""The boot's go over the control port: the host's side (``cove.vm.control``) against the
guest's (``cove.guest_agent.control``), over a real Unix socket standing in for QEMU's."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from cove.guest_agent import control as guest
from cove.guest_agent import protocol
from cove.vm.control import ControlPort
from cove.vm.errors import BootFailed


def _serve_guest(path: Path, got: list[protocol.Go]) -> threading.Thread:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def run() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                got.append(guest.exchange(conn.fileno()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_host_hears_ready_and_the_guest_gets_the_time_and_fresh_entropy(tmp_path: Path) -> None:
    got: list[protocol.Go] = []
    thread = _serve_guest(tmp_path / "c.sock", got)
    deadline = time.monotonic() + 10
    port = ControlPort.connect(tmp_path / "c.sock", lambda: True, deadline)
    try:
        port.wait_ready(lambda: True, deadline)
        before = time.time_ns()
        port.go()
        thread.join(10)
    finally:
        port.close()
    [(host_ns, entropy)] = [(g.host_ns, g.entropy) for g in got]
    assert before <= host_ns <= time.time_ns()
    assert len(entropy) == protocol.ENTROPY_BYTES and entropy != bytes(len(entropy))


def test_a_qemu_that_exits_before_the_guest_is_ready_fails_the_boot(tmp_path: Path) -> None:
    with pytest.raises(BootFailed, match="stopped while booting"):
        ControlPort.connect(tmp_path / "never.sock", lambda: False, time.monotonic() + 10)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "quiet.sock"))
    server.listen(1)
    with server:
        port = ControlPort.connect(tmp_path / "quiet.sock", lambda: True, time.monotonic() + 5)
        try:
            with pytest.raises(BootFailed, match="hold point"):
                port.wait_ready(lambda: True, time.monotonic() + 0.3)
        finally:
            port.close()


def test_the_guest_waits_through_end_of_file_until_the_go_arrives() -> None:
    """A restored guest reads end-of-file until the new QEMU's host side connects."""
    ours, theirs = socket.socketpair()
    got: list[protocol.Go] = []
    with ours, theirs:
        thread = threading.Thread(target=lambda: got.append(guest.exchange(theirs.fileno())))
        thread.start()
        assert protocol.decode(ours.recv(4096)) == protocol.ready_message()
        line = protocol.encode(protocol.go_message(123, b"\x01" * 8))
        ours.sendall(line[:10])
        ours.sendall(line[10:])
        thread.join(10)
    assert got == [protocol.Go(123, b"\x01" * 8)]


def test_a_go_that_is_not_one_is_refused() -> None:
    for bad in ({"op": "go", "host_ns": "1", "entropy": "00"}, {"op": "stop"},
                {"op": "go", "host_ns": 1, "entropy": "zz"}):
        with pytest.raises(protocol.ProtocolError):
            protocol.read_go(bad)
