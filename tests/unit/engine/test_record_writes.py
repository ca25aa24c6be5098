"""Record writes that fail (a full disk; here the record's directory is missing, which
fails the same write): rename leaves name table and record whole, a state that already
happened is kept and saved once the write works (runtime/containers/record.py,
runtime/engine/containers/context.py)."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from cove.runtime import errors
from cove.runtime.containers.record import ZERO_TIME, Container, now_rfc3339
from cove.runtime.engine.containers.context import ContainerContext
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.volumes import VolumeService
from cove.runtime.store.layout import Layout


@pytest.fixture
def ctx(tmp_path) -> ContainerContext:
    layout = Layout(tmp_path / "data", tmp_path / "exec")
    layout.ensure()
    events = EventBus()
    return ContainerContext(layout, None, events, VolumeService(layout, events))  # type: ignore[arg-type]


def _container(ctx: ContainerContext, cid: str, name: str) -> Container:
    ctx.layout.container_dir(cid).mkdir()
    container = Container(ctx.layout, {
        "Id": cid, "Name": "/" + name, "Created": now_rfc3339(), "Image": "sha256:i",
        "Path": "sh", "Args": [], "RestartCount": 0,
        "State": {"Status": "exited", "Running": False, "Paused": False,
                  "Restarting": False, "Pid": 0, "ExitCode": 0,
                  "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME},
        "Config": {}, "HostConfig": {}, "_cove": {"mount_points": []}})
    container.save()
    ctx.add(container)
    return container


def test_a_rename_the_disk_refuses_leaves_the_old_name_whole(ctx):
    container = _container(ctx, "a" * 64, "before")
    shutil.rmtree(ctx.layout.container_dir(container.id))
    with pytest.raises(errors.SystemError_, match="Error when allocating new name: after"):
        ctx.rename(container, "after")
    assert container.name == "before"
    assert ctx.get("before") is container
    with pytest.raises(errors.NotFound):
        ctx.get("after")
    other = _container(ctx, "b" * 64, "other")
    ctx.rename(other, "after")  # the new name was never taken
    assert ctx.get("after") is other


def test_a_state_the_disk_refuses_is_kept_and_saved_when_it_can_be(ctx):
    container = _container(ctx, "c" * 64, "exiting")
    directory = ctx.layout.container_dir(container.id)
    shutil.rmtree(directory)
    with container.lock:
        container.set_exited(7, False)
        container.save_eventually()  # no exception: the exit happened whatever the disk says
    assert container.state["ExitCode"] == 7
    directory.mkdir()
    record = ctx.layout.container_config(container.id)
    deadline = time.monotonic() + 10
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(record.read_text())["State"]["ExitCode"] == 7
