"""The troubleshoot and settings pages' side of the controller: the engine's log, clean
up, factory reset, start at login and the Cove machine's resources."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from . import autostart
from . import settings as app_settings
from .engine_control import MachineControl, MachineLists
from .resources import reclaimed
from .state import Happening

if TYPE_CHECKING:
    from .controller import Controller

NATIVE_LOG = (
    "The native engine is coved on this machine: its log is what it writes to its "
    "standard error, wherever it was started (a service manager's journal, or a terminal)."
)
NATIVE_RESET = (
    "The native engine's data belongs to root: to start afresh, stop coved and remove its "
    "data root (/var/lib/cove unless --data-root says otherwise)."
)


class Maintenance(QObject):
    def __init__(self, app: Controller) -> None:
        super().__init__(app)
        self.app = app
        trouble = app.dashboard.troubleshoot
        trouble.refresh_requested.connect(self.show_engine_log)
        trouble.restart_requested.connect(app.restart_engine)
        trouble.clean_up_requested.connect(self.clean_up)
        trouble.reset_requested.connect(self.factory_reset)
        page = app.dashboard.settings
        page.changed.connect(self._settings_saved)
        page.start_at_login_requested.connect(self.set_start_at_login)
        page.machine_change_requested.connect(self.set_machine_resources)
        page.lists_change_requested.connect(self.set_machine_lists)

    def start(self) -> None:
        self.app.dashboard.settings.show_start_at_login(autostart.enabled())
        self.load_machine_resources()
        self.show_engine_log()

    def show_engine_log(self) -> None:
        page = self.app.dashboard.troubleshoot
        control = self.app.control
        if isinstance(control, MachineControl):
            self.app.call(control.console, page.show_log)
        else:
            page.show_log(NATIVE_LOG)

    def clean_up(self) -> None:
        """What ``cove system prune --all --volumes`` removes, through the same endpoints."""
        client = self.app.client

        def prune_all() -> str:
            counts = {}
            space = 0
            for kind, report, listed in (
                ("containers", client.prune_containers(), "ContainersDeleted"),
                ("images", client.prune_images({"dangling": ["false"]}), "ImagesDeleted"),
                # (API 1.41: a volume prune takes named volumes too, with no "all" filter)
                ("volumes", client.prune_volumes(), "VolumesDeleted"),
                ("networks", client.prune_networks(), "NetworksDeleted"),
                ("build cache", client.prune_build_cache(everything=True), "CachesDeleted"),
            ):  # fmt: skip
                report = report if isinstance(report, dict) else {}
                counts[kind] = len(report.get(listed) or [])
                space += int(report.get("SpaceReclaimed") or 0)
            removed = ", ".join(f"{n} {kind}" for kind, n in counts.items())
            return f"Removed {removed}. {reclaimed({'SpaceReclaimed': space})}"

        self.app.call(prune_all, self.app.dashboard.troubleshoot.result.setText)

    def factory_reset(self) -> None:
        control = self.app.control
        if not isinstance(control, MachineControl):
            self.app.error.emit(NATIVE_RESET)
            return
        self.app.advance(Happening.STOP_REQUESTED)
        page = self.app.dashboard.troubleshoot

        def failed(exc: Exception) -> None:
            self.app.advance(Happening.ACTION_FAILED, str(exc))
            self.app.error.emit(str(exc))

        def done(_: object) -> None:
            self.app.advance(Happening.ENGINE_GONE)  # the machine was removed, not started
            page.result.setText("The Cove machine was reset: start it to use it.")

        self.app.call(control.reset, done, failed)

    @Slot(object)
    def _settings_saved(self, saved: app_settings.AppSettings) -> None:
        self.app.settings = saved

    @Slot(bool)
    def set_start_at_login(self, on: bool) -> None:
        """The OS's login item first; the setting is saved once it is in place."""
        page = self.app.dashboard.settings

        def done(_: object) -> None:
            page.update_settings(start_at_login=on)

        def failed(exc: Exception) -> None:
            page.show_start_at_login(not on)
            self.app.error.emit(f"cannot change the login item: {exc}")

        self.app.call(autostart.enable if on else autostart.disable, done, failed)

    def load_machine_resources(self) -> None:
        control = self.app.control
        if not isinstance(control, MachineControl):
            return
        page = self.app.dashboard.settings

        def show(resources: tuple[int, int, int] | None) -> None:
            note = "" if resources else "No Cove machine yet: cove machine init makes one."
            page.show_machine(resources, note)

        def show_lists(lists: MachineLists | None) -> None:
            note = "" if lists else "No Cove machine yet: cove machine init makes one."
            page.show_lists(lists, note)

        self.app.call(control.resources, show)
        self.app.call(control.lists, show_lists)

    @Slot(object)
    def set_machine_lists(self, lists: MachineLists) -> None:
        """Saved through cove.vm, which validates them; the page then shows what it saved
        (or, refused, what it still has, and the refusal as a message)."""
        control = self.app.control
        if not isinstance(control, MachineControl):
            self.app.error.emit("the native engine has no machine to configure")
            return
        page = self.app.dashboard.settings

        def saved(running: bool) -> None:
            self.app.call(control.lists, lambda now: page.show_lists(
                now, "Saved. The machine is running: applied at the next restart of the "
                     "engine." if running else "Saved: the machine starts with them."))

        def refused(exc: Exception) -> None:
            self.app.error.emit(str(exc))
            self.app.call(control.lists, page.show_lists)

        self.app.call(lambda: control.set_lists(lists), saved, refused)

    @Slot(int, int, int)
    def set_machine_resources(self, cpus: int, memory_mib: int, disk_gib: int) -> None:
        control = self.app.control
        if not isinstance(control, MachineControl):
            self.app.error.emit("the native engine has no machine to size")
            return
        page = self.app.dashboard.settings

        def saved(running: bool) -> None:
            page.show_machine(
                (cpus, memory_mib, disk_gib),
                "Saved. The machine is running: they apply when it restarts."
                if running
                else "Saved: the machine starts with them.",
            )

        self.app.call(lambda: control.set_resources(cpus, memory_mib, disk_gib), saved)
