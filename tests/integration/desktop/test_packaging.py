"""packaging/desktop/build makes the Linux desktop integration and the icon set."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_build_makes_the_linux_tarball_and_the_icons(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run([str(ROOT / "packaging/desktop/build"), str(out)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    tarball = out / "cove-desktop-linux.tar.gz"
    assert done.stdout.strip() == str(tarball)
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
        entry = archive.extractfile("share/applications/cove-desktop.desktop")
        assert entry is not None
        desktop = entry.read().decode()
    assert "share/icons/hicolor/256x256/apps/cove-desktop.png" in names
    assert (out / "icons/windows/cove.ico").stat().st_size > 1000
    assert (out / "icons/macos/coveTemplate@2x.png").exists()
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(desktop)
    section = parser["Desktop Entry"]
    assert section["Exec"] == "cove-desktop"  # the wheel's GUI entry point
    assert section["Icon"] == "cove-desktop"  # the hicolor name in the tarball
    assert section["Type"] == "Application"
    assert section["Terminal"] == "false"
