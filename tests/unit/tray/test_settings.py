"""The app's settings file: saved whole, read back, and never in the way of a start."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cove.desktop.tray import settings
from cove.desktop.tray.settings import AppSettings


def test_settings_are_read_back_as_saved(tmp_path: Path) -> None:
    where = tmp_path / "cove" / "desktop.json"
    wanted = AppSettings(start_at_login=True, show_timestamps=True, open_dashboard_at_start=False)
    settings.save(wanted, where)
    assert settings.load(where) == wanted
    assert json.loads(where.read_text())["show_timestamps"] is True
    assert [p.name for p in where.parent.iterdir()] == ["desktop.json"]  # no temp file left


def test_missing_or_broken_files_give_the_defaults(tmp_path: Path) -> None:
    assert settings.load(tmp_path / "none.json") == AppSettings()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert settings.load(broken) == AppSettings()
    broken.write_text('["a list"]')
    assert settings.load(broken) == AppSettings()


def test_unknown_keys_and_wrong_types_are_dropped(tmp_path: Path) -> None:
    where = tmp_path / "desktop.json"
    where.write_text('{"show_timestamps": true, "start_at_login": "yes", "theme": "dark"}')
    assert settings.load(where) == AppSettings(show_timestamps=True)


def test_the_file_is_in_cove_s_config_directory() -> None:
    """(the test session points ``COVE_CONFIG`` at a temporary directory)"""
    assert settings.path() == Path(os.environ["COVE_CONFIG"]) / "desktop.json"
