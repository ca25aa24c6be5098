"""Which entries of an overlay upper dir are a container's changes (docker diff) and which go
into its layer (commit, RUN steps): dockerd's rules, without the mount points the engine
makes in every container."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from cove.runtime.build.layers import ADDED, DELETED, MODIFIED, diff_tar, upper_changes


@pytest.fixture
def image(tmp_path: Path) -> Path:
    lower = tmp_path / "lower"
    for directory in ("etc", "bin", "usr/lib"):
        (lower / directory).mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (lower / "bin" / "vi").write_text("vi")
    return lower


def _copied_up(lower: Path, upper: Path, rel: str) -> None:
    """A directory as overlay copies it up: same mode and owner, maybe another mtime."""
    st = os.stat(lower / rel)
    (upper / rel).mkdir(parents=True)
    os.chmod(upper / rel, st.st_mode & 0o7777)


def test_engine_mount_points_and_their_parent_are_not_changes(image: Path, tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    _copied_up(image, upper, "etc")
    for name in ("hostname", "hosts", "resolv.conf"):
        (upper / "etc" / name).touch()
    (upper / "proc").mkdir()
    assert upper_changes(str(upper), [str(image)]) == []
    layer = io.BytesIO()
    diff_tar(str(upper), layer, [str(image)])
    layer.seek(0)
    with tarfile.open(fileobj=layer) as tar:
        assert tar.getnames() == []


def test_user_changes_keep_their_parents(image: Path, tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    _copied_up(image, upper, "etc")
    (upper / "etc" / "hostname").touch()
    (upper / "etc" / "added").write_text("hi")
    _copied_up(image, upper, "usr/lib")          # copied up for nothing
    _copied_up(image, upper, "bin")
    os.mknod(upper / "bin" / "vi", 0o20000, 0)  # a whiteout
    found = [(c.rel, c.kind) for c in upper_changes(str(upper), [str(image)])]
    assert found == [("bin", MODIFIED), ("bin/vi", DELETED), ("etc", MODIFIED),
                     ("etc/added", ADDED)]
    layer = io.BytesIO()
    diff_tar(str(upper), layer, [str(image)])
    layer.seek(0)
    with tarfile.open(fileobj=layer) as tar:
        # a layer is the upper dir as it is (dockerd's too): /usr/lib copied up stays
        assert tar.getnames() == ["bin", "bin/.wh.vi", "etc", "etc/added", "usr", "usr/lib"]


def test_a_directory_whose_mode_changed_is_a_change(image: Path, tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    _copied_up(image, upper, "usr")
    os.chmod(upper / "usr", 0o700)
    assert [(c.rel, c.kind) for c in upper_changes(str(upper), [str(image)])] == \
        [("usr", MODIFIED)]


def test_a_stub_path_the_user_filled_is_a_change(image: Path, tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "hosts").write_text("127.0.0.1 mine\n")
    assert [(c.rel, c.kind) for c in upper_changes(str(upper), [str(image)])] == \
        [("etc", MODIFIED), ("etc/hosts", ADDED)]


def test_an_init_layer_made_in_the_upper_dir_is_not_a_change(tmp_path: Path) -> None:
    """An image without /etc or /dev: the engine's directories holding only its stubs
    (dockerd's init layer) are left out; the user's file beside them is not."""
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "bin").mkdir(parents=True)
    for rel in ("etc", "dev/pts", "dev/shm", "proc", "sys"):
        (upper / rel).mkdir(parents=True)
    for rel in ("etc/hostname", "etc/hosts", "etc/resolv.conf", "dev/console", ".dockerenv"):
        (upper / rel).touch()
    (upper / "etc" / "mtab").symlink_to("/proc/mounts")
    assert upper_changes(str(upper), [str(lower)]) == []
    assert upper_changes(str(upper), [str(lower)], for_layer=True) == []
    (upper / "etc" / "mine").write_text("x")
    assert [(c.rel, c.kind) for c in upper_changes(str(upper), [str(lower)])] == \
        [("etc", ADDED), ("etc/mine", ADDED)]
