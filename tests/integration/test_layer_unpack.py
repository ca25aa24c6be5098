"""Layer unpacking: hostile layers are refused leaving nothing behind; metadata is kept."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from cove.runtime.errors import InvalidParameter
from cove.runtime.images.tarsplit import write_tar
from cove.runtime.images.unpack import unpack_layer, unpack_layer_atomic
from tests.support.layers import MTIME, LayerTar, sha256, tree, zstd_compress


@pytest.fixture
def area(tmp_path):
    """(final dir, tmp root, a sentinel dir outside the layer that must stay empty)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    return tmp_path / "layers" / "abc" / "diff", tmp_path / "tmp", outside


def _giant_pax_header() -> bytes:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type, info.size = tarfile.XHDTYPE, 1 << 30
    return info.tobuf(format=tarfile.USTAR_FORMAT) + b"x" * 4096


def hostile_layers(outside):
    target = str(outside)
    long_name = "d/" * 2100 + "f"
    truncated = gzip.compress(LayerTar().file("a", os.urandom(200_000)).bytes())
    return {
        "absolute path": LayerTar().file(f"{target}/abs", b"x").bytes(),
        "dotdot escape": LayerTar().file("../escape", b"x").bytes(),
        "nested dotdot escape": LayerTar().dir("a").file("a/../../escape", b"x").bytes(),
        "write through symlink": LayerTar().symlink("link", target).file("link/file", b"x")
        .bytes(),
        "symlink parent chain": LayerTar().dir("a").symlink("a/b", target)
        .file("a/b/c/file", b"x").bytes(),
        "relative symlink parent": LayerTar().symlink("up", "../../..").file("up/tmp/x", b"x")
        .bytes(),
        "hardlink outside": LayerTar().hardlink("passwd", "../../etc/passwd").bytes(),
        "hardlink absolute": LayerTar().hardlink("passwd", "/etc/passwd").bytes(),
        "hardlink through symlink": LayerTar().symlink("etc", "/etc")
        .hardlink("pw", "etc/passwd").bytes(),
        "whiteout of dotdot": LayerTar().dir("a").file("a/.wh...", b"").bytes(),
        "whiteout through symlink": LayerTar().symlink("l", target).file("l/.wh.x", b"").bytes(),
        "huge path": LayerTar().file(long_name, b"x").bytes(),
        "huge component": LayerTar().file("n" * 300, b"x").bytes(),
        "truncated gzip": truncated[: len(truncated) // 2],
        "truncated tar": LayerTar().file("big", b"y" * 100_000).bytes()[:20_000],
        "garbage": b"\x13\x37" * 3000,
        "giant pax header": _giant_pax_header(),
        "corrupt zstd": b"\x28\xb5\x2f\xfd" + os.urandom(500),
    }


@pytest.mark.parametrize("case", list(hostile_layers(Path("/x"))))
def test_hostile_layer_is_refused_and_leaves_nothing(area, case):
    final, tmp_root, outside = area
    data = hostile_layers(outside)[case]
    with pytest.raises(InvalidParameter):
        unpack_layer_atomic(io.BytesIO(data), final, tmp_root)
    assert not final.exists()
    assert tree(tmp_root) == []
    assert tree(outside) == []


def test_symlinks_may_point_anywhere_but_are_not_followed(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    data = LayerTar().symlink("abs", "/etc/passwd").symlink("rel", "../../x").bytes()
    unpack_layer(io.BytesIO(data), dest)
    assert os.readlink(dest / "abs") == "/etc/passwd"
    assert os.readlink(dest / "rel") == "../../x"


def test_ownership_modes_times_and_xattrs_are_kept(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    data = (LayerTar().dir("etc", mode=0o750, uid=7, gid=8)
            .file("etc/suid", b"#!", mode=0o4755, uid=1000, gid=1001,
                  xattrs={"user.cove": "yes", "trusted.overlay.redirect": "/evil"})
            .symlink("etc/ln", "suid", uid=5, gid=6)
            .hardlink("etc/hard", "etc/suid")
            .fifo("pipe").device("null", 1, 3).bytes())
    result = unpack_layer(io.BytesIO(data), dest)
    st = os.lstat(dest / "etc/suid")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1001, 0o4755)
    assert st.st_mtime == MTIME and st.st_nlink == 2
    assert os.getxattr(dest / "etc/suid", "user.cove") == b"yes"
    assert "trusted.overlay.redirect" not in os.listxattr(dest / "etc/suid")
    etc = os.lstat(dest / "etc")
    assert (etc.st_uid, etc.st_gid, stat.S_IMODE(etc.st_mode), etc.st_mtime) == (7, 8, 0o750, MTIME)
    link = os.lstat(dest / "etc/ln")
    assert stat.S_ISLNK(link.st_mode) and (link.st_uid, link.st_gid) == (5, 6)
    assert stat.S_ISFIFO(os.lstat(dest / "pipe").st_mode)
    null = os.lstat(dest / "null")
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    assert result.size == 2 and result.diff_id == sha256(data)


def test_devices_are_skipped_when_not_allowed(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    unpack_layer(io.BytesIO(LayerTar().device("sda", 8, 0, tarfile.BLKTYPE).bytes()), dest,
                 allow_devices=False)
    assert not (dest / "sda").exists()


def test_whiteouts_become_overlay_whiteouts(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    data = (LayerTar().dir("etc").file("etc/.wh.motd", b"").dir("var")
            .file("var/.wh..wh..opq", b"").file("var/new", b"n")
            .file(".wh..wh.plnk", b"").bytes())
    unpack_layer(io.BytesIO(data), dest)
    whiteout = os.lstat(dest / "etc/motd")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == os.makedev(0, 0)
    assert not (dest / "etc/.wh.motd").exists()
    assert os.getxattr(dest / "var", "trusted.overlay.opaque") == b"y"
    assert not (dest / "var/.wh..wh..opq").exists() and (dest / "var/new").read_bytes() == b"n"
    assert not (dest / ".wh..wh.plnk").exists()


def test_later_entries_replace_earlier_ones(tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    data = (LayerTar().symlink("x", "/etc").dir("x").file("x/f", b"1")
            .dir("y").file("y/inner", b"").file("y", b"now a file").bytes())
    unpack_layer(io.BytesIO(data), dest)
    assert (dest / "x").is_dir() and not (dest / "x").is_symlink()
    assert (dest / "y").read_bytes() == b"now a file"


@pytest.mark.parametrize("codec", ["plain", "gzip", "zstd"])
def test_diff_id_is_digest_of_uncompressed_tar(tmp_path, codec):
    data = LayerTar().dir("a").file("a/b", b"hello" * 1000).bytes()
    packed = {"plain": data, "gzip": gzip.compress(data), "zstd": zstd_compress(data)}[codec]
    result = unpack_layer_atomic(io.BytesIO(packed), tmp_path / "l/diff", tmp_path / "tmp")
    assert result.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (tmp_path / "l/diff/a/b").read_bytes() == b"hello" * 1000
    assert result.size == 5000
    assert stat.S_IMODE(os.stat(tmp_path / "l/diff").st_mode) == 0o755


def test_empty_stream_is_an_empty_layer(tmp_path):
    result = unpack_layer_atomic(io.BytesIO(b""), tmp_path / "l/diff", tmp_path / "tmp")
    assert result.diff_id == sha256(b"") and tree(tmp_path / "l/diff") == []


def test_unexpected_diff_id_is_refused(tmp_path):
    data = LayerTar().file("a", b"x").bytes()
    with pytest.raises(InvalidParameter, match="invalid diffID"):
        unpack_layer_atomic(io.BytesIO(data), tmp_path / "l/diff", tmp_path / "tmp",
                            expected_diff_id="sha256:" + "0" * 64)
    assert not (tmp_path / "l").exists() and tree(tmp_path / "tmp") == []


def test_size_limit_is_enforced(tmp_path):
    data = LayerTar().file("a", b"x" * 50_000).bytes()
    with pytest.raises(InvalidParameter, match="larger than"):
        unpack_layer_atomic(io.BytesIO(data), tmp_path / "l/diff", tmp_path / "tmp",
                            max_size=10_000)


def test_tar_split_rebuilds_the_identical_tar(tmp_path):
    data = (LayerTar().dir("etc", uid=3).file("etc/a", os.urandom(70_000), xattrs={"user.k": "v"})
            .file("etc/empty", b"").hardlink("etc/b", "etc/a").symlink("s", "etc/a")
            .file("etc/.wh.gone", b"").file("p" * 120 + "/long", b"pax path").fifo("f").bytes())
    skeleton = tmp_path / "tar-split"
    result = unpack_layer_atomic(io.BytesIO(gzip.compress(data)), tmp_path / "l/diff",
                                 tmp_path / "tmp", skeleton_path=skeleton)
    out = io.BytesIO()
    digest, size = write_tar(skeleton, tmp_path / "l/diff", out)
    assert out.getvalue() == data
    assert (digest, size) == (result.diff_id, len(data))
    assert skeleton.stat().st_size < 4096
