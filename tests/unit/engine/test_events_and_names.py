"""Event filtering and container names."""

from __future__ import annotations

import pytest

from cove.runtime import errors
from cove.runtime.containers import names
from cove.runtime.engine.events import EventBus, matches


def test_subscribers_get_new_events_and_history_answers_since():
    bus = EventBus()
    bus.publish("container", "create", "abc", {"name": "web", "image": "busybox"})
    past, queue = bus.subscribe(since_ns=0)
    bus.publish("image", "tag", "sha256:1", {"name": "busybox:latest"})
    assert [e["Action"] for e in past] == ["create"]
    assert queue.get_nowait()["Type"] == "image"
    bus.unsubscribe(queue)


def test_filters_select_by_type_action_container_and_label():
    bus = EventBus()
    bus.publish("container", "die", "abc123", {"name": "web", "image": "busybox", "tier": "front"})
    event = bus.subscribe(since_ns=0)[0][0]
    assert matches(event, {"type": ["container"], "event": ["die"]})
    assert matches(event, {"container": ["web"]}) and matches(event, {"container": ["abc"]})
    assert matches(event, {"label": ["tier=front"]})
    assert not matches(event, {"label": ["tier=back"]})
    assert not matches(event, {"type": ["image"]})


def test_names_are_checked_and_generated_unique():
    assert names.validate("web-1") == "/web-1"
    with pytest.raises(errors.InvalidParameter, match="Invalid container name"):
        names.validate("bad name")
    taken = {"/" + names.generate(set()) for _ in range(50)}
    assert "/" + names.generate(taken) not in taken
