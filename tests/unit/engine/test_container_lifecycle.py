"""The container lifecycle's decisions on plain records (runtime/engine/containers/)."""

from __future__ import annotations

import signal
import threading
from typing import Any

import pytest

from cove.runtime import errors
from cove.runtime.containers.record import ZERO_TIME, Container, now_rfc3339
from cove.runtime.engine.containers import remove, restart_policy, stop, wait
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.engine.containers.listing import label_matches
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.volumes import VolumeService
from cove.runtime.store.layout import Layout


@pytest.fixture
def ctx(tmp_path) -> ContainerContext:
    layout = Layout(tmp_path / "data", tmp_path / "exec")
    layout.ensure()
    events = EventBus()
    return ContainerContext(layout, None, events, VolumeService(layout, events))


def record(ctx: ContainerContext, cid: str, name: str, status: str = "exited",
           restart: dict[str, Any] | None = None, **private: Any) -> Container:
    ctx.layout.container_dir(cid).mkdir()
    container = Container(ctx.layout, {
        "Id": cid, "Name": "/" + name, "Created": now_rfc3339(), "Image": "sha256:i",
        "Path": "sh", "Args": [], "RestartCount": 0,
        "State": {"Status": status, "Running": status == "running", "Paused": False,
                  "Restarting": status == "restarting", "Pid": 0, "ExitCode": 3,
                  "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME},
        "Config": {"Labels": {"tier": "web"}},
        "HostConfig": {"RestartPolicy": restart or {"Name": "", "MaximumRetryCount": 0}},
        "_cove": {"mount_points": [], **private},
    })
    container.save()
    ctx.add(container)
    return container


@pytest.mark.parametrize("text, number", [("KILL", 9), ("SIGTERM", 15), ("usr1", 10),
                                          ("9", 9), (None, signal.SIGKILL)])
def test_signals_are_named_as_docker_names_them(text, number):
    assert stop.parse_signal(text) == number


@pytest.mark.parametrize("text", ["NOPE", "0", "999", "SIG"])
def test_unknown_signals_are_refused(text):
    with pytest.raises(errors.InvalidParameter, match="Invalid signal"):
        stop.parse_signal(text)


@pytest.mark.parametrize("policy, code, count, manual, expected", [
    ({"Name": "always"}, 0, 0, False, True),
    ({"Name": "unless-stopped"}, 0, 0, False, True),
    ({"Name": "always"}, 1, 0, True, False),
    ({"Name": "on-failure"}, 0, 0, False, False),
    ({"Name": "on-failure", "MaximumRetryCount": 0}, 1, 50, False, True),
    ({"Name": "on-failure", "MaximumRetryCount": 2}, 1, 1, False, True),
    ({"Name": "on-failure", "MaximumRetryCount": 2}, 1, 2, False, False),
    ({"Name": "no"}, 1, 0, False, False),
    ({"Name": ""}, 1, 0, False, False),
])
def test_the_restart_policy_decides_after_each_exit(ctx, policy, code, count, manual, expected):
    container = record(ctx, "a" * 64, "one", restart=policy, manually_stopped=manual)
    container.data["RestartCount"] = count
    assert restart_policy.should_restart(container, code) is expected


@pytest.mark.parametrize("policy, manual, expected", [
    ("always", True, True), ("unless-stopped", False, True), ("unless-stopped", True, False),
    ("on-failure", False, False), ("", False, False),
])
def test_policies_that_restart_a_stopped_container_at_daemon_start(ctx, policy, manual, expected):
    container = record(ctx, "a" * 64, "one", restart={"Name": policy}, manually_stopped=manual)
    assert restart_policy.restarts_at_daemon_start(container) is expected


def test_the_restart_delay_doubles_to_a_minute_and_starts_over_after_a_long_run(ctx, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(restart_policy.time, "sleep", slept.append)
    container = record(ctx, "a" * 64, "one", status="restarting")
    for _ in range(12):
        assert restart_policy.wait_for_restart(container, now_rfc3339())
    assert slept[:4] == [0.1, 0.2, 0.4, 0.8]
    assert slept[-1] == restart_policy.MAX_DELAY
    restart_policy.wait_for_restart(container, "2000-01-01T00:00:00Z")
    assert slept[-1] == restart_policy.FIRST_DELAY


def test_a_container_stopped_during_the_delay_is_not_restarted(ctx, monkeypatch):
    monkeypatch.setattr(restart_policy.time, "sleep", lambda _seconds: None)
    container = record(ctx, "a" * 64, "one", status="exited")
    assert not restart_policy.wait_for_restart(container, "")


def test_stopping_a_restarting_container_leaves_it_exited_and_stopped_by_hand(ctx):
    container = record(ctx, "a" * 64, "one", status="restarting", restart={"Name": "always"})
    stop.stop_container(ctx, container, None, None)
    assert (container.state["Status"], container.state["Restarting"]) == ("exited", False)
    assert container.private["manually_stopped"] is True
    with pytest.raises(errors.NotModified):
        stop.stop_container(ctx, container, None, None)


def test_killing_a_stopped_container_is_a_conflict_in_dockerds_words(ctx):
    record(ctx, "a" * 64, "one")
    with pytest.raises(errors.Conflict, match="Cannot kill container: one: Container a+ is not"):
        stop.kill(ctx, "one", "TERM")


def test_containers_are_found_by_id_name_or_unique_prefix(ctx):
    first = record(ctx, "ab" + "0" * 62, "first")
    record(ctx, "ac" + "0" * 62, "second")
    assert ctx.get("first") is first and ctx.get("/first") is first
    assert ctx.get("ab") is first and ctx.get(first.id) is first
    with pytest.raises(errors.InvalidParameter, match="multiple IDs found with provided prefix: a"):
        ctx.get("a")
    with pytest.raises(errors.NotFound):
        ctx.get("third")


def test_a_name_in_use_cannot_be_reserved_or_renamed_to(ctx):
    record(ctx, "a" * 64, "taken")
    second = record(ctx, "b" * 64, "other")
    with pytest.raises(errors.Conflict, match='name "/taken" is already in use by container "a+"'):
        ctx.reserve_name("taken", "c" * 64)
    with pytest.raises(errors.Conflict):
        ctx.rename(second, "taken")
    with pytest.raises(errors.InvalidParameter, match="same name"):
        ctx.rename(second, "other")
    assert ctx.rename(second, "renamed") == "/other"
    assert ctx.get("renamed") is second
    generated = ctx.reserve_name(None, "c" * 64)
    assert generated.startswith("/") and "_" in generated


def test_a_deleted_container_is_gone_once_and_its_waiters_wake(ctx):
    container = record(ctx, "a" * 64, "one")
    block = wait.prepare_wait(ctx, "one", "removed")
    remove.delete(ctx, container)
    assert block() == {"StatusCode": 3, "Error": None}
    assert not ctx.layout.container_dir(container.id).exists()
    assert not ctx.forget(container)
    with pytest.raises(errors.NotFound):
        ctx.get("one")


def test_wait_checks_its_condition_before_blocking(ctx):
    record(ctx, "a" * 64, "one")
    with pytest.raises(errors.InvalidParameter, match="invalid condition"):
        wait.prepare_wait(ctx, "one", "whenever")
    assert wait.prepare_wait(ctx, "one", None)() == {"StatusCode": 3, "Error": None}


def test_prune_takes_the_label_filters(ctx):
    record(ctx, "a" * 64, "web")
    result = remove.prune(ctx, {"label!": ["tier=web"]})
    assert result == {"ContainersDeleted": None, "SpaceReclaimed": 0}
    assert remove.prune(ctx, {"label": ["tier"]})["ContainersDeleted"] == ["a" * 64]
    with pytest.raises(errors.InvalidParameter, match="Invalid filter 'status'"):
        remove.prune(ctx, {"status": ["exited"]})


@pytest.mark.parametrize("selector, expected", [("tier", True), ("tier=web", True),
                                                ("tier=db", False), ("zone", False)])
def test_label_filters_match_a_key_or_a_key_and_value(selector, expected):
    assert label_matches({"tier": "web"}, selector) is expected


def _exit_then_restart(container: Container, code: int) -> None:
    """What the monitor does for a restarting policy: record the exit, mark it restarting,
    then (after the backoff) run it again, which resets ExitCode."""
    with container.lock:
        container.set_exited(code, False)
        container.state.update(Status="restarting", Restarting=True)
        container.set_running(4242)


def _answer_within(block: Any, act: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Run the blocking wait in a thread, do ``act``; what the wait answered in time."""
    result: list[dict[str, Any]] = []
    waiter = threading.Thread(target=lambda: result.append(block()), daemon=True)
    waiter.start()
    act()
    waiter.join(timeout)
    return result


@pytest.mark.parametrize("condition", ["not-running", "next-exit"])
def test_wait_returns_the_first_exit_even_when_the_container_restarts_at_once(ctx, condition):
    container = record(ctx, "a" * 64, "one", "running", {"Name": "always"})
    block = wait.prepare_wait(ctx, "one", condition)
    assert _answer_within(block, lambda: _exit_then_restart(container, 7)) == [
        {"StatusCode": 7, "Error": None}]


def test_a_stop_during_the_restart_backoff_wakes_not_running_waiters(ctx):
    container = record(ctx, "a" * 64, "one", "restarting", {"Name": "always"})
    block = wait.prepare_wait(ctx, "one", "not-running")
    assert _answer_within(block, lambda: stop.stop_container(ctx, container, 0, None)) == [
        {"StatusCode": 3, "Error": None}]
