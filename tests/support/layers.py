"""Builders for the image tests: layer tars (benign and hostile) and image archives."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import zstandard

MTIME = 1_600_000_000


class LayerTar:
    """A tar built entry by entry, with everything tarfile's ``add`` would normalise away."""

    def __init__(self, fmt: int = tarfile.PAX_FORMAT) -> None:
        self._buffer = io.BytesIO()
        self._tar = tarfile.open(fileobj=self._buffer, mode="w", format=fmt)

    def _info(self, name: str, kind: bytes, mode: int, uid: int, gid: int,
              xattrs: dict[str, str] | None) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, MTIME
        if xattrs:
            info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
        return info

    def file(self, name: str, data: bytes = b"", mode: int = 0o644, uid: int = 0, gid: int = 0,
             xattrs: dict[str, str] | None = None) -> LayerTar:
        info = self._info(name, tarfile.REGTYPE, mode, uid, gid, xattrs)
        info.size = len(data)
        self._tar.addfile(info, io.BytesIO(data))
        return self

    def dir(self, name: str, mode: int = 0o755, uid: int = 0, gid: int = 0,
            xattrs: dict[str, str] | None = None) -> LayerTar:
        self._tar.addfile(self._info(name, tarfile.DIRTYPE, mode, uid, gid, xattrs))
        return self

    def symlink(self, name: str, target: str, uid: int = 0, gid: int = 0) -> LayerTar:
        info = self._info(name, tarfile.SYMTYPE, 0o777, uid, gid, None)
        info.linkname = target
        self._tar.addfile(info)
        return self

    def hardlink(self, name: str, target: str) -> LayerTar:
        info = self._info(name, tarfile.LNKTYPE, 0o644, 0, 0, None)
        info.linkname = target
        self._tar.addfile(info)
        return self

    def device(self, name: str, major: int, minor: int, kind: bytes = tarfile.CHRTYPE) -> LayerTar:
        info = self._info(name, kind, 0o666, 0, 0, None)
        info.devmajor, info.devminor = major, minor
        self._tar.addfile(info)
        return self

    def fifo(self, name: str) -> LayerTar:
        self._tar.addfile(self._info(name, tarfile.FIFOTYPE, 0o644, 0, 0, None))
        return self

    def bytes(self) -> bytes:
        self._tar.close()
        return self._buffer.getvalue()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_config(diff_ids: list[str], created: str = "2024-01-01T00:00:00Z",
                 labels: dict[str, str] | None = None, cmd: list[str] | None = None,
                 empty_history: int = 0) -> bytes:
    history = [{"created": created, "created_by": "/bin/sh -c #(nop) ENV X=1",
                "empty_layer": True} for _ in range(empty_history)]
    history += [{"created": created, "created_by": f"ADD layer{i} /"}
                for i in range(len(diff_ids))]
    config = {
        "architecture": "amd64", "os": "linux", "created": created,
        "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/bin"], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    return json.dumps(config, sort_keys=True).encode()


def docker_archive(images: Iterable[tuple[bytes, list[bytes], list[str]]],
                   compress: bool = False) -> bytes:
    """A ``docker save``-style tar of (config, layer tars, repo tags) triples."""
    out = LayerTar(fmt=tarfile.USTAR_FORMAT)
    manifest: list[dict[str, Any]] = []
    seen: set[str] = set()
    for config, layers, tags in images:
        names = []
        for layer in layers:
            name = f"{hashlib.sha256(layer).hexdigest()}/layer.tar"
            if name not in seen:
                out.file(name, layer)
                seen.add(name)
            names.append(name)
        config_name = f"{hashlib.sha256(config).hexdigest()}.json"
        out.file(config_name, config)
        manifest.append({"Config": config_name, "RepoTags": tags or None, "Layers": names})
    out.file("manifest.json", json.dumps(manifest).encode())
    data = out.bytes()
    return gzip.compress(data) if compress else data


def oci_archive(config: bytes, layers: list[bytes], name: str | None,
                tamper: bool = False) -> bytes:
    """An OCI image-layout tar with gzip layers; ``tamper`` corrupts one layer blob."""
    out = LayerTar(fmt=tarfile.USTAR_FORMAT)
    out.file("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')

    def blob(data: bytes, media: str, stored: bytes | None = None) -> dict[str, Any]:
        digest = sha256(data)
        out.file(f"blobs/sha256/{digest[7:]}", stored if stored is not None else data)
        return {"mediaType": media, "digest": digest, "size": len(data)}

    layer_descs = []
    for index, layer in enumerate(layers):
        packed = gzip.compress(layer, mtime=0)
        stored = packed[:-8] + b"\x00" * 8 if tamper and index == 0 else None
        layer_descs.append(blob(packed, "application/vnd.oci.image.layer.v1.tar+gzip", stored))
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(config, "application/vnd.oci.image.config.v1+json"),
        "layers": layer_descs}).encode()
    descriptor = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
    if name:
        descriptor["annotations"] = {"io.containerd.image.name": name,
                                     "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}
    out.file("index.json", json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode())
    return out.bytes()


def busybox_rootfs_layer() -> bytes:
    """A one-layer busybox rootfs: /bin/busybox, applet links, passwd and group."""
    busybox = Path("/bin/busybox").read_bytes()
    layer = LayerTar().dir("bin").dir("etc").dir("tmp", mode=0o1777)
    layer.file("bin/busybox", busybox, mode=0o755)
    for applet in ("sh", "ls", "cat", "echo", "id", "wc"):
        layer.symlink(f"bin/{applet}", "busybox")
    layer.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                             b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    layer.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return layer.bytes()


def zstd_compress(data: bytes) -> bytes:
    """One zstd frame without a content size, as a streaming compressor writes it."""
    out = io.BytesIO()
    with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as writer:
        writer.write(data)
    return out.getvalue()


def tree(root: Path) -> list[str]:
    """Every path under ``root``, relative, sorted (for "nothing left behind" checks)."""
    return sorted(os.path.relpath(os.path.join(d, n), root)
                  for d, dirs, files in os.walk(root) for n in dirs + files)
