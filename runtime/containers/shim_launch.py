"""How the daemon starts a shim or a helper: a fresh ``python -I -S`` per process.

``-I -S`` skips site and the user's environment, so startup is fast and nothing on
the host can inject code into a process that becomes a container's PID 1. Without
site the ``cove`` package is not importable, so the boot code registers ``cove``
and ``cove.runtime`` as namespace-like modules pointing at the daemon's own
directories; only the modules the shim needs are then imported from there.
"""

from __future__ import annotations

import json
import os
import sys

_BOOT_PACKAGES = (
    "import sys\n"
    # _json's scanner, not json: importing json (re, enum) costs ~10 ms here
    "import _json\n"
    "ctx = type('Ctx', (), dict(strict=True, object_hook=None, object_pairs_hook=None,"
    " parse_float=float, parse_int=int, parse_constant=float, memo={}))()\n"
    "paths = _json.make_scanner(ctx)(sys.argv[1], 0)[0]\n"
    "for name, dirs in paths:\n"
    "    module = type(sys)(name)\n"
    "    module.__path__ = dirs\n"
    "    module.__package__ = name\n"
    "    sys.modules[name] = module\n"
    "sys.modules['cove'].runtime = sys.modules['cove.runtime']\n"
)

SHIM_BOOT = _BOOT_PACKAGES + (
    "from cove.runtime.containers.shim import main\n"
    "sys.exit(main(sys.argv[2]))\n"
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
    "sys.exit(main(sys.argv[2], *map(int, sys.argv[3:4])))\n"
)

MODULE_BOOT = _BOOT_PACKAGES + (
    "sys.exit(__import__(sys.argv[2], fromlist=['main']).main(sys.argv[3:]))\n"
)


def package_paths_json() -> str:
    """Where this daemon's ``cove`` and ``cove.runtime`` live, for the boot code."""
    import cove.runtime

    return json.dumps([["cove", list(cove.__path__)],
                       ["cove.runtime", list(cove.runtime.__path__)]])


def shim_command(bundle_dir: str | os.PathLike[str]) -> list[str]:
    """argv for the shim of the container whose spec.json is in ``bundle_dir``."""
    return [sys.executable, "-I", "-S", "-c", SHIM_BOOT, package_paths_json(),
            os.fspath(bundle_dir)]


def warm_shim_command() -> list[str]:
    return [sys.executable, "-I", "-S", "-c", WARM_SHIM_BOOT, package_paths_json()]


def exec_command(spec_path: str | os.PathLike[str], report_fd: int | None = None) -> list[str]:
    """argv for the exec helper that runs the process described in ``spec_path``.

    ``report_fd`` (default 3) is the inherited fd the helper writes its one JSON
    line to: ``{"pid": N}`` after a successful exec, else ``{"error", "exit_code"}``.
    """
    argv = [sys.executable, "-I", "-S", "-c", EXEC_BOOT, package_paths_json(),
            os.fspath(spec_path)]
    if report_fd is not None:
        argv.append(str(report_fd))
    return argv


def module_command(module: str, *args: str) -> list[str]:
    """argv for a fresh ``python -I -S`` that runs ``module.main(list(args))`` with only the
    daemon's ``cove`` importable, for helpers that chroot before they read their input."""
    return [sys.executable, "-I", "-S", "-c", MODULE_BOOT, package_paths_json(), module, *args]
