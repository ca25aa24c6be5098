"""docker load / docker save: docker-archive and OCI layout, round trips, hostile archives."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile

import pytest

from cove.runtime.errors import InvalidParameter
from cove.runtime.images.store import ImageStore
from cove.runtime.store.layout import Layout
from tests.support.layers import (
    LayerTar,
    docker_archive,
    image_config,
    oci_archive,
    sha256,
    tree,
    zstd_compress,
)

BASE = (LayerTar().dir("etc").file("etc/conf", b"k=v", xattrs={"user.a": "1"})
        .hardlink("etc/conf2", "etc/conf").symlink("link", "/etc/conf").bytes())
TOP = LayerTar().dir("etc").file("etc/.wh.conf2", b"").file("data", os.urandom(3000)).bytes()


def new_store(tmp_path, name, events=None):
    sink = (lambda a, i, attrs: events.append((a, i))) if events is not None else None
    return ImageStore(Layout(tmp_path / name, tmp_path / f"{name}-exec"), on_event=sink)


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def test_save_then_load_round_trips_ids_and_tags(tmp_path):
    events = []
    first = new_store(tmp_path, "a", events)
    config = image_config([sha256(BASE), sha256(TOP)])
    first.load(io.BytesIO(docker_archive([(config, [gzip.compress(BASE), TOP],
                                           ["rt:1", "rt:2"])])))
    out = io.BytesIO()
    first.save(["rt"], out)
    assert ("save", sha256(config)) in events and ("load", sha256(config)) in events
    files = members(out.getvalue())
    manifest = json.loads(files["manifest.json"])
    assert manifest == [{"Config": f"{sha256(config)[7:]}.json", "RepoTags": ["rt:1", "rt:2"],
                         "Layers": [f"{sha256(BASE)[7:]}/layer.tar", f"{sha256(TOP)[7:]}/layer.tar"]}]
    assert files[f"{sha256(BASE)[7:]}/layer.tar"] == BASE  # byte-identical: same diff IDs
    assert json.loads(files["repositories"]) == {"rt": {"1": sha256(TOP)[7:], "2": sha256(TOP)[7:]}}
    second = new_store(tmp_path, "b")
    assert second.load(io.BytesIO(out.getvalue())) == ["Loaded image: rt:1", "Loaded image: rt:2"]
    assert second.inspect("rt:2")["Id"] == sha256(config)
    assert tree(second.layout.tmp_dir) == [] and tree(first.layout.tmp_dir) == []


def test_save_by_id_has_no_tags_and_by_tag_only_that_tag(tmp_path):
    store = new_store(tmp_path, "a")
    config = image_config([sha256(BASE)])
    store.load(io.BytesIO(docker_archive([(config, [BASE], ["one:1", "one:2"])])))
    for refs, tags in ([[sha256(config)[7:19]], None], [["one:2"], ["one:2"]]):
        out = io.BytesIO()
        store.save(refs, out)
        assert json.loads(members(out.getvalue())["manifest.json"])[0]["RepoTags"] == tags


def test_load_oci_layout_verifies_digests_and_takes_the_name(tmp_path):
    store = new_store(tmp_path, "a")
    config = image_config([sha256(BASE), sha256(TOP)])
    archive = oci_archive(config, [BASE, TOP], "docker.io/library/ocitest:v1")
    assert store.load(io.BytesIO(gzip.compress(archive))) == ["Loaded image: ocitest:v1"]
    assert store.resolve("ocitest:v1") == sha256(config)
    with pytest.raises(InvalidParameter, match="does not match its digest"):
        new_store(tmp_path, "b").load(io.BytesIO(oci_archive(config, [BASE, TOP], None,
                                                             tamper=True)))
    assert tree(tmp_path / "b" / "image" / "layers") == []


def test_load_oci_layout_without_a_name_loads_by_id(tmp_path):
    config = image_config([sha256(BASE)])
    store = new_store(tmp_path, "a")
    assert store.load(io.BytesIO(zstd_compress(oci_archive(config, [BASE], None)))) == [
        f"Loaded image ID: {sha256(config)}"]


def test_legacy_archive_with_symlinked_layers_loads(tmp_path):
    config = image_config([sha256(BASE), sha256(BASE)])
    archive = (LayerTar(fmt=tarfile.USTAR_FORMAT).dir("l1").file("l1/layer.tar", BASE)
               .dir("l2").symlink("l2/layer.tar", "../l1/layer.tar")
               .file("c.json", config)
               .file("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["dup:1"],
                                                   "Layers": ["l1/layer.tar", "l2/layer.tar"]}])
                     .encode()).bytes())
    store = new_store(tmp_path, "a")
    assert store.load(io.BytesIO(archive)) == ["Loaded image: dup:1"]
    assert len(store.lower_dirs(sha256(config))) == 2


@pytest.mark.parametrize("case", ["symlink escape", "dotdot member", "missing layer",
                                  "no manifest", "layer count", "bad tag", "not a tar"])
def test_hostile_or_broken_archives_are_refused_cleanly(tmp_path, case):
    config = image_config([sha256(BASE)])

    def archive(layers, tags=("x:1",), extra=None):
        tar = LayerTar(fmt=tarfile.USTAR_FORMAT).file("c.json", config)
        for name, target in (extra or {}).items():
            tar.symlink(name, target)
        tar.file("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": list(tags),
                                               "Layers": layers}]).encode())
        return tar.bytes()
    data = {
        "symlink escape": archive(["evil"], extra={"evil": "../../../../etc/passwd"}),
        "dotdot member": LayerTar().file("../x", b"").bytes(),
        "missing layer": archive(["nothere/layer.tar"]),
        "no manifest": LayerTar().file("hello", b"").bytes(),
        "layer count": archive([]),
        "bad tag": archive([], tags=("NoCaps:1",)),
        "not a tar": b"\x00garbage" * 100,
    }[case]
    store = new_store(tmp_path, "a")
    with pytest.raises(InvalidParameter):
        store.load(io.BytesIO(data))
    assert tree(store.layout.tmp_dir) == [] and store.list() == []
