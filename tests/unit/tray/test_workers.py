"""Work runs off the UI thread and its outcome comes back on it, failures included."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from cove.desktop.tray.workers import Workers


def test_work_runs_on_a_pool_thread_and_the_result_comes_back_on_the_ui_thread(
    qtbot: QtBot,
) -> None:
    workers = Workers()
    seen: dict[str, object] = {}

    def work() -> str:
        seen["work_thread"] = threading.current_thread()
        return "done"

    def on_done(result: str) -> None:
        seen["result"] = result
        seen["callback_thread"] = threading.current_thread()

    workers.run(work, on_done, lambda exc: None)
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == "done"
    assert seen["work_thread"] is not threading.main_thread()
    assert seen["callback_thread"] is threading.main_thread()
    assert workers.busy == 0
    assert workers.wait()


def test_an_exception_goes_to_the_error_callback(qtbot: QtBot) -> None:
    workers = Workers()
    errors: list[Exception] = []

    def work() -> None:
        raise RuntimeError("engine said no")

    workers.run(work, lambda result: None, errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert str(errors[0]) == "engine said no"
    assert workers.wait()


def test_the_ui_thread_is_free_while_work_blocks(qtbot: QtBot) -> None:
    workers = Workers()
    release = threading.Event()
    done: list[bool] = []
    workers.run(lambda: release.wait(5), done.append, lambda exc: None)
    qtbot.wait(50)  # the event loop turns while the work blocks
    assert not done
    release.set()
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert workers.wait()
