"""Deterministic image archives: layer tars, `docker save` archives and OCI layouts.

Same inputs give the same bytes, so an image built at first run has the same ID on
every machine. Every tar entry gets a fixed mtime, root ownership (unless told
otherwise) and sorted order; nothing is compressed.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EPOCH = 0
"""mtime of every entry; also the "created" time of built images (1970-01-01T00:00:00Z)."""
CREATED = "1970-01-01T00:00:00Z"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


@dataclass(frozen=True)
class Entry:
    """One member of a layer tar. ``kind`` is "file", "dir" or "symlink"."""

    path: str
    kind: str = "file"
    data: bytes = b""
    mode: int = 0o644
    target: str = ""
    uid: int = 0
    gid: int = 0


@dataclass
class Image:
    """What an archive needs: layer tars, the container config, tags and history lines."""

    layers: list[bytes]
    config: dict[str, Any]
    repo_tags: list[str]
    architecture: str = "amd64"
    history: list[str] = field(default_factory=list)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def layer_tar(entries: Iterable[Entry]) -> bytes:
    """An uncompressed layer tar of ``entries``, sorted by path, byte-for-byte reproducible."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in sorted(entries, key=lambda e: e.path):
            info = tarfile.TarInfo(entry.path.strip("/"))
            info.mtime = EPOCH
            info.mode = entry.mode
            info.uid, info.gid = entry.uid, entry.gid
            info.uname = info.gname = ""
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif entry.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = entry.target
                tar.addfile(info)
            else:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
    return buf.getvalue()


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def image_config(image: Image) -> bytes:
    """The image config blob; its sha256 is the image ID."""
    history = image.history or ["cove: layer"] * len(image.layers)
    return _json({
        "architecture": image.architecture,
        "os": "linux",
        "created": CREATED,
        "config": image.config,
        "rootfs": {"type": "layers",
                   "diff_ids": [f"sha256:{sha256_hex(layer)}" for layer in image.layers]},
        "history": [{"created": CREATED, "created_by": line} for line in history],
    })


def image_id(image: Image) -> str:
    return f"sha256:{sha256_hex(image_config(image))}"


def _archive(files: Mapping[str, bytes]) -> bytes:
    """The outer tar: regular files (and their parent dirs) in sorted order."""
    entries: dict[str, Entry] = {}
    for path, data in files.items():
        parts = path.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            entries.setdefault(directory, Entry(directory, "dir", mode=0o755))
        entries[path] = Entry(path, data=data)
    return layer_tar(entries.values())


def docker_archive(image: Image) -> bytes:
    """A `docker save` archive (manifest.json + config + <diff-id>/layer.tar) for `docker load`."""
    config = image_config(image)
    config_name = f"{sha256_hex(config)}.json"
    files: dict[str, bytes] = {config_name: config}
    layer_paths = []
    for layer in image.layers:
        path = f"{sha256_hex(layer)}/layer.tar"
        files[path] = layer
        layer_paths.append(path)
    files["manifest.json"] = _json([{
        "Config": config_name,
        "RepoTags": image.repo_tags,
        "Layers": layer_paths,
    }])
    repositories: dict[str, dict[str, str]] = {}
    for tag in image.repo_tags if image.layers else []:
        name, _, version = tag.rpartition(":")
        repositories.setdefault(name, {})[version] = sha256_hex(image.layers[-1])
    files["repositories"] = _json(repositories)
    return _archive(files)


def oci_archive(image: Image) -> bytes:
    """An OCI image layout tar (oci-layout, index.json, blobs/sha256/...) of the same image."""
    config = image_config(image)
    blobs: dict[str, bytes] = {sha256_hex(config): config}
    layer_descriptors = []
    for layer in image.layers:
        digest = sha256_hex(layer)
        blobs[digest] = layer
        layer_descriptors.append(
            {"mediaType": OCI_LAYER, "digest": f"sha256:{digest}", "size": len(layer)})
    manifest = _json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": f"sha256:{sha256_hex(config)}",
                   "size": len(config)},
        "layers": layer_descriptors,
    })
    blobs[sha256_hex(manifest)] = manifest
    manifests = []
    for tag in image.repo_tags or [""]:
        descriptor: dict[str, Any] = {
            "mediaType": OCI_MANIFEST,
            "digest": f"sha256:{sha256_hex(manifest)}",
            "size": len(manifest),
            "platform": {"architecture": image.architecture, "os": "linux"},
        }
        if tag:
            name, _, version = tag.rpartition(":")
            descriptor["annotations"] = {
                "io.containerd.image.name": _qualified(name) + ":" + version,
                "org.opencontainers.image.ref.name": version,
            }
        manifests.append(descriptor)
    files = {f"blobs/sha256/{digest}": data for digest, data in blobs.items()}
    files["oci-layout"] = _json({"imageLayoutVersion": "1.0.0"})
    files["index.json"] = _json({"schemaVersion": 2,
                                 "mediaType": "application/vnd.oci.image.index.v1+json",
                                 "manifests": manifests})
    return _archive(files)


def _qualified(name: str) -> str:
    """docker.io/library/busybox for busybox, as containerd names images."""
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    if "/" not in name:
        return f"docker.io/library/{name}"
    return f"docker.io/{name}"
