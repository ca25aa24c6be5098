"""ADD from a URL, served on 127.0.0.1, built by coved and (as the oracle) by dockerd."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import os
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dockerd import docker as reference_docker


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A directory of files over HTTP; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "note.txt").write_text("fetched over http\n")
    os.utime(root / "note.txt", (1_600_000_000, 1_600_000_000))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("inside.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"in\n"))
    (root / "data.tar.gz").write_bytes(gzip.compress(archive.getvalue()))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _dockerfile(base: str) -> str:
    return (f"FROM busybox\n"
            f"ADD {base}/data.tar.gz /dl/\n"
            f"ADD {base}/note.txt?version=2 /named.txt\n"
            "RUN stat -c '%n %a %s %Y' /dl/data.tar.gz /named.txt > /stat\n")


def _build(argv0: str, env: dict[str, str], context: Path, tag: str):
    return subprocess.run([argv0, "build", "-t", tag, str(context)],
                          env={**env, "DOCKER_BUILDKIT": "0"}, capture_output=True, text=True,
                          timeout=120)


def test_add_url_fetches_names_and_keeps_archives_packed(docker, tmp_path, served):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(_dockerfile(served))
    built = _build(docker.argv0[0], docker.env, context, "addurl:1")
    assert built.returncode == 0, built.stdout + built.stderr
    stat = docker("run", "--rm", "addurl:1", "cat", "/stat").stdout
    size = (tmp_path / "www" / "data.tar.gz").stat().st_size
    assert stat.splitlines() == [f"/dl/data.tar.gz 600 {size} "
                                 f"{int((tmp_path / 'www' / 'data.tar.gz').stat().st_mtime)}",
                                 "/named.txt 600 18 1600000000"]
    again = _build(docker.argv0[0], docker.env, context, "addurl:1")
    assert again.stdout.count("Using cache") == 3  # same content: the cache holds
    (tmp_path / "www" / "note.txt").write_text("changed on the server\n")
    changed = _build(docker.argv0[0], docker.env, context, "addurl:2")
    assert changed.stdout.count("Using cache") == 1  # from the changed download on
    docker("rmi", "addurl:1", "addurl:2")


def test_add_url_matches_dockerd(docker, tmp_path, served, reference_dockerd):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(_dockerfile(served))
    ours = _build(docker.argv0[0], docker.env, context, "addurl:cmp")
    theirs = _build(docker.argv0[0], reference_dockerd, context, "addurl:cmp")
    assert ours.returncode == theirs.returncode == 0, ours.stderr + theirs.stderr
    assert docker("run", "--rm", "addurl:cmp", "cat", "/stat").stdout == \
        reference_docker("run", "--rm", "addurl:cmp", "cat", "/stat").stdout.decode()
    docker("rmi", "addurl:cmp")
    reference_docker("rmi", "addurl:cmp")


def test_add_url_errors(docker, tmp_path, served):
    context = tmp_path / "ctx"
    context.mkdir()
    for line, message in ((f"ADD {served}/missing.txt /m", f"failed to GET {served}/missing.txt "
                           "with status 404 File not found"),
                          (f"ADD {served}/ /m", f"cannot determine filename from url: {served}/")):
        (context / "Dockerfile").write_text(f"FROM busybox\n{line}\n")
        result = _build(docker.argv0[0], docker.env, context, "addurl:bad")
        assert result.returncode == 1
        assert message in result.stderr, result.stderr
