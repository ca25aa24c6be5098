"""The tray follows a Cove machine started outside the app (the CLI, a login): while its
QEMU runs and the engine does not answer yet, the state is starting; when it stops
without an engine, stopped. The machine is a real one's files (cove.vm made them);
its QEMU is stood in for by a process whose pid is in the machine's state file."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from cove.desktop.tray.controller import Controller
from cove.desktop.tray.engine_control import MachineControl
from cove.desktop.tray.state import EngineState


def test_a_machine_booting_outside_the_app_shows_as_starting(qtbot: QtBot, tmp_path: Path) -> None:
    from cove.vm.machine import QemuMachine
    from cove.vm.paths import MachinePaths
    from cove.vm.settings import MachineSettings

    root = tmp_path / "machines"
    machine = QemuMachine(MachinePaths.of("watch", root=root))
    machine.init(MachineSettings(cpus=1, memory_mib=512, disk_gib=1))
    controller = Controller(f"unix://{tmp_path}/no-engine.sock", MachineControl("watch", root=root))
    qtbot.addWidget(controller.dashboard)
    qemu = subprocess.Popen(["sleep", "60"])
    try:
        controller.start()
        qtbot.waitUntil(lambda: controller.status.state is EngineState.STOPPED)
        qtbot.wait(1200)  # a watch or more: nothing boots yet, it stays stopped
        assert controller.status.state is EngineState.STOPPED

        booted = {"qemu_pid": qemu.pid, "ssh_port": 2222, "accel": "tcg", "accel_reason": "",
                  "image": "test", "cpus": 1, "memory_mib": 512, "started_at": time.time()}  # fmt: skip
        machine.state_path.write_text(json.dumps(booted))
        assert machine.booted() is not None  # cove.vm's own reading
        qtbot.waitUntil(lambda: controller.status.state is EngineState.STARTING, timeout=3000)
        assert controller.dashboard.state_label.text() == "Engine starting"

        qemu.kill()
        qemu.wait()
        qtbot.waitUntil(lambda: controller.status.state is EngineState.STOPPED, timeout=3000)
    finally:
        controller.shutdown()
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
