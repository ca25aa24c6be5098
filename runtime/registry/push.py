"""Push: upload an image's layers, config and a schema 2 manifest to a registry.

Each layer's original tar is rebuilt byte for byte from the store (tar-split
skeleton + diff dir, as ``docker save`` does) and gzip-compressed on the way to a
temp file, hashing as it goes. ``pushed.json`` (layout.pushed_layers) remembers
diff ID -> compressed digest, size and the repositories it was pushed to, so a
re-push asks the registry ``HEAD`` instead of compressing again, and a push to a
second repository of the same registry mounts the blob across repositories.
Uploads are monolithic (POST then PUT ?digest=) up to ``CHUNKED_ABOVE`` and
chunked (PATCH with Content-Range, then PUT) above it.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

from ..errors import EngineError, InvalidParameter, NotFound, SystemError_
from ..images.reference import Reference, parse
from ..images.store import ImageStore
from ..images.tarsplit import write_tar
from ..store.layout import atomic_write_json, read_json
from . import manifests as mf
from . import progress as pg
from .auth import AuthConfig, repository_scope
from .client import Registry, registry_host
from .config import RegistryConfig
from .transfer import Cancelled, Emit, stream, work_dir

log = logging.getLogger("coved.registry")

MAX_UPLOADS = 5  # dockerd's max-concurrent-uploads
CHUNKED_ABOVE = 64 << 20
CHUNK = 16 << 20
GZIP_LEVEL = 1  # speed over a few percent of size; the digest is ours to choose

Publish = Callable[[str, str], None]
_cache_lock = threading.Lock()


class _HashingWriter:
    def __init__(self, out: Any) -> None:
        self.out, self.hasher, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        self.size += len(data)
        self.out.write(data)
        return len(data)

    def flush(self) -> None:
        self.out.flush()


class _Upload:
    """A slice of a file as a request body, reporting bytes sent as 'Pushing'."""

    def __init__(self, path: Path, start: int, length: int,
                 report: Callable[[int], None]) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._f.seek(start)
        self._left, self._length, self._report = length, length, report
        self._start = start

    def __len__(self) -> int:
        return self._length

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._f.read(n)
        self._left -= len(data)
        self._report(self._start + self._length - self._left)
        return data

    def close(self) -> None:
        self._f.close()


def push_targets(store: ImageStore, name: str, tag: str | None) -> list[tuple[Reference, str]]:
    """The (tagged reference, image ID) pairs to push; a bare name means all its tags."""
    ref = parse(name)
    if tag:
        ref = ref.with_tag(tag)
    if ref.tag is not None:
        try:
            return [(ref, store.resolve(str(ref)))]
        except EngineError:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}") \
                from None
    found = [(r, i) for i in store.image_ids() for r in store.references(i)
             if r.name == ref.name and r.tag is not None]
    if not found:
        raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
    return sorted(found, key=lambda pair: str(pair[0]))


class Pusher:
    def __init__(self, store: ImageStore, config: RegistryConfig, publish: Publish) -> None:
        self.store = store
        self.config = config
        self.publish = publish

    def push(self, name: str, tag: str | None, auth: AuthConfig) -> Iterator[pg.Message]:
        targets = push_targets(self.store, name, tag)  # a 404 before any byte
        return stream(lambda emit, cancel: self._run(targets, auth, emit, cancel))

    # the pushed-layer cache ------------------------------------------------
    def _cache(self) -> dict[str, Any]:
        try:
            data = read_json(self.store.layout.pushed_layers)
            return data if isinstance(data, dict) else {}
        except (FileNotFoundError, ValueError):
            return {}

    def _remember(self, diff_id: str, desc: mf.Descriptor, repo: str) -> None:
        with _cache_lock:
            cache = self._cache()
            entry = cache.get(diff_id)
            if not entry or entry.get("digest") != desc.digest:
                entry = {"digest": desc.digest, "size": desc.size, "repos": []}
            if repo not in entry["repos"]:
                entry["repos"].append(repo)
            cache[diff_id] = entry
            path = self.store.layout.pushed_layers
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(path, cache)

    # the push --------------------------------------------------------------
    def _run(self, targets: list[tuple[Reference, str]], auth: AuthConfig, emit: Emit,
             cancel: threading.Event) -> None:
        first = targets[0][0]
        emit(pg.status(f"The push refers to repository [{first.name}]"))
        reg = Registry(registry_host(first.domain), self.config, auth)
        tmp = work_dir(self.store.layout.tmp_dir, "push-")
        try:
            for ref, image_id in targets:
                self._push_image(reg, ref, image_id, tmp, emit, cancel)
        finally:
            reg.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def _push_image(self, reg: Registry, ref: Reference, image_id: str, tmp: Path, emit: Emit,
                    cancel: threading.Event) -> None:
        diff_ids = self.store.diff_ids(image_id)
        chains = self.store.layer_chain(image_id)
        unique = list(dict.fromkeys(zip(diff_ids, chains, strict=True)))
        shown = list(reversed(unique))  # dockerd lists the top layer first
        for diff_id, _ in shown:
            emit(pg.layer("Preparing", pg.short_id(diff_id)))
        for diff_id, _ in shown[MAX_UPLOADS:]:
            emit(pg.layer("Waiting", pg.short_id(diff_id)))
        with concurrent.futures.ThreadPoolExecutor(MAX_UPLOADS, "registry-upload") as pool:
            futures = {diff_id: pool.submit(self._push_layer, reg, ref, diff_id, chain, tmp,
                                            emit, cancel)
                       for diff_id, chain in shown}
            try:
                descs = {diff_id: future.result() for diff_id, future in futures.items()}
            except BaseException:
                cancel.set()
                raise
        config = self.store.config_bytes(image_id)
        config_desc = mf.Descriptor(mf.MEDIA_DOCKER_CONFIG, mf.digest_of(config), len(config))
        if not self._exists(reg, ref.path, config_desc.digest):
            config_path = tmp / f"config-{config_desc.digest[7:]}"
            config_path.write_bytes(config)
            self._upload(reg, ref.path, config_path, config_desc, lambda _n: None)
        manifest = mf.schema2_manifest(config_desc, [descs[d] for d in diff_ids])
        digest = mf.digest_of(manifest)
        resp = reg.request("PUT", f"/v2/{ref.path}/manifests/{ref.tag}",
                           (repository_scope(ref.path, push=True),),
                           headers={"Content-Type": mf.MEDIA_DOCKER_MANIFEST}, data=manifest)
        reg.check(resp, f"manifest {ref}", allowed=(200, 201, 202))
        self.store.set_reference(Reference(ref.domain, ref.path, digest=digest), image_id)
        for message in pg.push_result(str(ref.tag), digest, len(manifest)):
            emit(message)
        self.publish("push", str(ref))

    def _exists(self, reg: Registry, path: str, digest: str) -> bool:
        resp = reg.request("HEAD", f"/v2/{path}/blobs/{digest}",
                           (repository_scope(path, push=True),))
        if resp.status_code == 200:
            return True
        reg.check(resp, f"blob {digest}", allowed=(404,))
        return False

    def _push_layer(self, reg: Registry, ref: Reference, diff_id: str, chain: str, tmp: Path,
                    emit: Emit, cancel: threading.Event) -> mf.Descriptor:
        short = pg.short_id(diff_id)
        repo = f"{reg.host}/{ref.path}"
        known = self._cache().get(diff_id)
        if known:
            desc = mf.Descriptor(mf.MEDIA_DOCKER_LAYER, known["digest"], int(known["size"]))
            if self._exists(reg, ref.path, desc.digest):
                emit(pg.layer("Layer already exists", short))
                self._remember(diff_id, desc, repo)
                return desc
            for other in known.get("repos", []):
                host, _, other_path = other.partition("/")
                if host == reg.host and other_path != ref.path and \
                        self._mount(reg, ref.path, other_path, desc.digest):
                    emit(pg.layer(f"Mounted from {other_path}", short))
                    self._remember(diff_id, desc, repo)
                    return desc
        if cancel.is_set():
            raise Cancelled()
        blob, desc = self._compress(chain, diff_id, tmp)
        try:
            if self._exists(reg, ref.path, desc.digest):
                emit(pg.layer("Layer already exists", short))
            else:
                throttle = pg.Throttle()

                def report(sent: int) -> None:
                    if cancel.is_set():
                        raise Cancelled()
                    if throttle.ready(sent >= desc.size):
                        emit(pg.bar("Pushing", short, sent, desc.size))

                self._upload(reg, ref.path, blob, desc, report)
                emit(pg.layer("Pushed", short))
        finally:
            os.unlink(blob)
        self._remember(diff_id, desc, repo)
        return desc

    def _compress(self, chain: str, diff_id: str, tmp: Path) -> tuple[Path, mf.Descriptor]:
        skeleton, diff = self.store.layer_tar_paths(chain)
        if not skeleton.exists():
            raise SystemError_(f"layer {chain} cannot be pushed: its tar-split record is missing")
        path = tmp / f"layer-{diff_id[7:]}.tar.gz"
        with open(path, "wb") as out:
            writer = _HashingWriter(out)
            with gzip.GzipFile(filename="", mode="wb", fileobj=writer,
                               compresslevel=GZIP_LEVEL, mtime=0) as gz:
                rebuilt, _ = write_tar(skeleton, diff, gz)  # type: ignore[arg-type]
        if rebuilt != diff_id:
            raise SystemError_(f"layer {chain} changed on disk: rebuilt {rebuilt}, want {diff_id}")
        return path, mf.Descriptor(mf.MEDIA_DOCKER_LAYER, "sha256:" + writer.hasher.hexdigest(),
                                   writer.size)

    def _mount(self, reg: Registry, path: str, source: str, digest: str) -> bool:
        query = urlencode({"mount": digest, "from": source})
        resp = reg.request("POST", f"/v2/{path}/blobs/uploads/?{query}",
                           (repository_scope(path, push=True), repository_scope(source)))
        if resp.status_code == 201:
            return True
        if resp.status_code == 202:  # mount refused, an upload was opened instead: drop it
            location = resp.headers.get("Location")
            if location:
                reg.request("DELETE", urljoin(reg.base() + "/", location),
                            (repository_scope(path, push=True),))
        return False

    def _upload(self, reg: Registry, path: str, blob: Path, desc: mf.Descriptor,
                report: Callable[[int], None]) -> None:
        scopes = (repository_scope(path, push=True),)
        resp = reg.request("POST", f"/v2/{path}/blobs/uploads/", scopes)
        reg.check(resp, f"upload of {desc.digest}", allowed=(202,))
        location = urljoin(reg.base() + "/", resp.headers.get("Location", ""))
        offset = 0
        if desc.size > CHUNKED_ABOVE:
            while offset < desc.size:
                length = min(CHUNK, desc.size - offset)
                body = _Upload(blob, offset, length, report)
                try:
                    resp = reg.request("PATCH", location, scopes, data=body, headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{offset}-{offset + length - 1}"})
                finally:
                    body.close()
                reg.check(resp, f"upload of {desc.digest}", allowed=(202,))
                location = urljoin(reg.base() + "/", resp.headers.get("Location", location))
                offset += length
        body = _Upload(blob, offset, desc.size - offset, report)
        separator = "&" if "?" in location else "?"
        try:
            resp = reg.request("PUT", f"{location}{separator}{urlencode({'digest': desc.digest})}",
                               scopes, data=body,
                               headers={"Content-Type": "application/octet-stream"})
        finally:
            body.close()
        reg.check(resp, f"upload of {desc.digest}", allowed=(201, 204))
        if resp.status_code not in (201, 204):
            raise InvalidParameter(f"upload of {desc.digest} was not accepted")
