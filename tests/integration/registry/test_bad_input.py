"""Hostile or broken registries: a clear error, nothing partial left, the store unchanged.
Also the registry-mirrors setting. Each test runs its own coved with a daemon.json."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
from typing import Any

import pytest

from tests.support.images import busybox_archive
from tests.support.registry import Registry, push_archive_with_skopeo
from tests.support.registry_calls import errors_in, image_ids, pull

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def _layer() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        data = b"hello\n" * 1000
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeRegistry(http.server.ThreadingHTTPServer):
    """Serves one image whose blobs can be made to lie (``mode``)."""

    daemon_threads = True

    def __init__(self, mode: str) -> None:
        self.mode = mode
        plain = _layer()
        self.layer = gzip.compress(plain, mtime=0)
        self.config = json.dumps({"architecture": "amd64", "os": "linux",
                                  "rootfs": {"type": "layers", "diff_ids": [_digest(plain)]},
                                  "config": {"Cmd": ["/bin/sh"]}}).encode()
        layer_size = len(self.layer) - (100 if mode == "lying-size" else 0)
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "digest": _digest(self.config), "size": len(self.config)},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "digest": _digest(self.layer), "size": layer_size}]}).encode()
        if mode == "huge-manifest":
            self.manifest = b'{"pad": "' + b"x" * (5 << 20) + b'"}'
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeRegistry

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _send(self, body: bytes, content_type: str = "application/octet-stream",
              length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        mode = self.server.mode
        if self.path == "/v2/":
            return self._send(b"{}", "application/json")
        if mode == "hang":
            self.server.release.wait(30)
            return
        if "/manifests/" in self.path:
            return self._send(self.server.manifest, MANIFEST)
        if self.path.endswith(_digest(self.server.config)):
            return self._send(self.server.config)
        layer = self.server.layer
        if mode == "wrong-digest":
            layer = layer[:20] + bytes(b ^ 0xFF for b in layer[20:40]) + layer[40:]
        if mode == "truncated":
            self._send(layer[: len(layer) // 2], length=len(layer))
            self.close_connection = True
            return
        return self._send(layer)


def _serve(mode: str) -> FakeRegistry:
    server = FakeRegistry(mode)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("mode, expected", [
    ("wrong-digest", "filesystem layer verification failed for digest"),
    ("truncated", "failed to download blob"),
    ("lying-size", "is larger than the"),
    ("huge-manifest", "is too large"),
    ("hang", "Client.Timeout exceeded"),
])
def test_bad_registry_leaves_store_unchanged(own_coved: Any, mode: str, expected: str) -> None:
    coved = own_coved({"registry-timeout": 2})
    server = _serve(mode)
    try:
        before = image_ids(coved)
        status, body = pull(coved, f"{server.host}/bad/img", timeout=60)
        text = body["message"] if status != 200 else " | ".join(errors_in(body))
        assert expected in text, (status, body)
        assert image_ids(coved) == before
        tmp = os.path.join(coved.data_root, "tmp")
        assert [e for e in os.listdir(tmp) if e.startswith(("pull-", "staging-"))] == []
        layers = os.listdir(os.path.join(coved.data_root, "image", "layers"))
        assert all(os.path.exists(os.path.join(coved.data_root, "image", "layers", c,
                                               "meta.json")) for c in layers)
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def test_fake_registry_good_mode_pulls(own_coved: Any) -> None:
    """The fake itself is sound: unbroken, the same image pulls (so the failures above are real)."""
    coved = own_coved({})
    server = _serve("good")
    try:
        status, msgs = pull(coved, f"{server.host}/bad/img")
        assert status == 200 and not errors_in(msgs), msgs
        assert msgs[-1]["status"].startswith("Status: Downloaded newer image")
    finally:
        server.shutdown()
        server.server_close()


def test_registry_mirror_serves_docker_hub_names(own_coved: Any) -> None:
    with Registry() as mirror:
        archive = busybox_archive(tag="mirrored:latest", extra_layers=[{"m": b"mirror\n"}])
        digest = push_archive_with_skopeo(archive, mirror, "library/mirrored")
        coved = own_coved({"registry-mirrors": [mirror.url]})
        status, msgs = pull(coved, "mirrored")
        assert status == 200 and not errors_in(msgs), msgs
        assert msgs[0] == {"status": "Pulling from library/mirrored", "id": "latest"}
        assert msgs[-1]["status"] == "Status: Downloaded newer image for mirrored:latest"
        _, info = coved.request("GET", "/images/mirrored:latest/json")
        assert info["RepoTags"] == ["mirrored:latest"]
        assert info["RepoDigests"] == [f"mirrored@{digest}"]


def test_distribution_inspect_and_info_know_the_mirrors(own_coved: Any) -> None:
    with Registry() as mirror:
        archive = busybox_archive(tag="inspected:latest", extra_layers=[{"i": b"seen\n"}])
        digest = push_archive_with_skopeo(archive, mirror, "library/inspected")
        coved = own_coved({"registry-mirrors": [mirror.url]})
        status, body = coved.request("GET", "/distribution/inspected:latest/json")
        assert status == 200, body  # Docker Hub is out of reach: only the mirror can answer
        assert body["Descriptor"]["digest"] == digest
        assert body["Platforms"] == [{"architecture": "amd64", "os": "linux"}]
        _, info = coved.request("GET", "/info")
        assert info["RegistryConfig"]["Mirrors"] == [mirror.url.rstrip("/") + "/"]
        assert info["RegistryConfig"]["IndexConfigs"]["docker.io"]["Mirrors"] == \
            info["RegistryConfig"]["Mirrors"]


def test_cove_run_of_a_hub_image_comes_through_the_mirror(own_coved: Any) -> None:
    import shutil
    import subprocess
    import sys

    with Registry() as mirror:
        archive = busybox_archive(tag="hubbox:latest", extra_layers=[{"hub": b"via mirror\n"}])
        push_archive_with_skopeo(archive, mirror, "library/hubbox")
        coved = own_coved({"registry-mirrors": [mirror.url]})
        cove = shutil.which("cove", path=os.path.dirname(sys.executable)) or "cove"
        result = subprocess.run([cove, "run", "--rm", "hubbox", "cat", "/hub"], env=coved.env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "via mirror\n"
        assert "Unable to find image 'hubbox:latest' locally" in result.stderr
