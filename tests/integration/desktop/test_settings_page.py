"""The settings page: changes are saved as made and are there after a restart of the app;
start at login puts the OS's login item in place; the Cove machine's resources are
written through cove.vm and the page says when they apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from cove.desktop.tray import settings as app_settings
from cove.desktop.tray.controller import Controller
from cove.desktop.tray.engine_control import EngineControl, MachineControl, NativeEngine


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's config and the XDG autostart directory, the test's own."""
    monkeypatch.setenv("COVE_CONFIG", str(tmp_path / "cove"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def _controller(qtbot: QtBot, host: str, control: EngineControl) -> Controller:
    controller = Controller(host, control)
    qtbot.addWidget(controller.dashboard)
    return controller


@pytest.fixture
def stopped_host(tmp_path: Path) -> str:
    return f"unix://{tmp_path}/no-engine.sock"


@pytest.fixture
def controllers(qtbot: QtBot) -> Iterator[list[Controller]]:
    made: list[Controller] = []
    yield made
    for controller in made:
        controller.shutdown()


def test_settings_persist_across_restarts(
    qtbot: QtBot, config: Path, stopped_host: str, controllers: list[Controller]
) -> None:
    first = _controller(qtbot, stopped_host, NativeEngine())
    controllers.append(first)
    first.start()
    page = first.dashboard.settings
    assert not page.start_at_login.isChecked()
    page.start_at_login.setChecked(True)
    entry = config / "xdg" / "autostart" / "cove-desktop.desktop"
    qtbot.waitUntil(lambda: first.settings.start_at_login, timeout=5000)
    assert "--hidden" in entry.read_text()
    first.dashboard.logs.timestamps.setChecked(True)
    page.open_dashboard.setChecked(False)
    first.shutdown()

    saved = app_settings.load()
    assert saved == app_settings.AppSettings(
        start_at_login=True, show_timestamps=True, open_dashboard_at_start=False)  # fmt: skip
    second = _controller(qtbot, stopped_host, NativeEngine())
    controllers.append(second)
    second.start()
    assert second.dashboard.settings.start_at_login.isChecked()
    assert second.dashboard.logs.timestamps.isChecked()
    assert not second.dashboard.settings.open_dashboard.isChecked()

    second.dashboard.settings.start_at_login.setChecked(False)
    qtbot.waitUntil(lambda: not entry.exists(), timeout=5000)
    qtbot.waitUntil(lambda: not app_settings.load().start_at_login, timeout=5000)


def test_the_box_shows_the_login_item_even_if_the_file_says_otherwise(
    qtbot: QtBot, config: Path, stopped_host: str, controllers: list[Controller]
) -> None:
    app_settings.save(app_settings.AppSettings(start_at_login=True))  # but no entry exists
    controller = _controller(qtbot, stopped_host, NativeEngine())
    controllers.append(controller)
    controller.start()
    assert not controller.dashboard.settings.start_at_login.isChecked()


def test_the_native_engine_has_no_machine_to_size(
    qtbot: QtBot, config: Path, stopped_host: str, controllers: list[Controller]
) -> None:
    controller = _controller(qtbot, stopped_host, NativeEngine())
    controllers.append(controller)
    controller.start()
    page = controller.dashboard.settings
    assert not page.apply.isEnabled()
    assert "this machine's own coved" in page.machine_note.text()


def test_the_machine_s_resources_are_set_for_its_next_start(
    qtbot: QtBot, config: Path, stopped_host: str, controllers: list[Controller]
) -> None:
    from cove.vm.machine import QemuMachine
    from cove.vm.paths import MachinePaths
    from cove.vm.settings import MachineSettings

    root = config / "machines"
    machine = QemuMachine(MachinePaths.of("desk", root=root))
    machine.init(MachineSettings(cpus=1, memory_mib=512, disk_gib=2))
    controller = _controller(qtbot, stopped_host, MachineControl("desk", root=root))
    controllers.append(controller)
    controller.start()
    page = controller.dashboard.settings
    qtbot.waitUntil(page.apply.isEnabled, timeout=5000)
    assert (page.cpus.value(), page.memory.value(), page.disk.value()) == (1, 512, 2)

    page.memory.setValue(1024)
    page.disk.setValue(3)
    page.apply.click()
    qtbot.waitUntil(lambda: page.machine_note.text().startswith("Saved"), timeout=10000)
    assert page.machine_note.text() == "Saved: the machine starts with them."
    wanted = machine.settings()
    assert (wanted.cpus, wanted.memory_mib, wanted.disk_gib) == (1, 1024, 3)

    page.disk.setValue(1)  # a disk only grows: cove.vm refuses, the page shows it
    page.apply.click()
    messages = controller.dashboard.messages
    qtbot.waitUntil(lambda: "the disk can only grow" in messages.text, timeout=5000)
    assert machine.settings().disk_gib == 3


def test_the_native_engine_has_no_mirrors_or_shared_folders_to_set_and_says_why(
    qtbot: QtBot, config: Path, stopped_host: str, controllers: list[Controller]
) -> None:
    controller = _controller(qtbot, stopped_host, NativeEngine())
    controllers.append(controller)
    controller.start()
    page = controller.dashboard.settings
    for field in (page.mirrors, page.mirror_entry, page.add_mirror, page.shares,
                  page.share_entry, page.add_share, page.remove_share):
        assert not field.isEnabled()
    assert "/var/lib/cove/daemon.json" in page.lists_note.text()


def test_mirrors_and_shared_folders_are_saved_through_cove_vm_and_kept_across_restarts(
    qtbot: QtBot, config: Path, stopped_host: str, controllers: list[Controller]
) -> None:
    from cove.vm.machine import QemuMachine
    from cove.vm.paths import MachinePaths
    from cove.vm.settings import MachineSettings, Share

    root = config / "machines"
    folder = config / "code"
    folder.mkdir()
    machine = QemuMachine(MachinePaths.of("desk", root=root))
    machine.init(MachineSettings(cpus=1, memory_mib=512, disk_gib=1))
    first = _controller(qtbot, stopped_host, MachineControl("desk", root=root))
    controllers.append(first)
    first.start()
    page = first.dashboard.settings
    qtbot.waitUntil(page.add_mirror.isEnabled, timeout=5000)
    assert page.lists_note.text() == "Applied at the next restart of the engine."

    page.mirror_entry.setText("https://mirror.example.com/")
    page.add_mirror.click()
    qtbot.waitUntil(lambda: page.mirrors.count() == 1 and page.add_mirror.isEnabled(),
                    timeout=10000)
    assert page.mirrors.item(0).text() == "https://mirror.example.com"  # as cove.vm saved it
    page.share_entry.setText(str(folder))
    page.share_read_only.setChecked(True)
    page.add_share.click()
    qtbot.waitUntil(lambda: page.shares.count() == 1 and page.add_share.isEnabled(),
                    timeout=10000)
    assert page.lists_note.text() == "Saved: the machine starts with them."

    page.mirror_entry.setText("mirror.example.com")  # refused by cove.vm, with dockerd's words
    page.add_mirror.click()
    messages = first.dashboard.messages
    qtbot.waitUntil(lambda: "no scheme specified" in messages.text, timeout=10000)
    qtbot.waitUntil(page.add_mirror.isEnabled, timeout=10000)
    assert page.mirrors.count() == 1
    wanted = machine.settings()
    assert wanted.registry_mirrors == ("https://mirror.example.com",)
    assert wanted.shares == (Share(str(folder), True),)
    first.shutdown()

    second = _controller(qtbot, stopped_host, MachineControl("desk", root=root))
    controllers.append(second)
    second.start()
    page = second.dashboard.settings
    qtbot.waitUntil(lambda: page.shares.count() == 1, timeout=5000)
    assert page.shares.item(0).text() == f"{folder} (read-only)"
    assert page.mirrors.item(0).text() == "https://mirror.example.com"
    page.mirrors.setCurrentRow(0)
    page.remove_mirror.click()
    qtbot.waitUntil(lambda: page.mirrors.count() == 0 and page.add_mirror.isEnabled(),
                    timeout=10000)
    assert machine.settings().registry_mirrors == ()
