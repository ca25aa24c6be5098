"""What the host's go adds to the guest's coved: flags passed on as it is released from its
hold (a saved state's coved was started before the host said them)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from cove.guest_agent import init, protocol


def test_a_held_coved_takes_the_flags_it_is_released_with() -> None:
    ours, theirs = socket.socketpair()
    with ours:
        coved = subprocess.Popen(
            [sys.executable, "-m", "cove.runtime.daemon", "--hold-fd", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        theirs.close()
        ours.settimeout(60)
        assert ours.recv(1) == b"L"
        ours.sendall(b"G" + json.dumps(["--version"]).encode())
    out, err = coved.communicate(timeout=60)
    assert coved.returncode == 0, err
    assert out.startswith("Cove engine (coved) version ")


def test_init_releases_coved_with_the_mirrors_and_keeps_them_for_its_restarts() -> None:
    go = protocol.Go(1, b"", ("http://127.0.0.1:5999", "https://m.example.com"))
    flags = init.engine_flags(go)
    assert flags == ["--registry-mirror", "http://127.0.0.1:5999",
                     "--registry-mirror", "https://m.example.com"]
    assert init.engine_flags(None) == []
    service = init.Service("coved", ["coved"], held=True)
    ours, theirs = socket.socketpair()
    service.hold = theirs
    with ours:
        service.release(flags)
        assert ours.recv(4096) == b"G" + json.dumps(flags).encode()
    assert service.argv == ["coved", *flags] and not service.held
