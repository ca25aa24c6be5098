"""The local image store: content-addressed configs, shared layers, and tags.

An image ID is the digest of its config; a layer is stored once under its chain
ID (``chain_0 = diff_0``, ``chain_n = sha256(chain_{n-1} + " " + diff_n)``), so
images that share a base share its directories. Tags live in
``repositories.json`` keyed by familiar names, as dockerd keeps them. All metadata
writes are atomic. ``_lock`` guards the in-memory maps; ``_layer_lock`` (always
taken first) serialises layer creation and removal, so a slow unpack never blocks
``list``/``inspect`` yet a delete cannot remove a layer a load is about to use.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, BinaryIO

from cove.common.reference import ID_RE

from ..errors import EngineError, InvalidParameter, disk_failure, no_such_image
from ..store.layout import Layout, atomic_write, atomic_write_json, read_json
from . import deletion, views
from .reference import Reference, parse
from .unpack import LayerResult, unpack_layer_atomic

EventSink = Callable[[str, str, dict[str, str]], None]
ContainerLookup = Callable[[str], "str | bool | None"]

ZERO_TIME = "0001-01-01T00:00:00Z"
TMP_PREFIXES = ("layer-", "load-", "save-", "staging-")  # our work dirs under tmp/


def chain_ids(diff_ids: Iterable[str]) -> list[str]:
    chains: list[str] = []
    for diff in diff_ids:
        if not chains:
            chains.append(diff)
        else:
            joined = f"{chains[-1]} {diff}".encode()
            chains.append("sha256:" + hashlib.sha256(joined).hexdigest())
    return chains


def _hex(digest: str) -> str:
    algo, _, value = digest.partition(":")
    if algo != "sha256" or not ID_RE.match(value):
        raise InvalidParameter(f"invalid digest {digest!r}")
    return value


class ImageStore:
    def __init__(self, layout: Layout, on_event: EventSink | None = None) -> None:
        self.layout = layout
        self.on_event = on_event
        self._lock = threading.RLock()
        self._layer_lock = threading.RLock()
        self._pinned: dict[str, int] = {}  # chain -> holders: kept though no image uses it yet
        layout.ensure()
        self._remove_leftovers()
        self._configs: dict[str, dict[str, Any]] = {}
        for entry in layout.configs_dir.iterdir():
            if ID_RE.match(entry.name):
                self._configs["sha256:" + entry.name] = json.loads(entry.read_bytes())
        self._refs: dict[Reference, str] = {}
        if layout.repositories_path.exists():
            for repo in read_json(layout.repositories_path).get("Repositories", {}).values():
                for text, image_id in repo.items():
                    if image_id in self._configs:
                        self._refs[parse(text)] = image_id
        self._metadata_path = layout.image_metadata
        self._metadata: dict[str, dict[str, str]] = (
            read_json(self._metadata_path) if self._metadata_path.exists() else {})

    def _remove_leftovers(self) -> None:
        """Work a crash interrupted: our temp dirs, and layers never given a meta.json."""
        for entry in self.layout.tmp_dir.iterdir():
            if entry.name.startswith(TMP_PREFIXES) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
        for entry in self.layout.layers_dir.iterdir():
            if not self.layout.layer_meta(entry.name).exists():
                shutil.rmtree(entry, ignore_errors=True)

    # events and persistence ----------------------------------------------
    def emit(self, action: str, image_id: str, name: str | None = None) -> None:
        if self.on_event is None:
            return
        labels = ((self._configs.get(image_id) or {}).get("config") or {}).get("Labels") or {}
        self.on_event(action, image_id, {**labels, "name": name or image_id})

    # Each change is written first and made in memory only once the write succeeded, so a
    # full disk leaves the tags and metadata as they were, on disk and in memory.
    def _change_refs(self, ref: Reference, image_id: str | None) -> None:
        refs = dict(self._refs)
        if image_id is None:
            refs.pop(ref, None)
        else:
            refs[ref] = image_id
        repos: dict[str, dict[str, str]] = {}
        for name, target in sorted(refs.items(), key=lambda kv: str(kv[0])):
            repos.setdefault(name.familiar_name, {})[str(name)] = target
        try:
            atomic_write_json(self.layout.repositories_path, {"Repositories": repos})
        except OSError as exc:
            raise disk_failure(exc, "Error saving image references") from exc
        if image_id is None:
            self._refs.pop(ref, None)
        else:
            self._refs[ref] = image_id

    def _change_metadata(self, image_id: str, values: dict[str, str] | None,
                         replace: bool = False) -> None:
        """Merge ``values`` into the image's metadata (``replace``: set it to them; None:
        drop the image's entry)."""
        metadata = {key: dict(value) for key, value in self._metadata.items()}
        if values is None:
            metadata.pop(image_id, None)
        elif replace:
            metadata[image_id] = dict(values)
        else:
            metadata.setdefault(image_id, {}).update(values)
        try:
            atomic_write_json(self._metadata_path, metadata)
        except OSError as exc:
            raise disk_failure(exc, "Error saving image metadata") from exc
        self._metadata = metadata

    # lookups -------------------------------------------------------------
    def image_ids(self) -> list[str]:
        with self._lock:
            return list(self._configs)

    def resolve(self, ref: str) -> str:
        """dockerd's ``GetImage``: full ID, tag or digest reference, then ID prefix."""
        with self._lock:
            if ref.startswith("sha256:") and len(ref) == 71 and ref in self._configs:
                return ref
            if ID_RE.match(ref):
                if "sha256:" + ref in self._configs:
                    return "sha256:" + ref
                raise no_such_image(ref)
            named = parse(ref).with_default_tag()
            if named in self._refs:
                return self._refs[named]
            if ref.startswith("sha256:") and ID_RE.match(ref[7:]):
                raise no_such_image(ref)
            prefix = ref[7:] if ref.startswith("sha256:") else ref
            if prefix and all(c in "0123456789abcdef" for c in prefix):
                found = [i for i in self._configs if i[7:].startswith(prefix)]
                if len(found) == 1:
                    return found[0]
            raise no_such_image(str(named))

    def references(self, image_id: str) -> list[Reference]:
        with self._lock:
            return sorted((r for r, i in self._refs.items() if i == image_id), key=str)

    def repo_tags(self, image_id: str) -> list[str]:
        return [str(r) for r in self.references(image_id) if r.tag is not None]

    def repo_digests(self, image_id: str) -> list[str]:
        return [str(r) for r in self.references(image_id) if r.digest is not None]

    def config(self, image_id: str) -> dict[str, Any]:
        with self._lock:
            try:
                return self._configs[image_id]
            except KeyError:
                raise no_such_image(image_id) from None

    def config_bytes(self, image_id: str) -> bytes:
        self.config(image_id)
        return self.layout.config_path(_hex(image_id)).read_bytes()

    def diff_ids(self, image_id: str) -> list[str]:
        return list((self.config(image_id).get("rootfs") or {}).get("diff_ids") or [])

    def layer_chain(self, image_id: str) -> list[str]:
        return chain_ids(self.diff_ids(image_id))

    def layer_size(self, chain_id: str) -> int:
        try:
            return int(read_json(self.layout.layer_meta(_hex(chain_id)))["size"])
        except FileNotFoundError:
            return 0

    def image_size(self, image_id: str) -> int:
        return sum(self.layer_size(c) for c in self.layer_chain(image_id))

    def lower_dirs(self, image_id: str) -> list[str]:
        """The image's layer diff dirs, top layer first (overlayfs ``lowerdir`` order)."""
        return [str(self.layout.layer_diff(_hex(c))) for c in reversed(self.layer_chain(image_id))]

    def last_tag_time(self, image_id: str) -> str:
        with self._lock:
            return self._metadata.get(image_id, {}).get("LastTagTime", ZERO_TIME)

    def parent(self, image_id: str) -> str:
        """The image a build step made this one from ("" for pulled or loaded images)."""
        with self._lock:
            return self._metadata.get(image_id, {}).get("Parent", "")

    def set_parent(self, image_id: str, parent_id: str) -> None:
        with self._lock:
            self._change_metadata(image_id, {"Parent": parent_id})

    def children(self, image_id: str) -> list[str]:
        with self._lock:
            return [i for i, meta in self._metadata.items()
                    if meta.get("Parent") == image_id and i in self._configs]

    # layers --------------------------------------------------------------
    def has_layer(self, chain_id: str) -> bool:
        return self.layout.layer_meta(_hex(chain_id)).exists()

    def add_layer(self, stream: IO[bytes] | BinaryIO, parent_chain: str | None,
                  expected_diff_id: str | None = None) -> tuple[str, LayerResult]:
        """Unpack a layer on top of ``parent_chain``; return its chain ID. A layer whose
        chain is already stored is not unpacked again (needs ``expected_diff_id``)."""
        if expected_diff_id is not None:
            chain = chain_ids([parent_chain, expected_diff_id])[-1] if parent_chain \
                else expected_diff_id
            with self._layer_lock:
                if self.has_layer(chain):
                    meta = read_json(self.layout.layer_meta(_hex(chain)))
                    return chain, LayerResult(expected_diff_id, int(meta["size"]))
        # unpacking needs no lock (its staging dir is this thread's): layers of one
        # pull unpack in parallel; only the rename into place is serialised
        tmp = self.layout.tmp_dir
        staging = Path(tmp) / f"staging-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            result = unpack_layer_atomic(stream, staging / "diff", tmp,
                                         expected_diff_id=expected_diff_id,
                                         skeleton_path=staging / Layout.TAR_SPLIT)
            chain = chain_ids([parent_chain, result.diff_id])[-1] if parent_chain \
                else result.diff_id
            layer_dir = self.layout.layer_dir(_hex(chain))
            with self._layer_lock:
                if self.has_layer(chain):
                    return chain, result
                shutil.rmtree(layer_dir, ignore_errors=True)  # an interrupted earlier try
                os.rename(staging, layer_dir)
                atomic_write_json(self.layout.layer_meta(_hex(chain)), {
                    "chain_id": chain, "diff_id": result.diff_id,
                    "parent": parent_chain or "", "size": result.size})
            return chain, result
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def layer_tar_paths(self, chain_id: str) -> tuple[Path, Path]:
        """(tar-split skeleton, diff dir) of a stored layer, for ``save``."""
        layer_dir = self.layout.layer_dir(_hex(chain_id))
        return layer_dir / Layout.TAR_SPLIT, layer_dir / "diff"

    def pin(self, chains: Iterable[str]) -> None:
        """Keep these layers while an image that will use them is being made (a pull)."""
        with self._layer_lock:
            for chain in chains:
                self._pinned[chain] = self._pinned.get(chain, 0) + 1

    def unpin(self, chains: Iterable[str]) -> None:
        with self._layer_lock:
            for chain in chains:
                left = self._pinned.get(chain, 0) - 1
                if left > 0:
                    self._pinned[chain] = left
                else:
                    self._pinned.pop(chain, None)

    def _remove_unused_layers(self, chains: Iterable[str]) -> list[str]:
        used = {c for i in self._configs for c in self.layer_chain(i)} | set(self._pinned)
        removed = []
        for chain in reversed(list(chains)):
            if chain not in used and self.layout.layer_dir(_hex(chain)).exists():
                os.unlink(self.layout.layer_meta(_hex(chain)))  # incomplete from here on
                shutil.rmtree(self.layout.layer_dir(_hex(chain)))
                removed.append(chain)
        return removed

    # images and tags -----------------------------------------------------
    def add_image(self, config_bytes: bytes) -> str:
        """Register a config whose layers are all stored; return the image ID."""
        try:
            config = json.loads(config_bytes)
        except ValueError as exc:
            raise InvalidParameter(f"invalid image config: {exc}") from exc
        if not isinstance(config, dict):
            raise InvalidParameter("invalid image config: not an object")
        image_id = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        with self._layer_lock, self._lock:
            for chain in chain_ids((config.get("rootfs") or {}).get("diff_ids") or []):
                if not self.has_layer(chain):
                    raise InvalidParameter(f"layer {chain} of image {image_id} is not stored")
            if image_id not in self._configs:
                atomic_write(self.layout.config_path(image_id[7:]), config_bytes)
                self._configs[image_id] = config
        return image_id

    def set_reference(self, ref: Reference, image_id: str) -> str | None:
        """Point ``ref`` at ``image_id``; return the image it pointed at before, if other."""
        with self._lock:
            self.config(image_id)
            previous = self._refs.get(ref)
            self._change_refs(ref, image_id)
        return previous if previous != image_id else None

    def tag(self, source_ref: str, repo: str, tag: str | None = None) -> None:
        image_id = self.resolve(source_ref)
        target = parse(repo)
        if target.digest is not None:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        if target.tag is not None and tag:
            raise InvalidParameter(f"invalid reference format: {repo}:{tag}")
        if target.familiar_name == "sha256":
            raise InvalidParameter(
                "refusing to create an ambiguous tag using digest algorithm as name")
        target = target.with_tag(tag) if tag else target.with_default_tag()
        with self._lock:
            before = self._metadata.get(image_id)
            self.record_tag_time(image_id)
            try:
                self.set_reference(target, image_id)
            except EngineError:  # the tag was not written: nor is its time, if the disk lets us
                try:
                    self._change_metadata(image_id, before, replace=True)
                except EngineError:
                    pass
                raise
        self.emit("tag", image_id, str(target))

    def record_tag_time(self, image_id: str) -> None:
        """``Metadata.LastTagTime``: when a user last tagged the image (``docker tag``, a
        build's ``-t``), as dockerd's TagImageWithReference records it; loads and pulls
        name images without touching it."""
        with self._lock:
            self._change_metadata(image_id, {"LastTagTime": views.now_rfc3339()})

    def remove_reference(self, ref: Reference) -> str | None:
        with self._lock:
            image_id = self._refs.get(ref)
            if image_id is not None:
                self._change_refs(ref, None)
        return image_id

    def forget_image(self, image_id: str, keep_layers: bool) -> list[str]:
        """Drop an image (its references must be gone); return the chains removed."""
        with self._layer_lock, self._lock:
            chains = self.layer_chain(image_id)
            del self._configs[image_id]
            try:
                os.unlink(self.layout.config_path(image_id[7:]))
            except FileNotFoundError:
                pass
            if image_id in self._metadata:
                self._change_metadata(image_id, None)
            return [] if keep_layers else self._remove_unused_layers(chains)

    def delete(self, ref: str, force: bool, in_use: ContainerLookup,
               running: ContainerLookup | None = None) -> list[dict[str, str]]:
        """``docker rmi``: untag and/or delete, with dockerd's conflicts.

        ``in_use(image_id)`` returns the ID of a container using the image (or True)
        when there is one; ``running`` the same for a running one (a conflict that
        ``force`` cannot override).
        """
        return deletion.delete(self, ref, force, in_use, running)

    def prune(self, dangling_only: bool, in_use: ContainerLookup,
              filters: dict[str, list[str]] | None = None) -> dict[str, Any]:
        return deletion.prune(self, dangling_only, in_use, filters or {})

    # views ---------------------------------------------------------------
    def inspect(self, ref: str) -> dict[str, Any]:
        return views.inspect(self, self.resolve(ref))

    def history(self, ref: str) -> list[dict[str, Any]]:
        return views.history(self, self.resolve(ref))

    # archives ------------------------------------------------------------
    def load(self, stream: IO[bytes] | BinaryIO, quiet: bool = False) -> list[str]:
        from .archive import load_archive
        return load_archive(self, stream, quiet)

    def save(self, refs: list[str], out: IO[bytes] | BinaryIO) -> None:
        from .archive import save_archive
        save_archive(self, refs, out)

    # last: a method named ``list`` shadows the builtin for annotations below it
    def list(self, all: bool = False,  # noqa: A002 - the API's name for it
             filters: dict[str, builtins.list[str]] | None = None
             ) -> builtins.list[dict[str, Any]]:
        """ImageSummary dicts, newest first (``all`` changes nothing: no parent chains)."""
        return views.summaries(self, filters or {}, all)
