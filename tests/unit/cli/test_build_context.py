"""``cove build``'s context: .dockerignore as Docker reads it, and what the tar holds."""

from __future__ import annotations

import io
import tarfile

import pytest

from cove.desktop.cli.build import looks_like_archive
from cove.desktop.cli.build_context import write_context_tar, write_single_file_tar


def test_a_lone_exclamation_mark_is_refused(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / ".dockerignore").write_text("!\n")
    with pytest.raises(ValueError, match="illegal exclusion pattern"):
        write_context_tar(str(tmp_path), "Dockerfile", io.BytesIO())


def _names(data: bytes) -> list[str]:
    return tarfile.open(fileobj=io.BytesIO(data)).getnames()


def test_context_tar_leaves_out_ignored_files_but_keeps_the_dockerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / ".dockerignore").write_text("*\n!app\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.sh").write_text("echo hi\n")
    (tmp_path / "secret.key").write_text("no\n")
    out = io.BytesIO()
    write_context_tar(str(tmp_path), "Dockerfile", out)
    assert sorted(_names(out.getvalue())) == [".dockerignore", "Dockerfile", "app", "app/main.sh"]


def test_excluded_directory_is_entered_only_for_an_exception_inside_it(tmp_path):
    for rel in ("Dockerfile", "sub/keep.txt", "sub/drop.txt", "other/x.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    (tmp_path / ".dockerignore").write_text("sub\nother\n!sub/keep.txt\n")
    out = io.BytesIO()
    write_context_tar(str(tmp_path), "Dockerfile", out)
    # docker's order (depth first, lexical) and no entry for the excluded directory itself
    assert _names(out.getvalue()) == [".dockerignore", "Dockerfile", "sub/keep.txt"]


def test_dockerfile_in_an_excluded_directory_is_still_sent(tmp_path):
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / "build" / "other").write_text("x")
    (tmp_path / ".dockerignore").write_text("build\n.dockerignore\n")
    out = io.BytesIO()
    write_context_tar(str(tmp_path), "build/Dockerfile", out)
    assert _names(out.getvalue()) == [".dockerignore", "build/Dockerfile"]


def test_outside_dockerfile_is_added_and_ignored_for_copy(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    out = io.BytesIO()
    write_context_tar(str(tmp_path), ".dockerfile.abc", out,
                      extra_dockerfile=(".dockerfile.abc", b"FROM scratch\n"))
    tar = tarfile.open(fileobj=io.BytesIO(out.getvalue()))
    assert sorted(tar.getnames()) == [".dockerfile.abc", ".dockerignore", "a.txt"]
    assert tar.extractfile(".dockerfile.abc").read() == b"FROM scratch\n"
    assert tar.extractfile(".dockerignore").read() == b".dockerignore\n.dockerfile.abc\n"


def test_tar_is_not_padded_and_owned_by_root(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    out = io.BytesIO()
    write_context_tar(str(tmp_path), "Dockerfile", out)
    assert len(out.getvalue()) == 4 * 512  # header, data, two end blocks: no 10 KiB record
    info = tarfile.open(fileobj=io.BytesIO(out.getvalue())).getmember("Dockerfile")
    assert (info.uid, info.gid, info.mtime == int(info.mtime)) == (0, 0, True)


def test_stdin_dockerfile_and_archive_detection():
    out = io.BytesIO()
    write_single_file_tar("Dockerfile", b"FROM busybox\n", out)
    assert len(out.getvalue()) == 2048  # what docker reports: "2.048kB"
    assert looks_like_archive(out.getvalue()[:512])
    assert looks_like_archive(b"\x1f\x8b\x08rest")
    assert not looks_like_archive(b"FROM busybox\nRUN true\n")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_upload_progress_is_docker_s(terminal):
    from cove.desktop.cli.build import ContextUpload

    out = _Terminal() if terminal else io.StringIO()
    upload = ContextUpload(io.BytesIO(b"x" * 3_000_000), out)
    while upload.read(1 << 20):
        pass
    assert upload.read(1 << 20) == b""
    final = "Sending build context to Docker daemon      3MB\r\r\n"
    if terminal:  # redrawn lines on a terminal, the last one only elsewhere
        assert out.getvalue() == "Sending build context to Docker daemon  1.049MB\r" + final
    else:
        assert out.getvalue() == final
