"""Work runs off the UI thread and its outcome comes back on it, failures included."""

from __future__ import annotations

import gc
import sys
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


def test_emitting_signals_keeps_the_interpreter_whole(qtbot: QtBot) -> None:
    """PySide6 6.12.0's emit dropped a reference to the bool it returns each time: the app
    emits thousands of signals a day, and once True's count reached zero it aborted."""
    workers = Workers()
    done: list[int] = []
    gc.collect()
    before = sys.getrefcount(True)
    for number in range(1000):
        workers.run(lambda n=number: n, done.append, lambda exc: None)
    qtbot.waitUntil(lambda: len(done) == 1000, timeout=20000)
    assert workers.wait()
    gc.collect()
    # the broken emit took one per signal (1000 here); other objects come and go too
    assert sys.getrefcount(True) > before - 100
