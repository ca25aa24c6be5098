"""How the daemon starts a shim or a helper: a fresh ``python -I -S`` per process.

``-I -S`` skips site and the user's environment, so startup is fast and nothing on
the host can inject code into a process that becomes a container's PID 1. Without
site the ``cove`` package is not importable, so the boot code registers ``cove``
and ``cove.runtime`` as namespace-like modules pointing at the daemon's own
directories; only the modules the shim needs are then imported from there.
"""

from __future__ import annotations

import os
import sys

_BOOT_PACKAGES = (
    "import sys\n"
    # argv: for cove, then cove.runtime, the number of its directories and the directories
    "args, at = sys.argv, 1\n"
    "for name in ('cove', 'cove.runtime'):\n"
    "    count = int(args[at])\n"
    "    module = type(sys)(name)\n"
    "    module.__path__ = args[at + 1:at + 1 + count]\n"
    "    module.__package__ = name\n"
    "    sys.modules[name] = module\n"
    "    at += 1 + count\n"
    "del args[1:at]\n"
    "sys.modules['cove'].runtime = sys.modules['cove.runtime']\n"
)

SHIM_BOOT = _BOOT_PACKAGES + (
    "from cove.runtime.containers.shim import main\n"
    "sys.exit(main(sys.argv[1]))\n"
)

WARM_SHIM_BOOT = _BOOT_PACKAGES + (
    "import os\n"
    "from cove.runtime.containers.shim import main\n"
    "line = b''\n"
    "while not line.endswith(b'\\n'):\n"
    "    chunk = os.read(0, 1)\n"
    "    if not chunk:\n"
    "        sys.exit(0)\n"
    "    line += chunk\n"
    "bundle = line[:-1].decode()\n"
    "log = os.open(bundle + '/shim.log', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)\n"
    "os.dup2(log, 2)\n"
    "os.close(log)\n"
    "sys.exit(main(bundle))\n"
)
"""A shim started before it has a container: imports done, it reads its bundle path from
stdin (one line, byte by byte so nothing of the later ``go`` is buffered away)."""

EXEC_BOOT = _BOOT_PACKAGES + (
    "from cove.runtime.containers.exec_helper import main\n"
    "sys.exit(main(sys.argv[1], *map(int, sys.argv[2:3])))\n"
)

MODULE_BOOT = _BOOT_PACKAGES + (
    "sys.exit(__import__(sys.argv[1], fromlist=['main']).main(sys.argv[2:]))\n"
)


def package_paths() -> list[str]:
    """Where this daemon's ``cove`` and ``cove.runtime`` live, as the boot code reads them:
    for each, the number of its directories, then the directories (no separator to
    escape, whatever the paths hold)."""
    import cove.runtime

    args: list[str] = []
    for package in (cove, cove.runtime):
        directories = list(package.__path__)
        args += [str(len(directories)), *directories]
    return args


def shim_command(bundle_dir: str | os.PathLike[str]) -> list[str]:
    """argv for the shim of the container whose spec.json is in ``bundle_dir``."""
    return [sys.executable, "-I", "-S", "-c", SHIM_BOOT, *package_paths(),
            os.fspath(bundle_dir)]


def warm_shim_command() -> list[str]:
    return [sys.executable, "-I", "-S", "-c", WARM_SHIM_BOOT, *package_paths()]


def exec_command(spec_path: str | os.PathLike[str], report_fd: int | None = None) -> list[str]:
    """argv for the exec helper that runs the process described in ``spec_path``.

    ``report_fd`` (default 3) is the inherited fd the helper writes its one JSON
    line to: ``{"pid": N}`` after a successful exec, else ``{"error", "exit_code"}``.
    """
    argv = [sys.executable, "-I", "-S", "-c", EXEC_BOOT, *package_paths(),
            os.fspath(spec_path)]
    if report_fd is not None:
        argv.append(str(report_fd))
    return argv


def module_command(module: str, *args: str) -> list[str]:
    """argv for a fresh ``python -I -S`` that runs ``module.main(list(args))`` with only the
    daemon's ``cove`` importable, for helpers that chroot before they read their input."""
    return [sys.executable, "-I", "-S", "-c", MODULE_BOOT, *package_paths(), module, *args]
