"""The containers list as data: rows from summaries, and what each event does to them."""

from __future__ import annotations

from cove.desktop.tray.containers import ContainerRow, Effect, EngineEvent


def _event(action: str, type_: str = "container", **extra: object) -> EngineEvent:
    raw: dict[str, object] = {"Type": type_, "Action": action, "Actor": {"ID": "abc"},
                              "timeNano": 1_700_000_000_123_456_789, **extra}  # fmt: skip
    return EngineEvent.from_json(raw)


def test_an_event_is_read_from_action_and_actor_id_without_the_old_fields() -> None:
    event = _event("start")
    assert (event.type, event.action, event.actor_id) == ("container", "start", "abc")
    assert event.since == "1700000000.123456789"


def test_the_old_top_level_fields_are_not_read() -> None:
    event = EngineEvent.from_json({"status": "start", "id": "old", "from": "busybox"})
    assert (event.action, event.actor_id) == ("", "")
    assert event.effect() is Effect.NONE


def test_what_each_event_does_to_the_list() -> None:
    assert _event("create").effect() is Effect.REFRESH
    assert _event("start").effect() is Effect.REFRESH
    assert _event("die").effect() is Effect.REFRESH
    assert _event("health_status: healthy").effect() is Effect.REFRESH
    assert _event("destroy").effect() is Effect.REMOVE
    assert _event("exec_start: sh -c true").effect() is Effect.NONE
    assert _event("attach").effect() is Effect.NONE
    assert _event("pull", type_="image").effect() is Effect.NONE


def test_an_event_without_nanoseconds_keeps_its_seconds() -> None:
    event = EngineEvent.from_json({"Type": "container", "Action": "start",
                                   "Actor": {"ID": "x"}, "time": 1700000000})  # fmt: skip
    assert event.since == "1700000000.000000000"


def test_a_row_from_a_summary_shows_what_docker_ps_shows() -> None:
    row = ContainerRow.from_summary({
        "Id": "f00", "Names": ["/web"], "Image": "busybox", "State": "running",
        "Status": "Up 3 seconds",
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                  {"PrivatePort": 443, "Type": "tcp"}],
    })  # fmt: skip
    assert row == ContainerRow("f00", "web", "busybox", "running", "Up 3 seconds",
                               "0.0.0.0:8080->80/tcp, 443/tcp")  # fmt: skip
    assert row.running
    assert row.published() == ["0.0.0.0:8080"]


def test_a_row_survives_a_summary_missing_fields() -> None:
    row = ContainerRow.from_summary({"Id": "f00"})
    assert (row.name, row.ports, row.running) == ("", "", False)
