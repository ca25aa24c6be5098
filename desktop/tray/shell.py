""" "Open a shell" in a container: ``cove exec -it <id> sh`` in the user's own terminal.

What to run is built here as data for each OS (tested everywhere); the app starts it
detached, so the terminal outlives neither the app's calls nor blocks them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable

# Debian's alternative first (the user's choice), then the common ones; how each takes a command
LINUX_TERMINALS = (
    ("x-terminal-emulator", "-e"),
    ("gnome-terminal", "--"),
    ("konsole", "-e"),
    ("xfce4-terminal", "-x"),
    ("xterm", "-e"),
)


def cove_command() -> list[str]:
    """The cove CLI beside this Python (an install's script), else run as a module."""
    beside = os.path.join(os.path.dirname(sys.executable), "cove")
    if os.access(beside, os.X_OK):
        return [beside]
    return [sys.executable, "-m", "cove.desktop.cli.main"]


def exec_command(cove: list[str], host: str, container_id: str, shell: str = "sh") -> list[str]:
    return [*cove, "-H", host, "exec", "-it", container_id, shell]


def terminal_argv(
    platform: str, command: list[str], which: Callable[[str], str | None] = shutil.which
) -> list[str] | None:
    """How to run ``command`` in a new terminal window; None when no terminal is found."""
    if platform == "darwin":
        line = shlex.join(command).replace("\\", "\\\\").replace('"', '\\"')
        return ["osascript", "-e", f'tell application "Terminal" to do script "{line}"',
                "-e", 'tell application "Terminal" to activate']  # fmt: skip
    if platform == "win32":
        return ["cmd.exe", "/c", "start", "Cove shell", "cmd.exe", "/k",
                subprocess.list2cmdline(command)]  # fmt: skip
    for terminal, flag in LINUX_TERMINALS:
        found = which(terminal)
        if found:
            return [found, flag, *command]
    return None
