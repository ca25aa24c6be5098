"""The desktop app's tests against a real coved, with Qt on the ``offscreen`` platform, and
an Xvfb server of their own for what must run on a real X display (the xcb platform)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """``:N`` of a fresh Xvfb on a free display (Xvfb picks it: ``-displayfd``)."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is required for these tests (scripts/setup --test installs it)")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    try:
        with os.fdopen(read) as ready:
            number = ready.readline().strip()  # written once the server accepts clients
        if not number:
            pytest.fail(f"Xvfb did not start (exit {server.poll()})")
        yield f":{number}"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
