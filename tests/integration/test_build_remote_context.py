"""``cove build`` from a git repository and from a URL, served on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import io
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as git's curl expects of a web server, and no log lines."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over plain HTTP (git's "dumb" protocol works over it)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


def _repo(root: Path) -> None:
    """repo.git with a Dockerfile at the top on master and one in app/ on branch v2."""
    work = root.parent / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "master")
    (work / "Dockerfile").write_text("FROM busybox\nCOPY hello.txt /\n")
    (work / "hello.txt").write_text("from master\n")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "one")
    _git(work, "checkout", "-q", "-b", "v2")
    (work / "app").mkdir()
    (work / "app" / "Dockerfile").write_text("FROM busybox\nCOPY hello.txt /\n")
    (work / "app" / "hello.txt").write_text("from v2 app\n")
    (work / "app" / "escape").symlink_to("../../../../..")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "two")
    _git(root, "clone", "-q", "--bare", str(work), "repo.git")
    _git(root / "repo.git", "update-server-info")


def test_build_from_git_branch_and_subdirectory(cove, docker, web):
    root, base = web
    _repo(root)
    built = cove("build", "-t", "fromgit:1", f"{base}/repo.git")
    assert built.returncode == 0, built.stdout + built.stderr
    assert docker("run", "--rm", "fromgit:1", "cat", "/hello.txt").stdout == "from master\n"
    built = cove("build", "-t", "fromgit:2", f"{base}/repo.git#v2:app")
    assert built.returncode == 0, built.stdout + built.stderr
    assert docker("run", "--rm", "fromgit:2", "cat", "/hello.txt").stdout == "from v2 app\n"
    # a subdirectory that is a link out of the repository resolves inside the clone
    escaping = cove("build", "-t", "fromgit:3", f"{base}/repo.git#v2:app/escape")
    assert escaping.returncode == 0, escaping.stderr
    assert docker("run", "--rm", "fromgit:3", "cat", "/hello.txt").stdout == "from master\n"
    not_dir = cove("build", f"{base}/repo.git#v2:app/hello.txt")
    assert not_dir.returncode == 1
    assert "error setting git context, not a directory" in not_dir.stderr
    missing = cove("build", f"{base}/repo.git#nosuchbranch")
    assert missing.returncode == 1
    assert missing.stderr.startswith("unable to prepare context: unable to 'git clone' to "
                                     "temporary context directory: error fetching: ")
    docker("rmi", "fromgit:1", "fromgit:2", "fromgit:3")


def test_build_from_a_url_tarball_or_dockerfile(cove, docker, web):
    root, base = web
    (root / "Dockerfile.txt").write_text('FROM busybox\nCMD ["echo", "remote dockerfile"]\n')
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w:gz") as tar:
        for name, data in (("Dockerfile", b"FROM busybox\nCOPY f /f\n"), ("f", b"in tar\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (root / "context.tar.gz").write_bytes(context.getvalue())
    built = cove("build", "-t", "fromurl:1", f"{base}/Dockerfile.txt")
    assert built.returncode == 0, built.stdout + built.stderr
    assert built.stdout.startswith(
        f"Downloading build context from remote url: {base}/Dockerfile.txt ")
    assert docker("run", "--rm", "fromurl:1").stdout == "remote dockerfile\n"
    built = cove("build", "-t", "fromurl:2", f"{base}/context.tar.gz")
    assert built.returncode == 0, built.stdout + built.stderr
    assert docker("run", "--rm", "fromurl:2", "cat", "/f").stdout == "in tar\n"
    missing = cove("build", f"{base}/nothing-here")
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"unable to prepare context: unable to download remote "
                                     f"context {base}/nothing-here: failed to GET "
                                     f"{base}/nothing-here with status 404 File not found")
    docker("rmi", "fromurl:1", "fromurl:2")


def test_docker_py_builds_from_a_remote_the_daemon_fetches(coved, docker, web):
    import docker as docker_py

    root, base = web
    _repo(root)
    (root / "Dockerfile.txt").write_text('FROM busybox\nCMD ["echo", "daemon fetched"]\n')
    client = docker_py.DockerClient(base_url=coved.host, version="1.41", timeout=60)
    try:
        image, _logs = client.images.build(path=f"{base}/repo.git#v2:app", tag="remote:1")
        assert client.containers.run("remote:1", ["cat", "/hello.txt"], remove=True) == \
            b"from v2 app\n"
        image, _logs = client.images.build(path=f"{base}/Dockerfile.txt", tag="remote:2")
        assert client.containers.run("remote:2", remove=True) == b"daemon fetched\n"
        # a context that cannot be fetched fails before any output: an HTTP error, as
        # dockerd's (not a BuildError in a 200 stream)
        with pytest.raises(docker_py.errors.APIError, match="error fetching") as raised:
            client.images.build(path=f"{base}/repo.git#missing", tag="remote:3")
        assert not isinstance(raised.value, docker_py.errors.BuildError)
    finally:
        client.close()
    docker("rmi", "remote:1", "remote:2")
