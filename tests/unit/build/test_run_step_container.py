"""A RUN step's container on a recording backend: the network it asks for, what a failed
start keeps, and what a client that hangs up mid-step leaves (nothing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cove.runtime import errors
from cove.runtime.build.backend import BuildOptions
from cove.runtime.build.parser import parse_instruction
from cove.runtime.build.run_step import BuildCancelled, BuildFailed, run_step
from cove.runtime.build.stage_state import StageState


@dataclass
class Backend:
    """Records the calls; its step writes ``output`` then exits with ``code``."""

    start_error: errors.EngineError | None = None
    output: list[bytes] = field(default_factory=lambda: [b"step output\n"])
    code: int = 0
    calls: list[tuple[str, Any]] = field(default_factory=list)
    store: Any = None

    def create_container(self, body: dict[str, Any]) -> str:
        self.calls.append(("create", body))
        return "c0ffee" * 10 + "abcd"

    def start_container(self, cid: str) -> None:
        self.calls.append(("start", cid))
        if self.start_error is not None:
            raise self.start_error

    def container_output(self, cid: str,
                         client_gone: Callable[[], bool]) -> Iterator[tuple[int, bytes]]:
        for chunk in self.output:
            if client_gone():
                return
            yield 1, chunk

    def wait_container(self, cid: str) -> int:
        self.calls.append(("wait", cid))
        return self.code

    def remove_container(self, cid: str) -> None:
        self.calls.append(("remove", cid))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@dataclass
class Run:
    """The smallest ``StepRun`` a RUN step that never commits needs."""

    backend: Backend
    options: BuildOptions = field(default_factory=lambda: BuildOptions(no_cache=True))
    said: list[str] = field(default_factory=list)
    hang_up: bool = False
    """The client hangs up once it has seen the step's first output."""
    gone: bool = False
    store: Any = None
    context: Any = None
    cache: Any = None
    layout: Any = None

    def say(self, text: str) -> None:
        self.said.append(text)
        if text == "step output\n" and self.hang_up:
            self.gone = True

    def client_gone(self) -> bool:
        return self.gone

    def image_for_copy_from(self, source: str) -> str:
        raise AssertionError("not used")

    def temp_file(self) -> Any:
        raise AssertionError("not used")


def _state() -> StageState:
    return StageState("sha256:" + "1" * 64, {"config": {}}, {}, {})


def _network_mode(backend: Backend) -> object:
    body = next(value for name, value in backend.calls if name == "create")
    return (body.get("HostConfig") or {}).get("NetworkMode")


@pytest.mark.parametrize(("line", "build_network", "expected"), [
    ("RUN true", {}, None),  # the default bridge (or --bridge none's loopback)
    ("RUN true", {"NetworkMode": "host"}, "host"),
    ("RUN --network=default true", {"NetworkMode": "host"}, "host"),
    ("RUN --network=none true", {"NetworkMode": "host"}, "none"),
    ("RUN --network=none true", {}, "none"),
])
def test_the_step_runs_on_the_builds_network_unless_it_asks_for_none(
        line: str, build_network: dict[str, str], expected: str | None) -> None:
    backend = Backend(code=1)
    run = Run(backend, BuildOptions(no_cache=True, run_host_config=build_network))
    with pytest.raises(BuildFailed):
        run_step(run, _state(), parse_instruction(line))  # type: ignore[arg-type]
    assert _network_mode(backend) == expected


def test_run_network_host_is_refused_before_any_container() -> None:
    backend = Backend()
    with pytest.raises(errors.InvalidParameter, match="RUN --network=host: not allowed"):
        run_step(Run(backend), _state(),  # type: ignore[arg-type]
                 parse_instruction("RUN --network=host true"))
    assert backend.calls == []


@pytest.mark.parametrize("force_remove", [False, True])
def test_a_failed_start_keeps_the_container_unless_force_rm(force_remove: bool) -> None:
    backend = Backend(start_error=errors.NotFound("network nosuch not found"))
    run = Run(backend, BuildOptions(no_cache=True, force_remove=force_remove))
    with pytest.raises(errors.NotFound, match="network nosuch not found"):
        run_step(run, _state(), parse_instruction("RUN true"))  # type: ignore[arg-type]
    assert run.said[0].startswith(" ---> Running in c0ffeec0ffee")
    assert backend.names() == ["create", "start"] + (["remove"] if force_remove else [])
    assert ("Removing intermediate container c0ffeec0ffee\n" in run.said) == force_remove


def test_a_client_gone_mid_step_removes_its_container_and_cancels_the_build() -> None:
    backend = Backend(output=[b"step output\n", b"never shown\n"])
    run = Run(backend, hang_up=True)
    with pytest.raises(BuildCancelled, match="build cancelled"):
        run_step(run, _state(), parse_instruction("RUN true"))  # type: ignore[arg-type]
    assert backend.names() == ["create", "start", "remove"]
    assert "never shown\n" not in run.said
