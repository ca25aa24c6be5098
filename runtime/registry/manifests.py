"""Manifest formats: Docker v2 schema 2 and OCI manifests, manifest lists and indexes.

Fetching asks for every format we understand (the Accept header below) and
refuses bodies over ``MAX_MANIFEST`` (dockerd's 4 MiB), so a hostile registry
cannot make the daemon buffer gigabytes. Platform choice follows containerd's
matcher: os and architecture must match, a requested variant must match, and
without one ``arm64`` prefers ``v8`` and ``arm`` the host's variant.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameter, NotFound

MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MEDIA_DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                 "application/vnd.docker.distribution.manifest.v1+prettyjws")
INDEX_TYPES = (MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX)
MANIFEST_TYPES = (MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST)
ACCEPT = ", ".join((MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_LIST, MEDIA_OCI_MANIFEST,
                    MEDIA_OCI_INDEX))
MAX_MANIFEST = 4 << 20
MAX_CONFIG = 8 << 20


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: Any, what: str) -> Descriptor:
        try:
            digest, size = str(data["digest"]), int(data["size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParameter(f"invalid manifest: {what} descriptor is malformed") from exc
        algo, _, value = digest.partition(":")
        if algo != "sha256" or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise InvalidParameter(f"invalid manifest: unsupported digest {digest!r}")
        if size < 0:
            raise InvalidParameter(f"invalid manifest: negative size for {digest}")
        return cls(str(data.get("mediaType", "")), digest, size, tuple(data.get("urls") or ()))

    def as_dict(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
                 "armel": "arm", "i386": "386", "i686": "386"}


def host_platform() -> Platform:
    machine = os.uname().machine
    arch = _ARCH_ALIASES.get(machine, machine)
    variant = ""
    if machine.startswith("armv"):
        arch, variant = "arm", "v" + machine[4]
    elif arch == "arm64":
        variant = "v8"
    return Platform("linux", arch, variant)


def parse_platform(text: str | None) -> Platform:
    """``os/arch[/variant]`` (or ``arch``) as ``--platform`` takes it; default the host's."""
    if not text:
        return host_platform()
    parts = text.strip().lower().split("/")
    if len(parts) == 1:
        parts = ["linux", *parts]
    if len(parts) > 3 or not all(parts):
        raise InvalidParameter(f'"{text}": invalid platform: expected os/arch[/variant]')
    os_, arch = parts[0], _ARCH_ALIASES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else ""
    if arch == "arm64" and variant == "v8":
        variant = "v8"
    return Platform(os_, arch, variant)


def _normal_variant(arch: str, variant: str) -> str:
    if arch == "arm64" and variant in ("", "8", "v8"):
        return "v8"
    if arch == "arm" and variant == "":
        return "v7"
    return variant


def platform_matches(want: Platform, have: dict[str, Any]) -> bool:
    have_os = str(have.get("os", ""))
    have_arch = _ARCH_ALIASES.get(str(have.get("architecture", "")),
                                  str(have.get("architecture", "")))
    if have_os != want.os or have_arch != want.architecture:
        return False
    if not want.variant:
        return True
    return _normal_variant(have_arch, str(have.get("variant", ""))) == \
        _normal_variant(want.architecture, want.variant)


def select_platform(index: dict[str, Any], want: Platform, explicit: bool) -> Descriptor:
    """The index entry for ``want``; attestation manifests (``unknown/unknown``) never."""
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise InvalidParameter("invalid manifest list: no manifests")
    candidates = []
    for entry in entries:
        platform = (entry or {}).get("platform") or {}
        if platform.get("os") == "unknown":
            continue
        if platform_matches(want, platform):
            candidates.append(entry)
    if not candidates and not explicit and want.variant:
        base = Platform(want.os, want.architecture)
        candidates = [e for e in entries if platform_matches(base, (e or {}).get("platform") or {})]
    if not candidates:
        raise NotFound(f"no matching manifest for {want} in the manifest list entries")
    # exact variant first (containerd's ordering), then the list's order
    candidates.sort(key=lambda e: 0 if (e.get("platform") or {}).get("variant", "") ==
                    want.variant else 1)
    return Descriptor.parse(candidates[0], "manifest list entry")


@dataclass(frozen=True)
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


def load_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise InvalidParameter(f"invalid {what}: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidParameter(f"invalid {what}: not a JSON object")
    return value


def media_type_of(body: dict[str, Any], header: str) -> str:
    """The manifest's own mediaType, else the Content-Type, else guessed from its shape."""
    media = str(body.get("mediaType") or "")
    if not media:
        header = header.split(";")[0].strip()
        if header in (*INDEX_TYPES, *MANIFEST_TYPES):
            media = header
        elif "manifests" in body:
            media = MEDIA_OCI_INDEX
        elif "config" in body:
            media = MEDIA_OCI_MANIFEST
    if body.get("schemaVersion") == 1 or media in MEDIA_SCHEMA1:
        raise InvalidParameter("support for Docker Image Format v1 (schema 1 manifests) has been "
                               "removed; the image must be re-pushed with a newer client")
    return media


def parse_image_manifest(body: dict[str, Any], media: str) -> ImageManifest:
    if media not in MANIFEST_TYPES:
        raise InvalidParameter(f"unsupported manifest media type {media!r}")
    layers = body.get("layers")
    if not isinstance(layers, list):
        raise InvalidParameter("invalid manifest: no layers")
    return ImageManifest(media, Descriptor.parse(body.get("config"), "config"),
                         tuple(Descriptor.parse(layer, "layer") for layer in layers))


def schema2_manifest(config: Descriptor, layers: list[Descriptor]) -> bytes:
    """The manifest dockerd pushes, byte for byte (Go's MarshalIndent with 3 spaces)."""
    body = {
        "schemaVersion": 2,
        "mediaType": MEDIA_DOCKER_MANIFEST,
        "config": config.as_dict(),
        "layers": [layer.as_dict() for layer in layers],
    }
    return json.dumps(body, indent=3).encode()
