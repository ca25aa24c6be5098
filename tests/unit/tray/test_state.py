"""The engine state machine: only observations make it running or stopped."""

from __future__ import annotations

import pytest

from cove.desktop.tray.state import EngineState, Happening, Status, actions_enabled, advance

S = EngineState
H = Happening


@pytest.mark.parametrize(
    ("before", "happening", "after"),
    [
        (S.STOPPED, H.START_REQUESTED, S.STARTING),
        (S.ERROR, H.START_REQUESTED, S.STARTING),
        (S.RUNNING, H.START_REQUESTED, S.RUNNING),
        (S.RUNNING, H.STOP_REQUESTED, S.STOPPING),
        (S.STOPPED, H.STOP_REQUESTED, S.STOPPED),
        (S.STARTING, H.ENGINE_ANSWERED, S.RUNNING),
        (S.STARTING, H.ENGINE_GONE, S.STARTING),
        (S.STOPPING, H.ENGINE_ANSWERED, S.STOPPING),
        (S.STOPPING, H.ENGINE_GONE, S.STOPPED),
        (S.RUNNING, H.ENGINE_GONE, S.STOPPED),
        (S.STOPPED, H.ENGINE_ANSWERED, S.RUNNING),
        (S.ERROR, H.ENGINE_ANSWERED, S.RUNNING),
        (S.ERROR, H.ENGINE_GONE, S.ERROR),
        (S.STARTING, H.ACTION_FAILED, S.ERROR),
        (S.STOPPING, H.ACTION_FAILED, S.ERROR),
        (S.STOPPED, H.MACHINE_RUNNING, S.STARTING),
        (S.RUNNING, H.MACHINE_RUNNING, S.RUNNING),
        (S.ERROR, H.MACHINE_RUNNING, S.ERROR),
        (S.STARTING, H.MACHINE_OFF, S.STOPPED),
        (S.STOPPING, H.MACHINE_OFF, S.STOPPING),
        (S.RUNNING, H.MACHINE_OFF, S.RUNNING),
    ],
)
def test_transition(before: EngineState, happening: Happening, after: EngineState) -> None:
    assert advance(Status(before), happening).state is after


def test_a_dead_engine_is_never_shown_running() -> None:
    for state in S:
        assert advance(Status(state), H.ENGINE_GONE).state is not S.RUNNING


def test_an_error_keeps_its_reason_until_the_engine_answers() -> None:
    failed = advance(Status(S.STARTING), H.ACTION_FAILED, "qemu: no such file")
    assert failed == Status(S.ERROR, "qemu: no such file")
    assert advance(failed, H.ENGINE_GONE) == failed
    assert advance(failed, H.ENGINE_ANSWERED) == Status(S.RUNNING)


def test_the_menu_offers_only_what_makes_sense() -> None:
    assert actions_enabled(S.RUNNING) == {"start": False, "stop": True, "restart": True}
    assert actions_enabled(S.STOPPED) == {"start": True, "stop": False, "restart": False}
    assert actions_enabled(S.STOPPING) == {"start": False, "stop": False, "restart": False}
