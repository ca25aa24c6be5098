"""The app's one controller: engine state, the containers list and the actions, wired
between the events follower, the worker pool, the API client and the windows.

Every API call runs on a worker; its result or error comes back here on the UI thread.
A container's row is fetched again after each of its events, and an answer older than
the newest one asked for is dropped, so out-of-order answers cannot show a stale state.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from cove.desktop.client.api import APIClient
from cove.desktop.client.errors import NotFound

from . import settings as app_settings
from . import shell
from .containers import ContainerRow, Effect, EngineEvent
from .dashboard import Dashboard
from .engine_control import EngineControl, MachineControl
from .events import EventsFollower
from .logs import LogsFollower
from .maintenance import Maintenance
from .resource_actions import RELIST_TRIES, ResourceActions
from .state import EngineState, Happening, Status, advance
from .workers import Workers

MACHINE_WATCH_MS = 1000  # how often a silent engine's machine is looked at
RELIST_DELAY_MS = 100
CALL_TIMEOUT = 60.0  # seconds; a stop waits up to the container's stop timeout


class Controller(QObject):
    status_changed = Signal(object)  # Status
    containers_changed = Signal()
    loaded = Signal()  # the first full list after the engine came up is on screen
    error = Signal(str)

    def __init__(
        self,
        host: str,
        control: EngineControl,
        parent: QObject | None = None,
        settings: app_settings.AppSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.control = control
        self.client = APIClient(host, timeout=CALL_TIMEOUT)
        self.workers = Workers(self)
        self.follower = EventsFollower(host, self)
        self.status = Status(EngineState.STOPPED)
        self.settings = settings if settings is not None else app_settings.load()
        self.dashboard = Dashboard(self.settings)
        if not control.controllable:
            self.dashboard.containers.stopped_hint = f"The engine is stopped. {control.reason}."
        self.engine_description = ""
        self._asked: dict[str, int] = {}  # container id -> newest refresh asked for
        self._sequence = itertools.count(1)
        self.logs_follower: LogsFollower | None = None
        self._acting = 0  # engine starts and stops under way (the machine watch keeps out)
        self.machine_watch = QTimer(self)
        self.machine_watch.setInterval(MACHINE_WATCH_MS)
        self.machine_watch.timeout.connect(self.check_machine)
        self.follower.up.connect(self._engine_up)
        self.follower.down.connect(self._engine_down)
        self.follower.happened.connect(self._event)
        self.follower.resync.connect(self.reload)
        self.dashboard.containers.action_requested.connect(self.container_action)
        self.error.connect(self.dashboard.messages.show_error)
        self.status_changed.connect(self.dashboard.show_status)
        self.resources = ResourceActions(self)
        self.maintenance = Maintenance(self)

    def start(self) -> None:
        self.follower.start()
        if isinstance(self.control, MachineControl):
            self.machine_watch.start()
        self.maintenance.start()

    def shutdown(self) -> None:
        self.machine_watch.stop()
        self.close_logs()
        self.follower.stop()
        self.workers.wait()

    @property
    def rows(self) -> dict[str, ContainerRow]:
        return self.dashboard.containers.rows

    # engine state ----------------------------------------------------------
    def advance(self, happening: Happening, message: str = "") -> None:
        status = advance(self.status, happening, message)
        if status != self.status:
            self.status = status
            self.status_changed.emit(status)

    @Slot()
    def _engine_up(self) -> None:
        self.advance(Happening.ENGINE_ANSWERED)
        self.reload(first=True)
        self.resources.reload_images()
        self.resources.reload_volumes()
        self.call(self._describe_engine, self._show_engine)

    @Slot(str)
    def _engine_down(self, message: str) -> None:
        self.advance(Happening.ENGINE_GONE, message)
        self.engine_description = ""
        self.dashboard.images.replace_all([])
        self.dashboard.volumes.replace_all([])
        self.containers_changed.emit()

    def check_machine(self) -> None:
        """While the engine does not answer, whether its machine is booting (the tray then
        says starting) or not running at all."""
        control = self.control
        if not isinstance(control, MachineControl) or self.status.state is EngineState.RUNNING:
            return

        def seen(running: bool) -> None:
            if self._acting:
                return  # the app's own start or stop says what is happening
            self.advance(Happening.MACHINE_RUNNING if running else Happening.MACHINE_OFF)

        self.call(control.running, seen, lambda exc: None)  # a watch, not an action

    def _describe_engine(self) -> tuple[str, str, str]:
        info: dict[str, Any] = self.client.info() or {}
        return (
            str(info.get("ServerVersion", "")),
            str(info.get("OperatingSystem", "")),
            str(info.get("KernelVersion", "")),
        )

    def _show_engine(self, described: tuple[str, str, str]) -> None:
        self.engine_description = "Engine {} · {} · kernel {}".format(*described)
        self.dashboard.show_engine(*described)

    def about(self) -> str:
        """Versions of Cove, the engine and the kernel it runs on (the guest's in the VM)."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            cove = version("cove")
        except PackageNotFoundError:
            cove = "(not installed)"
        engine = self.engine_description or f"Engine {self.status.state.value}"
        return f"Cove {cove}\n{engine}\nEngine socket: {self.host}"

    def start_engine(self) -> None:
        self._engine_action(Happening.START_REQUESTED, self.control.start)

    def stop_engine(self) -> None:
        self._engine_action(Happening.STOP_REQUESTED, self.control.stop)

    def restart_engine(self) -> None:
        def restart() -> None:
            self.control.stop()
            self.control.start()

        self._engine_action(Happening.STOP_REQUESTED, restart)

    def _engine_action(self, happening: Happening, work: Callable[[], None]) -> None:
        if not self.control.controllable:
            self.error.emit(self.control.reason)
            return
        self.advance(happening)
        self._acting += 1

        def done(_: object) -> None:
            self._acting -= 1

        def failed(exc: Exception) -> None:
            self._acting -= 1
            self.advance(Happening.ACTION_FAILED, str(exc))
            self.error.emit(str(exc))

        self.call(work, done, failed)

    # containers ------------------------------------------------------------
    def reload(self, first: bool = False, tries: int = RELIST_TRIES) -> None:
        """Read the whole list again (the engine came up, or the slow resync)."""
        sequence = next(self._sequence)

        def show(summaries: list[Any]) -> None:
            rows = [ContainerRow.from_summary(s) for s in summaries if isinstance(s, dict)]
            # rows asked for after this list was read are newer than it: keep theirs
            newer = {cid for cid, asked in self._asked.items() if asked > sequence}
            kept = [self.rows[cid] for cid in newer if cid in self.rows]
            self.dashboard.containers.replace_all(
                [r for r in rows if r.id not in newer] + kept)  # fmt: skip
            self.containers_changed.emit()
            if first:
                self.loaded.emit()

        self.call(
            lambda: self.client.containers(all=True),
            show,
            self.relist_failed(lambda left: self.reload(first, left), tries),
        )

    @Slot(object)
    def _event(self, event: EngineEvent) -> None:
        if event.type == "image":
            self.resources.reload_images()
        elif event.type == "volume":
            self.resources.reload_volumes()
        effect = event.effect()
        if effect is Effect.REMOVE:
            self._asked[event.actor_id] = next(self._sequence)
            self.dashboard.containers.remove(event.actor_id)
            self.containers_changed.emit()
        elif effect is Effect.REFRESH:
            self.refresh(event.actor_id)

    def refresh(self, container_id: str) -> None:
        sequence = self._asked[container_id] = next(self._sequence)

        def show(summaries: list[Any]) -> None:
            if self._asked.get(container_id) != sequence:
                return  # a newer answer is on its way
            rows = [ContainerRow.from_summary(s) for s in summaries if isinstance(s, dict)]
            if rows:
                self.dashboard.containers.upsert(rows[0])
            else:
                self.dashboard.containers.remove(container_id)
            self.containers_changed.emit()

        self.call(lambda: self.client.containers(all=True, filters={"id": [container_id]}), show)

    @Slot(str, str)
    def container_action(self, action: str, container_id: str) -> None:
        if action == "logs":
            self.open_logs(container_id)
            return
        if action == "details":
            self.show_details(container_id)
            return
        if action == "shell":
            self.open_shell(container_id)
            return
        calls: dict[str, Callable[[str], None]] = {
            "start": self.client.start,
            "stop": self.client.stop,
            "restart": self.client.restart,
            "remove": self.client.remove_container,
        }
        call = calls[action]
        self.call(lambda: call(container_id), lambda _: None)

    def relist_failed(
        self, again: Callable[[int], None], tries: int
    ) -> Callable[[Exception], None]:
        """A list read while the engine deletes from it can miss an entry it was reading
        (its "No such image"): that list is stale, not wrong, so read it again."""

        def failed(exc: Exception) -> None:
            if isinstance(exc, NotFound) and tries > 1:
                QTimer.singleShot(RELIST_DELAY_MS, lambda: again(tries - 1))
            else:
                self.show_error(exc)

        return failed

    # details and shell -----------------------------------------------------
    def show_details(self, container_id: str) -> None:
        def show(inspected: dict[str, Any]) -> None:
            self.dashboard.details.show_container(inspected)
            self.dashboard.show_page("Details")

        self.call(lambda: self.client.inspect_container(container_id) or {}, show)

    def open_shell(self, container_id: str, platform: str = sys.platform) -> None:
        """``cove exec -it <id> sh`` in the user's terminal, started detached."""
        from PySide6.QtCore import QProcess

        command = shell.exec_command(shell.cove_command(), self.host, container_id)
        argv = shell.terminal_argv(platform, command)
        if argv is None:
            self.error.emit(f"No terminal found to open a shell in; run: {' '.join(command)}")
            return
        started, _ = QProcess.startDetached(argv[0], argv[1:])
        if not started:
            self.error.emit(f"cannot start {argv[0]}")

    # logs ------------------------------------------------------------------
    def open_logs(self, container_id: str) -> None:
        """Follow ``container_id``'s logs on the Logs page (and stop following the last)."""
        self.close_logs()
        row = self.rows.get(container_id)
        page = self.dashboard.logs
        page.show_container(row.name if row else container_id[:12])
        self.dashboard.show_page("Logs")
        follower = LogsFollower(self.host, container_id, self)
        follower.arrived.connect(page.append)
        follower.ended.connect(self._logs_ended)
        self.logs_follower = follower
        follower.start()

    def close_logs(self) -> None:
        if self.logs_follower is not None:
            self.logs_follower.stop()
            self.logs_follower.deleteLater()
            self.logs_follower = None

    @Slot(str)
    def _logs_ended(self, message: str) -> None:
        if message:
            self.error.emit(message)

    # plumbing --------------------------------------------------------------
    def call(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.workers.run(work, on_done, on_error or self.show_error)

    def show_error(self, exc: Exception) -> None:
        self.error.emit(str(exc))
