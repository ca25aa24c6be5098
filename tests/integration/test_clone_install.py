"""A clone made where links are not allowed (``core.symlinks=false``, as on Windows) installs
and imports: the package tree must not depend on symlinks anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_EVERY_MODULE = r"""
import importlib, pkgutil, cove
names = [m.name for m in pkgutil.walk_packages(cove.__path__, "cove.")]
for name in names:
    importlib.import_module(name)
import cove.runtime
assert [p for p in cove.__path__ if not p.startswith(TARGET)] == [], list(cove.__path__)
assert cove.runtime.__file__.startswith(TARGET), cove.runtime.__file__
print("\n".join(names))
"""


def test_clone_without_symlinks_installs_and_imports_every_module(tmp_path: Path) -> None:
    clone, target = tmp_path / "clone", tmp_path / "site"
    subprocess.run(["git", "clone", "-q", "-c", "core.symlinks=false", str(ROOT), str(clone)],
                   check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(clone)],
                   check=True, capture_output=True)
    # -S with the dependencies on PYTHONPATH: their .pth files (this checkout's editable
    # install among them) are not read, so only the clone's install provides cove
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_path("purelib")])}
    result = subprocess.run(
        [sys.executable, "-S", "-c", f"TARGET = {str(target)!r}\n" + IMPORT_EVERY_MODULE],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    imported = set(result.stdout.split())
    assert {"cove.runtime.daemon", "cove.runtime.api.server", "cove.desktop.cli.main",
            "cove.common.reference", "cove.vm", "cove.guest_agent"} <= imported
