"""A volume's copy-up keeps what the image's files carry, on a real filesystem as root."""

from __future__ import annotations

import os
import stat

from cove.runtime.volumes.copyup import copy_tree


def test_copy_tree_keeps_owners_modes_links_and_xattrs(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    dst.mkdir()
    (src / "f").write_text("data")
    os.chown(src / "f", 1000, 50)
    os.chmod(src / "f", 0o4750)
    os.link(src / "f", src / "hard")
    os.symlink("f", src / "link")
    os.chmod(src / "sub", 0o700)
    os.chown(src, 7, 8)
    os.chmod(src, 0o751)
    try:
        os.setxattr(src / "f", "user.note", b"kept")
        has_xattrs = True
    except OSError:
        has_xattrs = False
    copy_tree(str(src), str(dst))
    info = os.lstat(dst / "f")
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1000, 50, 0o4750)
    assert os.lstat(dst / "hard").st_ino == info.st_ino
    assert os.readlink(dst / "link") == "f"
    assert stat.S_IMODE(os.lstat(dst / "sub").st_mode) == 0o700
    top = os.lstat(dst)
    assert (top.st_uid, top.st_gid, stat.S_IMODE(top.st_mode)) == (7, 8, 0o751)
    if has_xattrs:
        assert os.getxattr(dst / "f", "user.note") == b"kept"
