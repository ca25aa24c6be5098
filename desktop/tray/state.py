"""The engine's state as the app shows it, as pure logic: what was seen or asked goes in,
the next state comes out.

The tray must never say "running" while the engine is dead, so only observations
(the engine answered, the engine did not) move the state to running or stopped; the
user's requests only move it into the transitional states, which an observation or a
failure then ends.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EngineState(enum.Enum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ERROR = "error"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Happening(enum.Enum):
    """What the app saw or did; the state machine's input."""

    START_REQUESTED = "start requested"
    STOP_REQUESTED = "stop requested"
    ENGINE_ANSWERED = "engine answered"  # a ping or the events stream succeeded
    ENGINE_GONE = "engine gone"  # the socket refused or the stream ended
    ACTION_FAILED = "action failed"  # a start or stop of the engine raised
    MACHINE_RUNNING = "machine running"  # the VM runs (its engine may not answer yet)
    MACHINE_OFF = "machine off"  # the VM does not run (and the app is not starting it)


@dataclass(frozen=True)
class Status:
    state: EngineState
    message: str = ""


def advance(status: Status, happening: Happening, message: str = "") -> Status:
    """The status after ``happening``; ``message`` says why, for errors."""
    state = status.state
    if happening is Happening.START_REQUESTED:
        if state in (EngineState.STOPPED, EngineState.ERROR):
            return Status(EngineState.STARTING)
        return status
    if happening is Happening.STOP_REQUESTED:
        if state in (EngineState.RUNNING, EngineState.STARTING, EngineState.ERROR):
            return Status(EngineState.STOPPING)
        return status
    if happening is Happening.MACHINE_RUNNING:
        # booting (started by the CLI, or at login): starting until the engine answers
        return Status(EngineState.STARTING) if state is EngineState.STOPPED else status
    if happening is Happening.MACHINE_OFF:
        # a boot seen from outside that ended without an engine
        return Status(EngineState.STOPPED) if state is EngineState.STARTING else status
    if happening is Happening.ACTION_FAILED:
        return Status(EngineState.ERROR, message or "the engine's start or stop failed")
    if happening is Happening.ENGINE_ANSWERED:
        # while stopping, the engine answers until it is gone: that is no news
        if state is EngineState.STOPPING:
            return status
        return Status(EngineState.RUNNING)
    # ENGINE_GONE: expected while starting (not up yet), news otherwise
    if state is EngineState.STARTING:
        return status
    if state is EngineState.ERROR:
        return status  # keep the reason until the engine answers or the user acts
    return Status(EngineState.STOPPED, message)


def actions_enabled(state: EngineState) -> dict[str, bool]:
    """Which engine actions make sense in ``state`` (the tray menu greys the others)."""
    return {
        "start": state in (EngineState.STOPPED, EngineState.ERROR),
        "stop": state in (EngineState.RUNNING, EngineState.STARTING, EngineState.ERROR),
        "restart": state in (EngineState.RUNNING, EngineState.ERROR),
    }
