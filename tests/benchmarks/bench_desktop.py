"""Desktop benchmark: how soon ``cove-desktop`` shows its window, and how soon the list
shows what the engine did.

Run: ``.venv/bin/python tests/benchmarks/bench_desktop.py [--runs N]`` as root. Prints
medians (and the worst) of N runs against a private coved holding 20 containers:

    first window   `cove-desktop --screenshot` from the process's start until the PNG
                   is written: Python, Qt, the engine's first answers and the list
                   loaded and drawn (offscreen, and on xcb under Xvfb when it is there)
    event to UI    a container created through the API until its row is in the list:
                   from the event's own time (the engine's timeNano), and from the
                   moment the create call was sent
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from tests.support.coved import Coved  # noqa: E402
from tests.support.images import busybox_archive  # noqa: E402

CONTAINERS = 20


def first_window(daemon: Coved, runs: int, env_extra: dict[str, str]) -> list[float]:
    times = []
    env = {k: v for k, v in daemon.env.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_extra)
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            began = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", "cove.desktop.tray.main", "--screenshot",
                 os.path.join(tmp, "shot.png")], env=env, capture_output=True, text=True,
                timeout=60)  # fmt: skip
            times.append(time.monotonic() - began)
            if result.returncode != 0:
                raise RuntimeError(result.stderr[-2000:])
    return times


def event_to_ui(daemon: Coved, runs: int) -> tuple[list[float], list[float]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from cove.desktop.tray.containers import EngineEvent
    from cove.desktop.tray.controller import Controller
    from cove.desktop.tray.engine_control import NativeEngine

    app = QApplication.instance() or QApplication([])
    controller = Controller(daemon.host, NativeEngine())
    created_at: dict[str, int] = {}

    def note(event: object) -> None:
        if isinstance(event, EngineEvent) and event.action == "create":
            created_at[event.actor_id] = event.time_nano

    controller.follower.happened.connect(note)
    from_event, from_call = [], []
    try:
        loop = QEventLoop()
        controller.loaded.connect(loop.quit)
        controller.start()
        loop.exec()
        for n in range(runs):
            sent = time.monotonic()
            status, body = daemon.request("POST", f"/containers/create?name=bench-ui-{n}",
                                          {"Image": "busybox", "Cmd": ["true"]})  # fmt: skip
            assert status == 201, body
            cid = body["Id"]
            deadline = time.monotonic() + 10
            while cid not in controller.rows and time.monotonic() < deadline:
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 1)
            shown_ns, shown = time.time_ns(), time.monotonic()
            if cid not in controller.rows:
                raise RuntimeError(f"{cid} never showed")
            from_call.append(shown - sent)
            from_event.append((shown_ns - created_at[cid]) / 1e9)
    finally:
        controller.shutdown()
    return from_event, from_call


def show(label: str, times: list[float]) -> None:
    print(f"{label:<34} median {statistics.median(times) * 1000:7.1f} ms"
          f"   worst {max(times) * 1000:7.1f} ms   ({len(times)} runs)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    daemon = Coved().start()
    try:
        daemon.load(busybox_archive())
        for n in range(CONTAINERS):
            status, body = daemon.request("POST", f"/containers/create?name=bench-{n}",
                                          {"Image": "busybox", "Cmd": ["true"]})  # fmt: skip
            assert status == 201, body
        show(
            "first window (offscreen)",
            first_window(daemon, args.runs, {"QT_QPA_PLATFORM": "offscreen"}),
        )
        if shutil.which("Xvfb"):
            read, write = os.pipe()
            xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp"],
                                    pass_fds=(write,), stderr=subprocess.DEVNULL)  # fmt: skip
            os.close(write)
            try:
                with os.fdopen(read) as ready:
                    display = ":" + ready.readline().strip()  # once it takes clients
                xcb = {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
                show("first window (xcb under Xvfb)", first_window(daemon, args.runs, xcb))
            finally:
                xvfb.terminate()
                xvfb.wait()
        else:
            print("first window (xcb under Xvfb)      skipped: no Xvfb")
        from_event, from_call = event_to_ui(daemon, args.runs)
        show("event to UI (from the event)", from_event)
        show("event to UI (from the create call)", from_call)
    finally:
        daemon.stop()
        daemon.cleanup()


if __name__ == "__main__":
    main()
