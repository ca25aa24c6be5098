"""``coved --check`` on a real store: leftovers removed, problems found, nothing of a
user's touched."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from cove.runtime.engine.check import check
from cove.runtime.images.store import ImageStore
from cove.runtime.store.layout import Layout, atomic_write_json
from tests.support.images import busybox_archive


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "data", tmp_path / "exec")
    ImageStore(layout).load(io.BytesIO(busybox_archive(tag="checked:1")))
    return layout


def _image_id(layout: Layout) -> str:
    repos = json.loads(layout.repositories_path.read_text())["Repositories"]
    return repos["checked"]["checked:1"]


def _container(layout: Layout, cid: str, image_id: str) -> None:
    os.makedirs(layout.container_dir(cid))
    atomic_write_json(layout.container_config(cid), {"Id": cid, "Image": image_id})


def test_a_sound_store_has_nothing_to_report(layout: Layout) -> None:
    _container(layout, "a" * 64, _image_id(layout))
    report = check(layout)
    assert report.findings == []


def test_leftovers_of_interrupted_work_are_removed(layout: Layout) -> None:
    (layout.tmp_dir / "build-context-x").mkdir()
    (layout.layers_dir / ("b" * 64)).mkdir()
    (layout.containers_dir / ("c" * 64)).mkdir()
    (layout.volumes_dir / "half").mkdir()
    temp = layout.image_dir / ".repositories.json.ab12_xyz"
    temp.write_text("{")
    report = check(layout)
    assert report.problems == []
    assert len(report.findings) == 5
    assert not any(p.exists() for p in (layout.tmp_dir / "build-context-x", temp, layout.volumes_dir / "half",
                                        layout.layers_dir / ("b" * 64),
                                        layout.containers_dir / ("c" * 64)))
    assert check(layout).findings == []


def test_a_user_file_that_looks_like_a_temp_file_is_left_alone(layout: Layout) -> None:
    cid = "d" * 64
    _container(layout, cid, _image_id(layout))
    upper = layout.container_upper(cid)
    upper.mkdir()
    (upper / ".profile.abcd1234").write_text("mine")
    assert check(layout).findings == []
    assert (upper / ".profile.abcd1234").read_text() == "mine"


def test_torn_records_and_missing_parts_are_problems(layout: Layout) -> None:
    image_id = _image_id(layout)
    cid = "e" * 64
    _container(layout, cid, image_id)
    layout.container_config(cid).write_text('{"Id": "ee')  # torn
    _container(layout, "f" * 64, "sha256:" + "0" * 64)  # its image is gone
    config = layout.config_path(image_id[7:])
    config.write_bytes(config.read_bytes()[:-1])  # no longer its digest
    report = check(layout)
    texts = [f.what for f in report.unrepaired]
    assert any("torn record" in t and cid in t for t in texts), texts
    assert any("uses missing image" in t for t in texts), texts
    assert any("does not match its digest" in t for t in texts), texts
    assert not any(f.kind == "leftover" for f in report.findings)


def test_a_tag_naming_a_missing_image_is_dropped(layout: Layout) -> None:
    refs = json.loads(layout.repositories_path.read_text())
    refs["Repositories"]["ghost"] = {"ghost:1": "sha256:" + "9" * 64}
    atomic_write_json(layout.repositories_path, refs)
    report = check(layout)
    assert [(f.repaired, "ghost:1" in f.what) for f in report.problems] == [(True, True)]
    assert report.unrepaired == []
    kept = json.loads(layout.repositories_path.read_text())["Repositories"]
    assert list(kept) == ["checked"]


def test_a_layer_with_its_content_gone_is_a_problem(layout: Layout) -> None:
    chain = next(layout.layers_dir.iterdir()).name
    os.rename(layout.layer_diff(chain), layout.tmp_dir / "elsewhere")
    report = check(layout, repair=False)
    texts = [f.what for f in report.problems]
    assert any(chain in t and "no content" in t for t in texts), texts
    assert any("lacks layer" in t for t in texts), texts
