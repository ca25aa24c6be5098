"""``docker load`` / ``docker save``: docker-archive and OCI image-layout tarballs.

The archive is untrusted: it is spooled into a temp dir with the same path checks
as layers, its own symlinks (old ``docker save`` links duplicate layers) are only
followed inside the spool, OCI blobs are verified against their digests, and each
layer's diff ID must match the config before the image is registered. ``save``
rebuilds each layer's original tar from its tar-split skeleton, so a saved image
loads back with the same ID here and in dockerd.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from ..errors import DISK_ERRNOS, EngineError, InvalidParameter, SystemError_, disk_failure
from .compression import DECODE_ERRORS, open_decompressed
from .reference import Reference, is_image_id_prefix, parse
from .tarsplit import write_tar
from .unpack import SafeTarInfo, clean_member_path

if TYPE_CHECKING:
    from .store import ImageStore

MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
MAX_JSON = 16 << 20
MAX_LINK_HOPS = 40
_BAD_ARCHIVE: tuple[type[Exception], ...] = (tarfile.TarError, *DECODE_ERRORS)


@dataclass
class _Entry:
    config: bytes
    layers: list[Path]
    tags: list[Reference] = field(default_factory=list)


class _Spool:
    """The archive's regular files on disk; its links only remembered, never created."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.links: dict[str, str] = {}

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = clean_member_path(member.name)
        if not parts:
            return
        relpath = "/".join(parts)
        target = self.root.joinpath(*parts)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        elif member.isreg():
            target.parent.mkdir(parents=True, exist_ok=True)
            self.links.pop(relpath, None)
            source = tar.extractfile(member)
            assert source is not None
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        elif member.issym():
            self.links[relpath] = member.linkname
        elif member.islnk():
            self.links[relpath] = "/" + "/".join(clean_member_path(member.linkname, "hardlink target"))

    def path(self, name: str) -> Path:
        """The spooled regular file ``name`` refers to, following the archive's links."""
        relpath = "/".join(clean_member_path(name))
        for _ in range(MAX_LINK_HOPS):
            link = self.links.get(relpath)
            if link is None:
                break
            if link.startswith("/"):
                relpath = link[1:]
                continue
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(relpath), link))
            if joined.startswith("/") or joined == ".." or joined.startswith("../"):
                raise InvalidParameter(f"invalid archive: {name!r} links outside the archive")
            relpath = joined
        else:
            raise InvalidParameter(f"invalid archive: too many links resolving {name!r}")
        path = self.root / relpath
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            raise InvalidParameter(f"invalid archive: {name!r} is missing") from None
        if not stat.S_ISREG(mode):
            raise InvalidParameter(f"invalid archive: {name!r} is not a file")
        return path

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file() or name in self.links

    def read_json(self, name: str) -> Any:
        path = self.path(name)
        if path.stat().st_size > MAX_JSON:
            raise InvalidParameter(f"invalid archive: {name} is too large")
        try:
            return json.loads(path.read_bytes())
        except ValueError as exc:
            raise InvalidParameter(f"invalid archive: {name}: {exc}") from exc


def _docker_entries(spool: _Spool) -> list[_Entry]:
    manifest = spool.read_json("manifest.json")
    if not isinstance(manifest, list):
        raise InvalidParameter("invalid archive: manifest.json is not a list")
    entries = []
    for item in manifest:
        tags = []
        for text in item.get("RepoTags") or []:
            ref = parse(text)
            if ref.tag is None:
                raise InvalidParameter(f"invalid tag {text!r}")
            tags.append(ref)
        entries.append(_Entry(spool.path(item["Config"]).read_bytes(),
                              [spool.path(layer) for layer in item.get("Layers") or []], tags))
    return entries


def _blob(spool: _Spool, descriptor: dict[str, Any]) -> Path:
    digest = str(descriptor.get("digest", ""))
    algo, _, value = digest.partition(":")
    if algo != "sha256" or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidParameter(f"invalid archive: unsupported digest {digest!r}")
    path = spool.path(f"blobs/sha256/{value}")
    actual = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            actual.update(chunk)
    if actual.hexdigest() != value:
        raise InvalidParameter(f"invalid archive: blob {digest} does not match its digest")
    if "size" in descriptor and path.stat().st_size != descriptor["size"]:
        raise InvalidParameter(f"invalid archive: blob {digest} has the wrong size")
    return path


def _oci_name(annotations: dict[str, str]) -> Reference | None:
    name = annotations.get(ANNOTATION_CONTAINERD_NAME)
    if not name:
        name = annotations.get(ANNOTATION_REF_NAME, "")
        if "/" not in name and ":" not in name:
            return None  # a bare tag: no repository to put it in
    try:
        return parse(name).with_default_tag()
    except InvalidParameter:
        return None


def _pick_platform(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    for descriptor in manifests:
        platform = descriptor.get("platform") or {}
        if platform.get("os", "linux") == "linux" and platform.get("architecture") == arch:
            return descriptor
    if not manifests:
        raise InvalidParameter("invalid archive: empty image index")
    return manifests[0]


def _oci_entries(spool: _Spool) -> list[_Entry]:
    index = spool.read_json("index.json")
    entries: list[_Entry] = []
    for descriptor in index.get("manifests") or []:
        name = _oci_name(descriptor.get("annotations") or {})
        for _ in range(8):  # nested indexes
            if descriptor.get("mediaType") not in (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST):
                break
            nested = json.loads(_blob(spool, descriptor).read_bytes())
            descriptor = _pick_platform(nested.get("manifests") or [])
        manifest = json.loads(_blob(spool, descriptor).read_bytes())
        if manifest.get("mediaType") in (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST) or "config" not in manifest:
            raise InvalidParameter("invalid archive: unsupported OCI manifest")
        config = _blob(spool, manifest["config"]).read_bytes()
        layers = [_blob(spool, layer) for layer in manifest.get("layers") or []]
        entries.append(_Entry(config, layers, [name] if name else []))
    return entries


def _load_entry(store: ImageStore, entry: _Entry, quiet: bool) -> list[str]:
    try:
        config = json.loads(entry.config)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    except (ValueError, AttributeError) as exc:
        raise InvalidParameter(f"invalid image config: {exc}") from exc
    if len(diff_ids) != len(entry.layers):
        raise InvalidParameter(f"invalid manifest, layers length mismatch: expected "
                               f"{len(diff_ids)}, got {len(entry.layers)}")
    with store._layer_lock:  # noqa: SLF001 - keep the new layers until the image holds them
        parent = None
        for diff_id, path in zip(diff_ids, entry.layers, strict=True):
            with open(path, "rb") as f:
                parent, _ = store.add_layer(f, parent, expected_diff_id=diff_id)
        image_id = store.add_image(entry.config)
    messages = []
    for tag in entry.tags:
        previous = store.set_reference(tag, image_id)
        if previous and not quiet:
            messages.append(f"The image {tag} already exists, renaming the old one with ID "
                            f"{previous} to empty string")
        messages.append(f"Loaded image: {tag}")
    if not entry.tags:
        messages.append(f"Loaded image ID: {image_id}")
    store.emit("load", image_id)
    return messages


def _unreadable_tar_message(exc: Exception) -> str:
    """dockerd's words for a tar it cannot read, cut short or not a tar at all (its untar
    runs in a child process, hence the exit status), so scripts see the same text."""
    text = str(exc)
    if isinstance(exc, EOFError) or text == "unexpected end of data":
        return "Error processing tar file(exit status 1): unexpected EOF"
    if text in ("invalid header", "bad checksum"):
        return "Error processing tar file(exit status 1): archive/tar: invalid tar header"
    return f"invalid archive: {text}"


def load_archive(store: ImageStore, stream: IO[bytes] | BinaryIO, quiet: bool) -> list[str]:
    """Load every image in a docker-archive or OCI-layout tar (maybe compressed)."""
    work = Path(tempfile.mkdtemp(prefix="load-", dir=store.layout.tmp_dir))
    try:
        spool = _Spool(work)
        try:
            with open_decompressed(stream) as plain, tarfile.open(
                    fileobj=plain, mode="r|", tarinfo=SafeTarInfo,
                    errors="surrogateescape") as tar:
                while (member := tar.next()) is not None:
                    spool.add(tar, member)
                    tar.members.clear()  # type: ignore[attr-defined]
        except EngineError:
            raise
        except _BAD_ARCHIVE as exc:
            if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:  # our disk, not the tar
                raise disk_failure(exc, "Error processing tar file") from exc
            raise InvalidParameter(_unreadable_tar_message(exc)) from exc
        if spool.exists("manifest.json"):
            entries = _docker_entries(spool)
        elif spool.exists("index.json"):
            entries = _oci_entries(spool)
        else:
            raise InvalidParameter("invalid archive: no manifest.json or index.json")
        messages: list[str] = []
        for entry in entries:
            messages += _load_entry(store, entry, quiet)
        return messages
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InvalidParameter(f"invalid archive: malformed manifest ({exc!r})") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _selection(store: ImageStore, refs: list[str]) -> dict[str, list[Reference]]:
    """Image ID -> tags to record, in request order (a bare name means all its tags)."""
    chosen: dict[str, list[Reference]] = {}
    for text in refs:
        try:
            named: Reference | None = parse(text)
        except InvalidParameter:
            named = None
        if named is not None and named.tag is None and named.digest is None:
            matches = [(ref, image_id) for image_id in store.image_ids()
                       for ref in store.references(image_id)
                       if ref.name == named.name and ref.tag is not None]
            for ref, image_id in matches:
                chosen.setdefault(image_id, []).append(ref)
            if matches:
                continue
        image_id = store.resolve(text)
        tags = chosen.setdefault(image_id, [])
        if named is not None and not is_image_id_prefix(image_id, text) and named.digest is None:
            tags.append(named.with_default_tag())
    return chosen


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    tar.addfile(info, _BytesReader(data))


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        chunk = self._data[self._pos:end]
        self._pos += len(chunk)
        return chunk


def save_archive(store: ImageStore, refs: list[str], out: IO[bytes] | BinaryIO) -> None:
    """Write a docker-archive (manifest.json, configs, ``<diff>/layer.tar``, repositories)."""
    selection = _selection(store, refs)
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    work = Path(tempfile.mkdtemp(prefix="save-", dir=store.layout.tmp_dir))
    try:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
            for image_id, tags in selection.items():
                layers = []
                for diff_id, chain in zip(store.diff_ids(image_id), store.layer_chain(image_id),
                                          strict=True):
                    name = f"{diff_id[7:]}/layer.tar"
                    layers.append(name)
                    if name not in written:
                        _add_layer(store, tar, work, chain, diff_id, name)
                        written.add(name)
                config_name = f"{image_id[7:]}.json"
                if config_name not in written:
                    _add_bytes(tar, config_name, store.config_bytes(image_id), 0)
                    written.add(config_name)
                unique = list(dict.fromkeys(str(t) for t in tags))
                manifest.append({"Config": config_name, "RepoTags": unique or None,
                                 "Layers": layers})
                for tag in dict.fromkeys(tags):
                    if layers and tag.tag:
                        repositories.setdefault(tag.familiar_name, {})[tag.tag] = \
                            layers[-1].split("/")[0]
            _add_bytes(tar, "manifest.json", json.dumps(manifest).encode(), 0)
            if repositories:
                _add_bytes(tar, "repositories", json.dumps(repositories).encode(), 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for image_id in selection:
        store.emit("save", image_id)


def _add_layer(store: ImageStore, tar: tarfile.TarFile, work: Path, chain: str, diff_id: str,
               name: str) -> None:
    skeleton, diff = store.layer_tar_paths(chain)
    if not skeleton.exists():
        raise SystemError_(f"layer {chain} cannot be exported: its tar-split record is missing")
    spooled = work / "layer.tar"
    with open(spooled, "wb") as f:
        digest, size = write_tar(skeleton, diff, f)
    if digest != diff_id:
        raise SystemError_(f"layer {chain} changed on disk: rebuilt {digest}, want {diff_id}")
    directory = tarfile.TarInfo(name.split("/")[0])
    directory.type, directory.mode = tarfile.DIRTYPE, 0o755
    tar.addfile(directory)
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o644
    with open(spooled, "rb") as f:
        tar.addfile(info, f)
    os.unlink(spooled)
