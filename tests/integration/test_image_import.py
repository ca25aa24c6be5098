"""``docker import`` / ``cove import`` on coved: export | import round trips, URLs, changes."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import json
import subprocess
import tarfile
import threading


def _rootfs_tar(docker, tmp_path):
    cid = docker("create", "busybox", "true").stdout.strip()
    try:
        exported = subprocess.run([docker.argv0[0], "export", cid], env=docker.env,
                                  capture_output=True, timeout=60)
        assert exported.returncode == 0, exported.stderr
    finally:
        docker("rm", cid)
    return exported.stdout


def _with_file(rootfs: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(rootfs)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for member in src:
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        info = tarfile.TarInfo(name)
        info.size = len(data)
        dst.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_import_from_stdin_and_file_with_changes(docker, cove, tmp_path):
    rootfs = _with_file(_rootfs_tar(docker, tmp_path), "imported.txt", b"from the tar\n")
    archive = tmp_path / "rootfs.tar.gz"
    archive.write_bytes(gzip.compress(rootfs))
    ours = cove("import", "-c", 'CMD ["cat", "/imported.txt"]', "-c", "ENV A=b", "-m", "mine",
                str(archive), "imported:cove")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.startswith("sha256:") and len(ours.stdout.strip()) == 71
    assert docker("run", "--rm", "imported:cove").stdout == "from the tar\n"
    config = json.loads(docker("image", "inspect", "imported:cove").stdout)[0]
    assert config["Config"]["Env"] == ["A=b"] and config["Comment"] == "mine"
    theirs = subprocess.run([docker.argv0[0], "import", "-", "imported:docker"], env=docker.env,
                            input=rootfs, capture_output=True, timeout=60)
    assert theirs.returncode == 0, theirs.stderr
    history = docker("history", "--format", "{{.Comment}}", "imported:docker").stdout
    assert history == "Imported from -\n"
    assert docker("run", "--rm", "imported:docker", "cat", "/imported.txt").stdout == \
        "from the tar\n"
    docker("rmi", "imported:cove", "imported:docker")


def test_import_from_a_url_and_bad_input(docker, cove, tmp_path):
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "rootfs.tar").write_bytes(_rootfs_tar(docker, tmp_path))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(tmp_path / "www"))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/rootfs.tar"
        fetched = cove("import", url, "imported:url")
        assert fetched.returncode == 0, fetched.stderr
        assert docker("history", "--format", "{{.Comment}}", "imported:url").stdout == \
            f"Imported from {url}\n"
        missing = cove("import", url + ".nope", "imported:none")
        assert missing.returncode == 1 and "404" in missing.stderr
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    (tmp_path / "junk.tar").write_bytes(b"this is not a tar at all" * 100)
    junk = cove("import", str(tmp_path / "junk.tar"), "imported:junk")
    assert junk.returncode == 1
    bad_change = cove("import", "-c", "RUN true", str(tmp_path / "www" / "rootfs.tar"))
    assert bad_change.returncode == 1 and "run is not a valid change command" in bad_change.stderr
    assert docker("image", "inspect", "imported:junk").returncode == 1
    docker("rmi", "imported:url")
