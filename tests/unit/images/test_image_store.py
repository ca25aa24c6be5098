"""The image store: load, resolve, inspect, list/filters, tag, rmi conflicts, prune, history."""

from __future__ import annotations

import io
import json

import pytest

from cove.runtime.errors import Conflict, InvalidParameter, NotFound
from cove.runtime.images.store import ImageStore, chain_ids
from cove.runtime.store.layout import Layout
from tests.support.layers import LayerTar, docker_archive, image_config, sha256, tree

BASE = LayerTar().dir("bin").file("bin/tool", b"base tool", mode=0o755).bytes()
APP = LayerTar().dir("app").file("app/main", b"app code" * 10).bytes()
OTHER = LayerTar().file("other", b"other!").bytes()


def unused(_image_id: str) -> None:
    return None


@pytest.fixture
def events():
    return []


@pytest.fixture
def store(tmp_path, events):
    return ImageStore(Layout(tmp_path / "data", tmp_path / "exec"),
                      on_event=lambda action, image_id, attrs: events.append(
                          (action, image_id, attrs["name"])))


def load(store, config, layers, tags, **kw):
    return store.load(io.BytesIO(docker_archive([(config, layers, tags)], **kw)))


@pytest.fixture
def app(store):
    """An image with two layers tagged app:1 and app:latest."""
    config = image_config([sha256(BASE), sha256(APP)], created="2024-02-01T00:00:00Z",
                          labels={"tier": "web"}, empty_history=1)
    assert load(store, config, [BASE, APP], ["app:1", "app:latest"]) == [
        "Loaded image: app:1", "Loaded image: app:latest"]
    return sha256(config)


@pytest.fixture
def other(store):
    config = image_config([sha256(BASE), sha256(OTHER)], created="2023-01-01T00:00:00Z")
    load(store, config, [BASE, OTHER], ["other:latest"], compress=True)
    return sha256(config)


def test_load_stores_config_and_layers_by_chain_id(store, app):
    chains = chain_ids([sha256(BASE), sha256(APP)])
    assert chains[0] == sha256(BASE)
    assert chains[1] == sha256(f"{sha256(BASE)} {sha256(APP)}".encode())
    assert store.layout.config_path(app[7:]).exists()
    meta = json.loads(store.layout.layer_meta(chains[1][7:]).read_bytes())
    assert meta == {"chain_id": chains[1], "diff_id": sha256(APP), "parent": chains[0],
                    "size": 80}
    top_first = store.lower_dirs(app)
    assert top_first == [str(store.layout.layer_diff(c[7:])) for c in reversed(chains)]
    assert (store.layout.layer_diff(chains[1][7:]) / "app/main").read_bytes() == b"app code" * 10
    repos = json.loads(store.layout.repositories_path.read_bytes())
    assert repos == {"Repositories": {"app": {"app:1": app, "app:latest": app}}}


def test_state_survives_a_new_store_instance(store, app):
    again = ImageStore(store.layout)
    assert again.resolve("app:1") == app and again.repo_tags(app) == ["app:1", "app:latest"]


@pytest.mark.parametrize("form", ["full", "hex", "prefix", "sha-prefix", "name", "tag",
                                  "full-name"])
def test_resolve_accepts_every_docker_form(store, app, form):
    ref = {"full": app, "hex": app[7:], "prefix": app[7:12], "sha-prefix": app[:12],
           "name": "app", "tag": "app:1", "full-name": "docker.io/library/app:latest"}[form]
    assert store.resolve(ref) == app


def test_resolve_unknown_says_no_such_image(store, app):
    with pytest.raises(NotFound, match=r"^No such image: nothere:latest$"):
        store.resolve("nothere")
    with pytest.raises(NotFound, match="No such image: app:2"):
        store.resolve("app:2")
    with pytest.raises(InvalidParameter, match="must be lowercase"):
        store.resolve("App")


def test_inspect_has_dockers_shape(store, app):
    info = store.inspect("app:1")
    assert list(info) == ["Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created",
                          "Container", "ContainerConfig", "DockerVersion", "Author", "Config",
                          "Architecture", "Os", "Size", "VirtualSize", "GraphDriver", "RootFS",
                          "Metadata"]
    assert info["Id"] == app and info["RepoTags"] == ["app:1", "app:latest"]
    assert info["Created"] == "2024-02-01T00:00:00Z" and info["Config"]["Labels"] == {"tier": "web"}
    assert info["Size"] == info["VirtualSize"] == 9 + 80
    assert info["RootFS"] == {"Type": "layers", "Layers": [sha256(BASE), sha256(APP)]}
    data = info["GraphDriver"]["Data"]
    assert info["GraphDriver"]["Name"] == "overlay2"
    assert data["UpperDir"] == store.lower_dirs(app)[0] and data["LowerDir"] == store.lower_dirs(app)[1]
    assert info["Metadata"] == {"LastTagTime": "0001-01-01T00:00:00Z"}


def test_history_lists_newest_first_with_sizes(store, app):
    items = store.history("app")
    assert [i["Id"] for i in items] == [app, "<missing>", "<missing>"]
    assert [i["Size"] for i in items] == [80, 9, 0]
    assert items[0]["Tags"] == ["app:1", "app:latest"] and items[1]["Tags"] is None
    assert items[2]["CreatedBy"].startswith("/bin/sh -c #(nop)")
    assert items[0]["Created"] == 1706745600


def test_list_summaries_and_filters(store, app, other):
    summaries = store.list()
    assert [s["Id"] for s in summaries] == [app, other]  # newest first
    first = summaries[0]
    assert first["RepoTags"] == ["app:1", "app:latest"] and first["SharedSize"] == -1
    assert first["Created"] == 1706745600 and first["Containers"] == -1
    assert first["Labels"] == {"tier": "web"} and first["Size"] == 89

    def ids(**filters):
        return [s["Id"] for s in store.list(filters={k: [v] for k, v in filters.items()})]
    assert ids(label="tier") == [app]
    assert ids(label="tier=db") == []
    assert ids(reference="oth*") == [other]
    assert store.list(filters={"reference": ["app:1"]})[0]["RepoTags"] == ["app:1"]
    assert ids(before="app:1") == [other]
    assert ids(since="other") == [app]
    assert ids(dangling="true") == []
    assert ids(dangling="false") == [app, other]
    with pytest.raises(InvalidParameter, match="Invalid filter 'colour'"):
        store.list(filters={"colour": ["red"]})
    with pytest.raises(InvalidParameter, match="Invalid filter 'dangling=maybe'"):
        store.list(filters={"dangling": ["maybe"]})


def test_reloading_a_tag_moves_it_and_leaves_the_old_image_dangling(store, other):
    config = image_config([sha256(OTHER)], created="2025-01-01T00:00:00Z")
    messages = load(store, config, [OTHER], ["other:latest"])
    assert messages == [f"The image other:latest already exists, renaming the old one with ID "
                        f"{other} to empty string", "Loaded image: other:latest"]
    dangling = store.list(filters={"dangling": ["true"]})
    assert [(s["Id"], s["RepoTags"], s["RepoDigests"]) for s in dangling] == [
        (other, ["<none>:<none>"], ["<none>@<none>"])]


def test_load_without_tags_reports_the_id(store):
    config = image_config([sha256(OTHER)])
    assert load(store, config, [OTHER], []) == [f"Loaded image ID: {sha256(config)}"]


def test_load_refuses_a_layer_that_does_not_match_its_diff_id(store):
    config = image_config([sha256(BASE)])
    with pytest.raises(InvalidParameter, match="invalid diffID"):
        load(store, config, [OTHER], ["bad:1"])
    assert store.list() == [] and tree(store.layout.layers_dir) == []
    assert tree(store.layout.tmp_dir) == []


def test_tag_and_untag(store, app, events):
    store.tag("app:1", "localhost:5000/team/app", "v9")
    assert store.resolve("localhost:5000/team/app:v9") == app
    assert store.inspect(app)["Metadata"]["LastTagTime"] != "0001-01-01T00:00:00Z"
    assert ("tag", app, "localhost:5000/team/app:v9") in events
    store.tag(app, "plain")
    assert store.resolve("plain:latest") == app
    with pytest.raises(InvalidParameter):
        store.tag(app, "Bad")
    with pytest.raises(InvalidParameter, match="digest algorithm"):
        store.tag(app, "sha256", "x")
    records = store.delete("plain", force=False, in_use=unused)
    assert records == [{"Untagged": "plain:latest"}] and ("untag", app, app) in events


def test_rmi_by_id_with_several_repositories_needs_force(store, app):
    store.tag(app, "second")
    with pytest.raises(Conflict) as info:
        store.delete(app[7:19], force=False, in_use=unused)
    assert str(info.value) == (f"conflict: unable to delete {app[7:19]} (must be forced) - "
                               "image is referenced in multiple repositories")
    records = store.delete(app[7:19], force=True, in_use=unused)
    assert {"Deleted": app} in records
    assert {r["Untagged"] for r in records if "Untagged" in r} == {
        "app:1", "app:latest", "second:latest"}


def test_rmi_of_an_image_used_by_a_container(store, app):
    store.delete("app:1", force=False, in_use=unused)  # other tags remain: untag only
    user = "c0ffee" * 10
    with pytest.raises(Conflict) as info:
        store.delete("app", force=False, in_use=lambda i: user if i == app else None)
    assert str(info.value) == (
        f'conflict: unable to remove repository reference "app" (must force) - container '
        f"{user[:12]} is using its referenced image {app[7:19]}")
    with pytest.raises(Conflict, match="image is being used by stopped container"):
        store.delete(app, force=False, in_use=lambda i: user)
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image is being used by running"):
        store.delete(app, force=True, in_use=lambda i: user, running=lambda i: user)
    records = store.delete(app, force=True, in_use=lambda i: user)
    assert records == [{"Untagged": "app:latest"}, {"Deleted": app}]
    assert all(store.has_layer(c) for c in chain_ids([sha256(BASE), sha256(APP)]))


def test_rmi_of_an_image_with_a_child_is_a_conflict_even_forced(store, app, other):
    store.set_parent(other, app)  # other was built on app
    expected = (f"conflict: unable to delete {app[7:19]} (cannot be forced) - "
                "image has dependent child images")
    for ref, force in ((app, True), (app, False), (app[7:19], True)):
        with pytest.raises(Conflict) as info:
            store.delete(ref, force=force, in_use=unused)
        assert str(info.value) == expected
    store.delete("app:1", force=True, in_use=unused)
    assert store.delete("app", force=True, in_use=unused) == [{"Untagged": "app:latest"}]
    assert app in store.image_ids()  # untagged, kept for its child
    records = store.delete("other", force=False, in_use=unused)
    assert {"Deleted": other} in records and {"Deleted": app} in records


def test_delete_removes_only_layers_no_other_image_uses(store, app, other, events):
    app_chains = chain_ids([sha256(BASE), sha256(APP)])
    records = store.delete("app:1", force=False, in_use=unused)
    assert records == [{"Untagged": "app:1"}]
    records = store.delete("app", force=False, in_use=unused)
    assert records == [{"Untagged": "app:latest"}, {"Deleted": app}, {"Deleted": app_chains[1]}]
    assert store.layout.layer_meta(sha256(BASE)[7:]).exists()  # shared with "other"
    assert not store.layout.layer_dir(app_chains[1][7:]).exists()
    assert ("delete", app, app) in events
    store.delete(other, force=False, in_use=unused)
    assert tree(store.layout.layers_dir) == [] and store.list() == []


def test_prune_dangling_and_all(store, app, other):
    load(store, image_config([sha256(OTHER)], created="2025-01-01T00:00:00Z"), [OTHER],
         ["other:latest"])
    report = store.prune(dangling_only=True, in_use=unused)
    assert report["ImagesDeleted"][0] == {"Deleted": other}
    assert report["SpaceReclaimed"] == 6  # the OTHER-on-BASE layer; BASE is still used by app
    assert store.prune(dangling_only=True, in_use=unused)["ImagesDeleted"] is None
    report = store.prune(dangling_only=False, in_use=lambda i: "c1" if i == app else None)
    assert [s["Id"] for s in store.list()] == [app]
    with pytest.raises(InvalidParameter, match="Invalid filter 'reference'"):
        store.prune(dangling_only=True, in_use=unused, filters={"reference": ["x"]})


def test_image_without_layers_has_no_lower_dirs(store):
    config = image_config([])
    load(store, config, [], ["scratchy:1"])
    assert store.lower_dirs(sha256(config)) == []
    assert store.inspect("scratchy:1")["GraphDriver"] == {"Name": "overlay2", "Data": {}}


def test_a_new_store_removes_work_a_crash_left_behind(store, app):
    (store.layout.tmp_dir / "load-x1").mkdir()
    (store.layout.tmp_dir / "someone-elses").mkdir()
    half = store.layout.layers_dir / ("f" * 64)
    (half / "diff").mkdir(parents=True)
    again = ImageStore(store.layout)
    assert tree(store.layout.tmp_dir) == ["someone-elses"] and not half.exists()
    assert again.resolve("app:1") == app


def test_concurrent_loads_share_one_copy_of_the_base_layer(store):
    import threading
    configs = [image_config([sha256(BASE), sha256(LayerTar().file(f"f{i}", b"%d" % i).bytes())],
                            created=f"2024-01-0{i + 1}T00:00:00Z") for i in range(4)]
    errors = []

    def run(i):
        top = LayerTar().file(f"f{i}", b"%d" % i).bytes()
        try:
            load(store, configs[i], [BASE, top], [f"par:{i}"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(store.resolve(f"par:{i}") for i in range(4)) == sorted(sha256(c) for c in configs)
    assert len(list(store.layout.layers_dir.iterdir())) == 5


def test_an_image_config_shows_every_key_dockerd_writes_and_no_unknown_one():
    from cove.runtime.images.views import container_config

    shown = container_config({"Cmd": ["sh"], "ExposedPorts": {}, "StopSignal": "SIGUSR1",
                              "Bogus": 1})
    assert list(shown) == ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout",
                           "AttachStderr", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd",
                           "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels",
                           "StopSignal"]
    assert (shown["Cmd"], shown["Env"], shown["StopSignal"]) == (["sh"], None, "SIGUSR1")
    assert container_config(None) is None


def test_history_names_the_local_parents_and_their_tags(store, app, other):
    store.set_parent(other, app)  # other was built on app
    history = store.history(other)
    assert [h["Id"] for h in history[:2]] == [other, app]
    assert history[0]["Tags"] == ["other:latest"]
    assert sorted(history[1]["Tags"]) == ["app:1", "app:latest"]
    store.set_parent(app, "sha256:" + "f" * 64)  # a parent that is gone ends the walk
    assert [h["Id"] for h in store.history(app)[1:]] == ["<missing>"] * 2
