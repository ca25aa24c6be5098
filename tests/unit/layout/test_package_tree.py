"""The tree is one import package, ``cove``, that installs the same from any clone.

The top-level folders (``runtime/``, ``desktop/``, ...) are mapped into ``cove`` by
``pyproject.toml``; these tests hold that mapping to the tree: every package is in the
wheel, nothing is a symlink (a Windows clone turns links into text files), and no
folder is importable under its bare name from the repository's root.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _package_dirs() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-dir"]


def _packages_in_tree() -> set[str]:
    """Every folder with an ``__init__.py`` under a mapped top-level folder, as a package name."""
    found = set()
    for package, folder in _package_dirs().items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            found.add(".".join((package, *rel.parts)))
    return found


def test_every_package_in_the_tree_is_declared() -> None:
    """``cove`` itself is a namespace (no ``__init__.py``): its folder holds only cove.common."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(config["tool"]["setuptools"]["packages"]) == _packages_in_tree() | {"cove"}


def test_the_tree_has_no_symlinks() -> None:
    staged = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    links = [line.split("\t", 1)[1] for line in staged.splitlines() if line.startswith("120000")]
    assert links == []


def test_wheel_holds_every_package_and_no_link(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("cove-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        infos = archive.infolist()
    names = {info.filename for info in infos}
    packages = {name[: -len("/__init__.py")].replace("/", ".")
                for name in names if name.endswith("/__init__.py")}
    assert packages == _packages_in_tree()
    symlink_mode = 0o120000
    assert [i.filename for i in infos if (i.external_attr >> 16) & 0o170000 == symlink_mode] == []
    assert not any(name.startswith(("tests/", "packaging/")) for name in names)


def _run_from_root(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)


def test_pypi_packaging_and_docker_import_from_the_root() -> None:
    result = _run_from_root("import packaging.version, docker; print(packaging.__file__)")
    assert result.returncode == 0, result.stderr
    assert "site-packages" in result.stdout


def test_top_level_folders_are_not_importable_by_bare_name() -> None:
    for folder in ("runtime", "desktop", "vm"):
        result = _run_from_root(f"import {folder}")
        assert result.returncode != 0
        assert f"import cove.{folder}, not {folder}" in result.stderr
    assert _run_from_root("import cove.runtime.errors, cove.desktop, cove.vm").returncode == 0
