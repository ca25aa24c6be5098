"""Start at login, the way each OS expects it, always hidden in the tray (users asked for
the app at login without the dashboard popping up):

- Linux: an XDG autostart entry, ``$XDG_CONFIG_HOME/autostart/cove-desktop.desktop``;
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/dev.cove.desktop.plist`` (read at the
  next login; nothing is loaded now);
- Windows: the ``Cove`` value under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

What each writes is built by a pure function, tested on every OS; ``enable`` and
``disable`` put it in place (or take it away) on the OS they run on.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from pathlib import Path

LABEL = "dev.cove.desktop"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Cove"


def login_command() -> list[str]:
    """What runs at login: this Python running the app, hidden in the tray."""
    return [sys.executable, "-m", "cove.desktop.tray.main", "--hidden"]


_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def desktop_quote(arg: str) -> str:
    """One argument of an ``Exec`` key: double-quoted when it holds a reserved character,
    with ``"``, backtick, ``$`` and backslash escaped, and ``%`` doubled (the spec's rules)."""
    arg = arg.replace("%", "%%")
    if not arg or _RESERVED & set(arg):
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        return f'"{escaped}"'
    return arg


def xdg_entry(command: list[str]) -> str:
    """The ``.desktop`` file. The key's value is a string, whose own escapes are undone
    before the quoting: each backslash of the quoted line is written twice."""
    exec_line = " ".join(desktop_quote(arg) for arg in command).replace("\\", "\\\\")
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Cove\n"
        "Comment=Cove's tray icon: the container engine's state and controls\n"
        f"Exec={exec_line}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def launch_agent(command: list[str]) -> bytes:
    """The LaunchAgent plist: run once at login, as an interactive (GUI) process."""
    return plistlib.dumps(
        {
            "Label": LABEL,
            "ProgramArguments": command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }  # fmt: skip
    )


def run_value(command: list[str]) -> str:
    """The ``Run`` key's value: a command line with Windows' quoting."""
    return subprocess.list2cmdline(command)


def xdg_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "").strip() or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".config"
    )
    return Path(base) / "autostart" / "cove-desktop.desktop"


def launch_agent_path(home: Path | None = None) -> Path:
    return (home or Path.home()) / "Library" / "LaunchAgents" / f"{LABEL}.plist"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _set_run_value(value: str | None) -> None:
    """Write (or with None delete) the ``Run`` value; Windows only."""
    if sys.platform != "win32":
        raise OSError("the Run key is Windows'")
    import winreg

    with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
        if value is not None:
            winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, value)
            return
        try:
            winreg.DeleteValue(key, RUN_VALUE)
        except FileNotFoundError:
            pass


def _has_run_value() -> bool:
    if sys.platform != "win32":
        return False
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            winreg.QueryValueEx(key, RUN_VALUE)
    except OSError:
        return False
    return True


def enable(platform: str = sys.platform, command: list[str] | None = None) -> None:
    command = command or login_command()
    if platform == "win32":
        _set_run_value(run_value(command))
    elif platform == "darwin":
        _write(launch_agent_path(), launch_agent(command))
    else:
        _write(xdg_path(), xdg_entry(command).encode())


def disable(platform: str = sys.platform) -> None:
    if platform == "win32":
        _set_run_value(None)
    else:
        path = launch_agent_path() if platform == "darwin" else xdg_path()
        path.unlink(missing_ok=True)


def enabled(platform: str = sys.platform) -> bool:
    """Whether the login item is in place (what the OS will run, not what we remember)."""
    if platform == "win32":
        return _has_run_value()
    path = launch_agent_path() if platform == "darwin" else xdg_path()
    return path.exists()
