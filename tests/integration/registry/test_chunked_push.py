"""Chunked blob upload (PATCH with Content-Range, then PUT ?digest=) against the real
CNCF registry, read back by skopeo.

Chunking starts above ``CHUNKED_ABOVE`` (64 MiB), far too big for a fast test, so the
pusher runs in-process on a store of its own with both limits made small. A recording
wrapper around ``Registry.request`` shows which requests really went out; the
registry's answers (its ``Range`` header, the 201 of the PUT) and skopeo's copy
(which verifies every blob digest) show they were accepted and stored byte for byte.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cove.runtime.images.hello.archive import Entry, Image, docker_archive, layer_tar
from cove.runtime.images.store import ImageStore
from cove.runtime.registry import client, push
from cove.runtime.registry.auth import AuthConfig
from cove.runtime.registry.config import RegistryConfig
from cove.runtime.store.layout import Layout
from tests.support.registry import Registry, skopeo, skopeo_inspect_raw
from tests.support.registry_calls import errors_in

SMALL_LIMIT = 64 << 10
SMALL_CHUNK = 20 << 10


@dataclass
class Sent:
    method: str
    url: str
    content_range: str | None
    length: int | None  # request body bytes
    status: int
    range: str | None  # the registry's Range answer: bytes it holds of the upload


def _upload_id(url: str) -> str:
    return urlsplit(url).path.rpartition("/uploads/")[2]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every request the pusher makes, with the registry's status and Range answer."""
    sent: list[Sent] = []
    real = client.Registry.request

    def request(self: client.Registry, method: str, path: str, *args: Any,
                **kwargs: Any) -> Any:
        body = kwargs.get("data")
        resp = real(self, method, path, *args, **kwargs)
        sent.append(Sent(method, resp.url, (kwargs.get("headers") or {}).get("Content-Range"),
                         len(body) if body is not None else None, resp.status_code,
                         resp.headers.get("Range")))
        return resp

    monkeypatch.setattr(client.Registry, "request", request)
    monkeypatch.setattr(push, "CHUNKED_ABOVE", SMALL_LIMIT)
    monkeypatch.setattr(push, "CHUNK", SMALL_CHUNK)
    return sent


def test_chunked_upload_accepted_and_read_back(registry: Registry, recorded: list[Sent],
                                               tmp_path: Path) -> None:
    big = os.urandom(200_000)  # incompressible: its gzip blob is ~10 chunks, the last short
    layers = [layer_tar([Entry("small.txt", data=b"monolithic\n")]),
              layer_tar([Entry("big.bin", data=big)])]
    name = f"{registry.host}/chunked/img"
    store = ImageStore(Layout(tmp_path / "data", tmp_path / "exec"))
    store.load(io.BytesIO(docker_archive(Image(layers=layers, config={"Cmd": ["/big.bin"]},
                                               repo_tags=[f"{name}:v1"]))), quiet=True)

    msgs = list(push.Pusher(store, RegistryConfig(), lambda _a, _r: None)
                .push(name, "v1", AuthConfig()))
    assert not errors_in(msgs), msgs
    digest = msgs[-1]["aux"]["Digest"]

    # the registry serves the manifest we pushed, and skopeo copies every blob out
    # (it verifies each blob against its digest as it goes)
    assert "sha256:" + hashlib.sha256(skopeo_inspect_raw(registry, "chunked/img:v1")).hexdigest() \
        == digest
    manifest = json.loads(skopeo_inspect_raw(registry, "chunked/img:v1"))
    with tempfile.TemporaryDirectory(prefix="cove-skopeo-") as out:
        copy = skopeo("copy", f"docker://{registry.host}/chunked/img:v1", f"dir:{out}")
        assert copy.returncode == 0, copy.stderr.decode()
        blobs = [Path(out, layer["digest"].partition(":")[2]).read_bytes()
                 for layer in manifest["layers"]]
    for blob, layer, tar in zip(blobs, manifest["layers"], layers, strict=True):
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
        assert gzip.decompress(blob) == tar  # the original layer tar, byte for byte

    # how each blob went up: its upload id, from the PUT ?digest= that finished it
    puts = {_upload_id(s.url): parse_qs(urlsplit(s.url).query)["digest"][0]
            for s in recorded if s.method == "PUT" and "/blobs/uploads/" in s.url}
    by_digest = {d: [s for s in recorded if "/blobs/uploads/" in s.url and _upload_id(s.url) == u]
                 for u, d in puts.items()}
    small, large = manifest["layers"]
    assert small["size"] < SMALL_LIMIT < large["size"]
    for monolithic in (small["digest"], manifest["config"]["digest"]):
        assert [s.method for s in by_digest[monolithic]] == ["PUT"]  # the body in the PUT

    chunked = by_digest[large["digest"]]
    patches = [s for s in chunked if s.method == "PATCH"]
    assert [s.method for s in chunked] == ["PATCH"] * len(patches) + ["PUT"]
    assert len(patches) == -(-large["size"] // SMALL_CHUNK) >= 3
    offset = 0
    for patch in patches:
        assert patch.status == 202
        assert patch.content_range == f"{offset}-{offset + patch.length - 1}"
        offset += patch.length
        assert patch.range == f"0-{offset - 1}"  # the registry holds every byte so far
    assert offset == large["size"]
    assert {p.length for p in patches[:-1]} == {SMALL_CHUNK}
    assert 0 < patches[-1].length < SMALL_CHUNK  # the remainder
    assert chunked[-1].status == 201 and chunked[-1].length == 0  # PUT closes the upload

    # pushing again finds every blob already there: no upload at all
    again = list(push.Pusher(store, RegistryConfig(), lambda _a, _r: None)
                 .push(name, "v1", AuthConfig()))
    assert {m["status"] for m in again if m.get("id") and m["status"] != "Preparing"} == \
        {"Layer already exists"}
    assert again[-1]["aux"]["Digest"] == digest

