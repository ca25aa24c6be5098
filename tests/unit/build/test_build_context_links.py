"""The daemon's build context keeps links that point out of it, and never reads or
writes through them."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from cove.runtime import errors
from cove.runtime.build.context import BuildContext


def _tar(*members: tuple[str, str, str]) -> io.BytesIO:
    """(name, kind "file"|"link"|"dir", data or link target)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value.encode()))
    out.seek(0)
    return out


def test_links_out_of_the_context_are_kept_but_never_followed(tmp_path):
    context = BuildContext(_tar(("Dockerfile", "link", "/hostname"),
                                ("hostetc", "link", "/etc"), ("loop", "link", "loop"),
                                ("shared", "link", "../../shared"),
                                ("app", "dir", ""), ("app/main", "file", "x")), str(tmp_path))
    try:
        assert os.readlink(os.path.join(context.root, "shared")) == "../../shared"
        # a linked Dockerfile is read inside the context: there is no /hostname there
        assert context.read_text("Dockerfile") is None
        # a source through a link resolves inside the context, not to the host's /etc
        with pytest.raises(errors.InvalidParameter, match="file not found"):
            context.select("hostetc/passwd")
        assert context.path("hostetc") == os.path.join(context.root, "hostetc")  # the link
        with pytest.raises(errors.InvalidParameter, match="Too many levels of symbolic links"):
            context.select("loop/x")
        assert context.select("app/main") == ["app/main"]
    finally:
        context.close()


def test_a_member_written_through_a_link_out_is_refused(tmp_path):
    target = tmp_path / "outside"
    target.mkdir()
    (tmp_path / "tmp").mkdir()
    with pytest.raises(errors.InvalidParameter, match="invalid build context"):
        BuildContext(_tar(("out", "link", str(target)), ("out/planted", "file", "x")),
                     str(tmp_path / "tmp"))
    assert not (target / "planted").exists()
    assert os.listdir(tmp_path / "tmp") == []  # the half-unpacked context is gone


def test_a_link_named_as_a_source_is_followed_inside_the_context(tmp_path):
    context = BuildContext(_tar(("app", "dir", ""), ("app/main", "file", "x"),
                                ("applink", "link", "app"), ("mainlink", "link", "/app/main"),
                                ("hostetc", "link", "/etc")), str(tmp_path))
    try:
        assert context.source("applink") == os.path.join(context.root, "app")
        assert context.source("mainlink") == os.path.join(context.root, "app", "main")
        with pytest.raises(errors.InvalidParameter, match="file not found"):
            context.source("hostetc")  # /etc of the context, which has none
    finally:
        context.close()
