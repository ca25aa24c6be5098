"""``cove build``'s context: .dockerignore as Docker reads it, and what the tar holds."""

from __future__ import annotations

import io
import tarfile

import pytest

from cove.desktop.cli.build import _ignore_patterns, context_tar, is_ignored


@pytest.mark.parametrize("patterns, path, ignored", [
    ("*.key", "secret.key", True),
    ("*.key", "dir/secret.key", False),          # * does not cross directories
    ("**/*.key", "dir/deep/secret.key", True),
    ("**/*.key", "secret.key", True),
    ("node_modules", "node_modules/a/b.js", True),  # a parent matching excludes the path
    ("*.key\n!keep.key", "keep.key", False),     # the last matching pattern wins
    ("!keep.key\n*.key", "keep.key", True),
    ("/build/", "build/out", True),
    ("# comment\n\n", "anything", False),
    ("doc?.md", "doc1.md", True),
    ("[a-c].txt", "b.txt", True),
    ("[!a-c].txt", "b.txt", False),
])
def test_dockerignore_patterns(patterns, path, ignored):
    assert is_ignored(path, _ignore_patterns(patterns)) is ignored


def test_context_tar_leaves_out_ignored_files_but_keeps_the_dockerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / ".dockerignore").write_text("*\n!app\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.sh").write_text("echo hi\n")
    (tmp_path / "secret.key").write_text("no\n")
    out = io.BytesIO()
    context_tar(str(tmp_path), "Dockerfile", out, extra=(".dockerfile.x", b"FROM scratch\n"))
    out.seek(0)
    names = set(tarfile.open(fileobj=out).getnames())
    assert names == {"Dockerfile", ".dockerignore", "app", "app/main.sh", ".dockerfile.x"}
