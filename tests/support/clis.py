"""The two command lines the integration tests drive: the real docker CLI and Cove's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

DOCKER = shutil.which("docker")
# the cove installed beside this interpreter (the venv's), not whatever PATH has
COVE = shutil.which("cove", path=os.path.dirname(sys.executable)) or shutil.which("cove") or "cove"


class CLI:
    """Runs a command line against the test daemon and returns (exit code, stdout, stderr)."""

    def __init__(self, argv0: list[str], env: dict[str, str]) -> None:
        self.argv0 = argv0
        self.env = env

    def __call__(self, *args: str, input: str | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.argv0, *args], input=input, env=self.env,
                              capture_output=True, text=True, timeout=timeout)
