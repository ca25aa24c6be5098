"""The volume store, the copy-up, the volume mount specs and the volume service's planning."""

from __future__ import annotations

import os
import threading

import pytest

from cove.runtime import errors
from cove.runtime.engine import mounts
from cove.runtime.engine.events import EventBus
from cove.runtime.engine.volumes import VolumeService, plan_mounts
from cove.runtime.store.layout import Layout
from cove.runtime.volumes.store import VolumeStore


@pytest.fixture
def layout(tmp_path) -> Layout:
    lay = Layout(tmp_path / "data", tmp_path / "exec")
    lay.ensure()
    return lay


def test_a_volume_is_a_data_dir_and_a_record_that_survive_a_new_store(layout):
    store = VolumeStore(layout)
    volume, made = store.create("web", labels={"a": "b"})
    assert made and volume.labels == {"a": "b"}
    assert os.path.isdir(layout.volume_data("web"))
    again, made = VolumeStore(layout).create("web", labels={"other": "1"})
    assert not made and again.labels == {"a": "b"} and again.created_at == volume.created_at


def test_an_empty_name_makes_a_64_hex_volume(layout):
    volume, made = VolumeStore(layout).create("")
    assert made and len(volume.name) == 64 and int(volume.name, 16) >= 0


def test_a_directory_without_a_record_is_not_a_volume(layout):
    (layout.volumes_dir / "half" / "_data").mkdir(parents=True)
    store = VolumeStore(layout)
    assert store.list() == []
    assert not (layout.volumes_dir / "half").exists()


@pytest.mark.parametrize(("name", "message"), [
    ("x", "create x: volume name is too short, names should be at least two alphanumeric "
          "characters"),
    ("a/b", 'create a/b: "a/b" includes invalid characters for a local volume name'),
    ("-ab", 'create -ab: "-ab" includes invalid characters'),
])
def test_bad_names_get_dockerds_texts(layout, name, message):
    with pytest.raises(errors.InvalidParameter) as caught:
        VolumeStore(layout).create(name)
    assert caught.value.message.startswith(message)


def test_driver_options_and_other_drivers_are_refused(layout):
    store = VolumeStore(layout)
    with pytest.raises(errors.NotImplementedByEngine):
        store.create("opts", options={"type": "tmpfs"})
    with pytest.raises(errors.NotFound, match='plugin "nfs" not found'):
        store.create("drv", driver="nfs")
    assert store.list() == []


def test_a_referenced_volume_cannot_be_removed_even_forced(layout):
    store = VolumeStore(layout)
    store.create("busy", ref="c2")
    store.acquire("busy", "c1")
    with pytest.raises(errors.Conflict) as caught:
        store.remove("busy", force=True)
    assert caught.value.message == "remove busy: volume is in use - [c1 c2]"
    store.release("busy", "c1")
    store.release("busy", "c2")
    assert store.remove("busy")
    assert not layout.volume_dir("busy").exists()
    with pytest.raises(errors.NotFound, match="get busy: no such volume"):
        store.remove("busy")
    assert store.remove("busy", force=True) is False


def test_concurrent_creates_of_one_name_make_it_once(layout):
    store = VolumeStore(layout)
    made: list[bool] = []
    threads = [threading.Thread(target=lambda: made.append(store.create("race")[1]))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made.count(True) == 1


def test_the_service_lists_with_filters_and_prunes_unused_volumes(layout):
    events = EventBus()
    service = VolumeService(layout, events)
    service.create({"Name": "keep", "Labels": {"keep": ""}})
    service.create({"Name": "used"})
    service.create({"Name": "drop"})
    service.store.acquire("used", "cid")
    dangling = service.list({"dangling": ["true"]})["Volumes"]
    assert sorted(v["Name"] for v in dangling) == ["drop", "keep"]
    assert [v["Name"] for v in service.list({"label": ["keep"]})["Volumes"]] == ["keep"]
    assert service.list({"name": ["dro"]})["Volumes"][0]["Labels"] is None
    with pytest.raises(errors.InvalidParameter, match="Invalid filter 'dangling=\\[maybe\\]'"):
        service.list({"dangling": ["maybe"]})
    report = service.prune({"label!": ["keep"]})
    assert report == {"VolumesDeleted": ["drop"], "SpaceReclaimed": 0}
    _, queue = events.subscribe(0)
    service.remove("keep", force=False)
    assert queue.get_nowait()["Action"] == "destroy"


def test_volume_specs_parse_like_dockerd():
    named = mounts.parse_bind("data:/d:ro,nocopy")
    assert (named.type, named.name, named.rw, named.copy_data, named.mode, named.anonymous) == \
        ("volume", "data", False, False, "ro,nocopy", False)
    assert mounts.parse_bind("data:/d").mode == "z"
    anonymous = mounts.parse_bind("/only")
    assert (anonymous.type, anonymous.anonymous, anonymous.destination) == ("volume", True, "/only")
    spec = mounts.parse_mount({"Type": "volume", "Target": "/m",
                               "VolumeOptions": {"Labels": {"k": "v"}, "NoCopy": True}})
    assert spec.anonymous and spec.volume_labels == {"k": "v"} and not spec.copy_data
    with pytest.raises(errors.InvalidParameter, match="must not set ReadOnly mode"):
        mounts.parse_mount({"Type": "volume", "Target": "/m", "ReadOnly": True})
    with pytest.raises(errors.InvalidParameter, match="invalid mode: rshared"):
        mounts.parse_volumes_from("c:rshared")
    assert mounts.MountPoint.from_record(named.to_record()) == named


def test_plan_mounts_puts_binds_over_volumes_from_and_skips_covered_config_volumes(tmp_path):
    shared = mounts.MountPoint("volume", "/v", source="/vol/_data", name="shared", mode="z")
    other = mounts.MountPoint("volume", "/w", source="/w/_data", name="w", anonymous=True)
    host = {"Binds": [f"{tmp_path}:/v"], "Tmpfs": {"/t": ""}, "VolumesFrom": ["src:ro"]}
    config = {"Volumes": {"/v": {}, "/t": {}, "/new/": {}}}
    planned = {p.destination: p for p in plan_mounts(config, host, lambda ref: [shared, other])}
    assert planned["/v"].type == "bind"
    assert (planned["/w"].rw, planned["/w"].mode, planned["/w"].copy_data) == (False, "", False)
    assert planned["/new"].anonymous and planned["/new"].mode == ""
    assert set(planned) == {"/v", "/w", "/t", "/new"}


