"""The events follower against a real coved: events as they happen, read by ``Action`` and
``Actor.ID``; the engine's going away and coming back, each told once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from cove.desktop.tray.containers import EngineEvent
from cove.desktop.tray.events import EventsFollower
from tests.support.coved import Coved


@pytest.fixture
def follower(private_coved: Coved) -> Iterator[EventsFollower]:
    follower = EventsFollower(private_coved.host, idle=1.0)
    yield follower
    follower.stop()


def _record(follower: EventsFollower) -> tuple[list[EngineEvent], list[str]]:
    events: list[EngineEvent] = []
    changes: list[str] = []
    follower.happened.connect(events.append)
    follower.up.connect(lambda: changes.append("up"))
    follower.down.connect(lambda message: changes.append("down"))
    return events, changes


def test_a_container_made_through_the_api_arrives_as_events(
    qtbot: QtBot, private_coved: Coved, follower: EventsFollower
) -> None:
    events, changes = _record(follower)
    follower.start()
    qtbot.waitUntil(lambda: changes == ["up"], timeout=5000)
    name = f"follow-{uuid.uuid4().hex[:8]}"
    status, created = private_coved.request(
        "POST", f"/containers/create?name={name}", {"Image": "busybox", "Cmd": ["true"]})  # fmt: skip
    assert status == 201
    qtbot.waitUntil(
        lambda: any(e.action == "create" and e.actor_id == created["Id"] for e in events),
        timeout=5000,
    )
    private_coved.request("DELETE", f"/containers/{created['Id']}?force=1")
    qtbot.waitUntil(lambda: any(e.action == "destroy" for e in events), timeout=5000)


def test_an_idle_stream_is_reopened_without_losing_events(
    qtbot: QtBot, private_coved: Coved, follower: EventsFollower
) -> None:
    events, changes = _record(follower)
    follower.start()
    qtbot.waitUntil(lambda: changes == ["up"], timeout=5000)
    qtbot.wait(2500)  # past the 1 s idle timeout, twice: the stream is reopened
    status, created = private_coved.request("POST", "/containers/create", {"Image": "busybox"})
    assert status == 201
    qtbot.waitUntil(lambda: any(e.actor_id == created["Id"] for e in events), timeout=5000)
    qtbot.wait(2500)  # reopened twice more, from the last event's time: told once still
    assert [e.action for e in events if e.actor_id == created["Id"]] == ["create"]
    assert changes == ["up"]  # reopening is not the engine going down
    private_coved.request("DELETE", f"/containers/{created['Id']}?force=1")


def test_the_engine_going_away_and_coming_back_is_told_once_each(
    qtbot: QtBot, private_coved: Coved, follower: EventsFollower
) -> None:
    _, changes = _record(follower)
    follower.start()
    qtbot.waitUntil(lambda: changes == ["up"], timeout=5000)
    private_coved.stop()
    qtbot.waitUntil(lambda: changes == ["up", "down"], timeout=5000)
    private_coved.start()
    qtbot.waitUntil(lambda: changes == ["up", "down", "up"], timeout=5000)


def test_stopping_wakes_a_follower_blocked_on_an_idle_stream(
    qtbot: QtBot, private_coved: Coved
) -> None:
    follower = EventsFollower(private_coved.host, idle=30.0)
    _, changes = _record(follower)
    follower.start()
    qtbot.waitUntil(lambda: changes == ["up"], timeout=5000)
    qtbot.waitUntil(lambda: follower.streaming, timeout=5000)
    began = time.monotonic()
    follower.stop()
    assert time.monotonic() - began < 1.0  # the response was aborted, not timed out
