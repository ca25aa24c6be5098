"""An interrupted blob download: resumed with Range, restarted when Range is ignored,
and a clear error with nothing left behind when every attempt is cut.

The image lives in the real CNCF registry; a ``CuttingProxy`` in front of it drops
each layer download after ``CUT`` bytes, and its request log shows what the retry
asked for. Every test runs its own coved, so every layer (busybox's included) is
really downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from cove.runtime.images.busybox import busybox_image
from cove.runtime.images.hello.archive import docker_archive
from cove.runtime.registry import pull as pull_module
from tests.support.coved import Coved
from tests.support.cutting_proxy import CuttingProxy
from tests.support.registry import Registry, push_archive_with_skopeo, skopeo_inspect_raw
from tests.support.registry_calls import errors_in, image_ids, pull

CUT = 100_000  # not a multiple of the client's read size: a drop mid-read
BIG = os.urandom(256 << 10)  # incompressible, so its layer stays well above CUT
COVE = shutil.which("cove", path=os.path.dirname(sys.executable)) or "cove"
OwnCoved = Callable[[dict[str, Any]], Coved]


def _publish(registry: Registry, name: str) -> tuple[list[str], dict[str, Any]]:
    """Push busybox + a layer holding /big; returns (diff IDs, the registry's manifest)."""
    image = busybox_image(tag=f"{name}:latest", extra_layers=[{"big": BIG}])
    push_archive_with_skopeo(docker_archive(image), registry, name)
    manifest = json.loads(skopeo_inspect_raw(registry, name))
    return ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in image.layers], manifest


def _assert_pulled_intact(coved: Coved, ref: str, diff_ids: list[str],
                          manifest: dict[str, Any]) -> None:
    status, info = coved.request("GET", f"/images/{ref}/json")
    assert status == 200, info
    assert info["Id"] == manifest["config"]["digest"]
    assert info["RootFS"]["Layers"] == diff_ids  # every layer unpacked to the right content
    run = subprocess.run([COVE, "run", "--rm", ref, "sha256sum", "/big"], env=coved.env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[0] == hashlib.sha256(BIG).hexdigest()


def _range_start(header: str | None) -> int:
    """N of ``Range: bytes=N-`` (the only form a resume sends)."""
    assert header is not None and header.startswith("bytes=") and header.endswith("-"), header
    return int(header[len("bytes="):-1])


def _layer_digests(manifest: dict[str, Any]) -> list[str]:
    digests = [layer["digest"] for layer in manifest["layers"]]
    assert all(layer["size"] > 2 * CUT for layer in manifest["layers"])  # each is really cut
    return digests


def test_dropped_download_resumes_with_range(own_coved: OwnCoved, registry: Registry) -> None:
    diff_ids, manifest = _publish(registry, "resume/ranged")
    coved = own_coved({})
    with CuttingProxy(registry.host, cut_after=CUT, cuts=1) as proxy:
        ref = f"{proxy.host}/resume/ranged:latest"
        status, msgs = pull(coved, ref.rpartition(":")[0], timeout=60)
        assert status == 200 and not errors_in(msgs), msgs
        assert msgs[-1]["status"] == f"Status: Downloaded newer image for {ref}"
        assert "Retrying in 1 second" in {m.get("status") for m in msgs}
        for digest in _layer_digests(manifest):
            first, second = proxy.blob_gets(digest)
            assert (first.range, first.status, first.cut, first.sent) == (None, 200, True, CUT)
            # the retry asks only for what is missing (less the read the drop cut short),
            # and the registry sends only that
            resumed = _range_start(second.range)
            assert CUT - pull_module.CHUNK < resumed <= CUT
            assert second.status == 206 and not second.cut
            assert second.sent == second.length == first.length - resumed
        _assert_pulled_intact(coved, ref, diff_ids, manifest)


def test_registry_ignoring_range_restarts_from_zero(own_coved: OwnCoved,
                                                    registry: Registry) -> None:
    diff_ids, manifest = _publish(registry, "resume/norange")
    coved = own_coved({})
    with CuttingProxy(registry.host, cut_after=CUT, cuts=1, honour_range=False) as proxy:
        ref = f"{proxy.host}/resume/norange:latest"
        status, msgs = pull(coved, ref.rpartition(":")[0], timeout=60)
        assert status == 200 and not errors_in(msgs), msgs
        for digest in _layer_digests(manifest):
            first, second = proxy.blob_gets(digest)
            assert first.cut and first.sent == CUT
            # asked to resume, answered with the whole blob: the client must start over
            assert _range_start(second.range) > 0
            assert second.status == 200 and second.sent == second.length == first.length
        _assert_pulled_intact(coved, ref, diff_ids, manifest)


def test_every_attempt_cut_fails_cleanly(own_coved: OwnCoved, registry: Registry) -> None:
    diff_ids, manifest = _publish(registry, "resume/never")
    coved = own_coved({})
    layers = os.path.join(coved.data_root, "image", "layers")
    layers_before, images_before = sorted(os.listdir(layers)), image_ids(coved)
    with CuttingProxy(registry.host, cut_after=CUT, cuts=1000) as proxy:
        status, msgs = pull(coved, f"{proxy.host}/resume/never", timeout=60)
        assert status == 200  # the error comes in the progress stream, as dockerd's does
        errors = errors_in(msgs)
        assert len(errors) == 1, msgs
        assert errors[0].startswith("failed to download blob sha256:"), errors
        digest = errors[0].split()[4].rstrip(":")
        gets = proxy.blob_gets(digest)
        assert len(gets) == 3 and all(g.cut for g in gets)  # MAX_ATTEMPTS, then give up
        starts = [_range_start(g.range) for g in gets[1:]]
        assert 0 < starts[0] < starts[1], [g.range for g in gets]  # each retry resumed further
    # nothing half-done is left: no partial blob, no work dir, no layer, no image
    data = coved.data_root
    leftovers = [os.path.join(d, f) for d, _, files in os.walk(data) for f in files
                 if f.endswith(".partial")]
    assert leftovers == []
    assert [e for e in os.listdir(os.path.join(data, "tmp")) if e.startswith("pull-")] == []
    assert sorted(os.listdir(layers)) == layers_before
    assert image_ids(coved) == images_before
    assert coved.request("GET", f"/images/{proxy.host}/resume/never:latest/json")[0] == 404
    # and the daemon still serves: the same image pulls straight from the registry
    assert coved.request("GET", "/_ping")[0] == 200
    status, msgs = pull(coved, f"{registry.host}/resume/never", timeout=60)
    assert status == 200 and not errors_in(msgs), msgs
    _assert_pulled_intact(coved, f"{registry.host}/resume/never:latest", diff_ids, manifest)
