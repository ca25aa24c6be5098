"""Reading the image so far from its layer directories: whiteouts hide, --chown resolves."""

from __future__ import annotations

import pytest

from cove.runtime.build import image_files
from cove.runtime.errors import InvalidParameter


@pytest.fixture
def layers(tmp_path):
    """Two layers, top first: the top one deletes /etc/gone and adds /srv/app/."""
    top, base = tmp_path / "top", tmp_path / "base"
    (base / "etc").mkdir(parents=True)
    (base / "etc" / "gone").write_text("x")
    (base / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n")
    (base / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    (top / "etc").mkdir(parents=True)
    (top / "etc" / ".wh.gone").write_text("")
    (top / "srv" / "app").mkdir(parents=True)
    return [str(top), str(base)]


def test_paths_are_found_in_the_topmost_layer_unless_a_whiteout_hides_them(layers):
    assert image_files.lookup(layers, "/etc/passwd") == layers[1] + "/etc/passwd"
    assert image_files.exists(layers, "/") and image_files.is_dir(layers, "/srv/app")
    assert not image_files.exists(layers, "/etc/gone")
    assert not image_files.is_dir(layers, "/etc/passwd")
    assert not image_files.exists(layers, "/nowhere")


@pytest.mark.parametrize(("spec", "ids"), [
    (None, (0, 0)), ("app", (1000, 1000)), ("app:staff", (1000, 50)), ("7:8", (7, 8)),
])
def test_chown_names_resolve_in_the_images_passwd_and_group(layers, spec, ids):
    owner = image_files.owner(layers, spec)
    assert (owner.uid, owner.gid) == ids


def test_an_unknown_chown_name_is_dockers_error(layers):
    with pytest.raises(InvalidParameter, match="no such user or group: nobody"):
        image_files.owner(layers, "nobody")


def test_destinations_resolve_through_the_images_links_without_leaving_it(layers, tmp_path):
    """Links in any layer are followed in the layered view; absolute targets and ``..``
    stay inside the image; a missing tail is kept as written."""
    top = tmp_path / "top"
    (top / "var").mkdir()
    (top / "var" / "run").symlink_to("/srv/app")
    (top / "srv" / "rel").symlink_to("app")
    (top / "srv" / "escape").symlink_to("../../../..")
    assert image_files.resolve(layers, "/var/run/new/file") == "/srv/app/new/file"
    assert image_files.resolve(layers, "/srv/rel") == "/srv/app"
    assert image_files.resolve(layers, "/srv/escape/etc") == "/etc"
    assert image_files.resolve(layers, "/nowhere/./x/../y") == "/nowhere/y"
    (top / "loop").symlink_to("/loop")
    with pytest.raises(InvalidParameter):
        image_files.resolve(layers, "/loop/x")
