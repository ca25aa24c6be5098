""" "Open a shell": the command each OS's terminal is given."""

from __future__ import annotations

import shlex
import sys

from cove.desktop.tray.shell import cove_command, exec_command, terminal_argv

COMMAND = ["/usr/bin/cove", "-H", "unix:///run/cove.sock", "exec", "-it", "abc", "sh"]


def test_the_command_is_cove_exec_on_the_app_s_engine() -> None:
    assert exec_command(["/usr/bin/cove"], "unix:///run/cove.sock", "abc") == COMMAND
    assert cove_command()[0] in (sys.executable, f"{sys.executable.rsplit('/', 1)[0]}/cove")


def test_linux_takes_the_first_terminal_found_with_its_own_flag() -> None:
    found = {"gnome-terminal": "/usr/bin/gnome-terminal", "xterm": "/usr/bin/xterm"}
    argv = terminal_argv("linux", COMMAND, found.get)
    assert argv == ["/usr/bin/gnome-terminal", "--", *COMMAND]
    assert terminal_argv("linux", COMMAND, {"xterm": "/usr/bin/xterm"}.get) == [
        "/usr/bin/xterm", "-e", *COMMAND]  # fmt: skip
    assert terminal_argv("linux", COMMAND, lambda name: None) is None


def test_macos_asks_terminal_to_run_the_quoted_line() -> None:
    argv = terminal_argv("darwin", [*COMMAND[:-1], 'a "b"'])
    assert argv is not None and argv[0] == "osascript"
    script = argv[2]
    assert script.startswith('tell application "Terminal" to do script "')
    inner = script.split('do script "', 1)[1][:-1].replace('\\"', '"').replace("\\\\", "\\")
    assert shlex.split(inner) == [*COMMAND[:-1], 'a "b"']


def test_windows_starts_a_console_that_stays() -> None:
    argv = terminal_argv("win32", ["C:\\Program Files\\cove.exe", "exec", "-it", "abc", "sh"])
    assert argv == ["cmd.exe", "/c", "start", "Cove shell", "cmd.exe", "/k",
                    '"C:\\Program Files\\cove.exe" exec -it abc sh']  # fmt: skip
