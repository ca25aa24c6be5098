"""Test images built from the host's static busybox (``cove.runtime.images.busybox``), in both
archive formats `docker load` knows, with the extras tests ask for.

Shared by tests and benchmarks: no registry, no network, same bytes every time (as
long as /usr/bin/busybox is the same binary), so image IDs are stable.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping, Sequence
from typing import Any

from cove.runtime.images.busybox import DEFAULT_ENV, busybox_image
from cove.runtime.images.hello.archive import docker_archive, oci_archive


def busybox_archive(
    tag: str = "busybox:latest",
    cmd: Sequence[str] | None = ("sh",),
    env: Sequence[str] = tuple(DEFAULT_ENV),
    extra_layers: Sequence[Mapping[str, bytes]] = (),
    stop_signal: str | None = None,
    extra: dict[str, bytes] | None = None,
    config: Mapping[str, Any] | None = None,
) -> bytes:
    """A `docker save` archive (manifest.json format) of the busybox test image."""
    return docker_archive(busybox_image(tag, cmd, env, extra_layers, stop_signal, extra, config))


def oci_layout_archive(**image: Any) -> bytes:
    """The same image as ``busybox_archive(**image)``, as an OCI image layout tar
    (oci-layout, index.json, blobs/)."""
    return oci_archive(busybox_image(**image))


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    """name -> header of every member of an in-memory tar, for assertions."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def tar_read(data: bytes, name: str) -> bytes:
    """The content of one regular file in an in-memory tar."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(name)
        if member is None:
            raise KeyError(f"{name} is not a regular file")
        return member.read()


def saved_layer_names(archive: bytes, skip: int = 0) -> list[list[str]]:
    """The member names (sorted, no trailing ``/``) of each layer of a `docker save`
    archive's first image, bottom first, after the first ``skip``; empty layers left out."""
    import json

    found = []
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        manifest_file = tar.extractfile("manifest.json")
        assert manifest_file is not None
        for name in json.load(manifest_file)[0]["Layers"][skip:]:
            layer_file = tar.extractfile(name)
            assert layer_file is not None
            with tarfile.open(fileobj=layer_file) as layer:
                members = sorted(m.name.rstrip("/") for m in layer.getmembers())
            if members:
                found.append(members)
    return found
