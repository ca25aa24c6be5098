"""Pull: resolve the manifest (choosing a platform from an index), download the
config and layers, verify every byte, then commit the image to the store.

Layers download in parallel (``MAX_DOWNLOADS``, dockerd's 3), each streamed to a
``.partial`` file under a ``pull-*`` dir in the data root's tmp/ while it is
hashed; a blob is renamed to its final name only once its size AND digest match
the manifest. A dropped connection resumes with a Range request (or restarts
when the registry ignores Range). Layers whose chain is already stored are not
fetched; a digest listed twice is fetched once. Nothing reaches the store until
all blobs are verified, and the unpack itself is atomic, so a failed pull leaves
the store as it was.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import requests
import urllib3

from ..errors import EngineError, InvalidParameter, NotFound, Unauthorized, Unavailable
from ..images.reference import Reference
from ..images.store import ImageStore, chain_ids
from . import manifests as mf
from . import progress as pg
from .auth import AuthConfig, repository_scope
from .client import Endpoint, Registry, RegistryError, first_answer
from .config import RegistryConfig
from .transfer import Cancelled, Emit, read_limited, stream, work_dir

log = logging.getLogger("coved.registry")

MAX_DOWNLOADS = 3
MAX_ATTEMPTS = 3
CHUNK = 1 << 20
"""At most this much per read. Reads are ``read1``s (what the socket has, up to CHUNK):
a full-size ``read`` that a dropped connection interrupts loses everything it had
gathered (urllib3 discards it), so a resume would restart at the last whole MiB."""

Publish = Callable[[str, str], None]  # (action, familiar reference)


@dataclass
class Resolved:
    registry: Registry
    endpoint: Endpoint
    digest: str  # what the tag pointed at (an index's digest for multi-arch images)
    manifest: mf.ImageManifest


def access_denied(ref: Reference, detail: str) -> NotFound:
    return NotFound(f"pull access denied for {ref.familiar_name}, repository does not exist "
                    f"or may require 'docker login': {detail}")


def fetch_manifest(reg: Registry, path: str, reference: str, ref: Reference,
                   scopes: tuple[str, ...]) -> tuple[bytes, dict[str, Any], str]:
    """GET a manifest (any format we accept): its bytes, parsed body and media type."""
    try:
        resp = reg.request("GET", f"/v2/{path}/manifests/{reference}", scopes,
                           headers={"Accept": mf.ACCEPT}, stream=True)
    except Unauthorized as exc:
        raise access_denied(ref, exc.message) from exc
    if resp.status_code != 200:
        try:
            reg.check(resp, f"manifest for {ref}")
        except RegistryError as exc:
            if exc.code in ("NAME_UNKNOWN", "UNAUTHORIZED", "DENIED") or exc.registry_status in (401, 403):
                raise access_denied(ref, str(exc.message)) from exc
            if exc.registry_status == 404:
                raise NotFound(f"manifest for {ref} not found: {exc.message}") from exc
            raise
    data = read_limited(resp, mf.MAX_MANIFEST, f"manifest for {ref}")
    body = mf.load_json(data, "manifest")
    return data, body, mf.media_type_of(body, resp.headers.get("Content-Type", ""))


def resolve(reg: Registry, endpoint: Endpoint, ref: Reference, platform: mf.Platform,
            explicit_platform: bool, push: bool = False) -> Resolved:
    scopes = (repository_scope(endpoint.path, push),)
    reference = ref.digest or ref.tag or "latest"
    data, body, media = fetch_manifest(reg, endpoint.path, reference, ref, scopes)
    digest = mf.digest_of(data)
    if ref.digest and digest != ref.digest:
        raise InvalidParameter(f"manifest verification failed for digest {ref.digest}")
    if media in mf.INDEX_TYPES:
        entry = mf.select_platform(body, platform, explicit_platform)
        data, body, media = fetch_manifest(reg, endpoint.path, entry.digest, ref, scopes)
        if mf.digest_of(data) != entry.digest:
            raise InvalidParameter(f"manifest verification failed for digest {entry.digest}")
    return Resolved(reg, endpoint, digest, mf.parse_image_manifest(body, media))


def fetch_config(reg: Registry, path: str, desc: mf.Descriptor) -> bytes:
    resp = reg.request("GET", f"/v2/{path}/blobs/{desc.digest}",
                       (repository_scope(path),), stream=True)
    if resp.status_code != 200:
        reg.check(resp, f"config blob {desc.digest}")
    data = read_limited(resp, max(desc.size, 0) if desc.size <= mf.MAX_CONFIG else mf.MAX_CONFIG,
                        f"image config {desc.digest}")
    if len(data) != desc.size or mf.digest_of(data) != desc.digest:
        raise InvalidParameter(f"image config verification failed for digest {desc.digest}")
    return data


class _Counting:
    """A file read by the unpacker, reporting how far it got as 'Extracting'."""

    def __init__(self, f: Any, total: int, report: Callable[[int, bool], None]) -> None:
        self._f, self.total, self._report, self.done = f, total, report, 0
        self._ended = False

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self.done += len(data)
        if data or not self._ended:
            self._ended = not data
            self._report(self.done, not data)
        return bytes(data)


def download_blob(reg: Registry, path: str, desc: mf.Descriptor, dest_dir: Path, emit: Emit,
                  cancel: threading.Event) -> Path:
    """Stream one blob to ``<hex>.partial`` while hashing; rename to ``<hex>`` once verified."""
    short = pg.short_id(desc.digest)
    final = dest_dir / desc.digest.partition(":")[2]
    partial = final.with_suffix(".partial")
    hasher, written, attempts = hashlib.sha256(), 0, 0
    throttle = pg.Throttle()
    with open(partial, "wb") as out:
        while True:
            headers = {"Range": f"bytes={written}-"} if written else {}
            try:
                resp = reg.request("GET", f"/v2/{path}/blobs/{desc.digest}",
                                   (repository_scope(path),), headers=headers, stream=True)
                with resp:
                    if resp.status_code == 200 and written:  # Range ignored: start again
                        out.seek(0)
                        out.truncate()
                        hasher, written = hashlib.sha256(), 0
                    elif resp.status_code not in (200, 206):
                        reg.check(resp, f"blob {desc.digest}")
                    for chunk in iter(functools.partial(resp.raw.read1, CHUNK), b""):
                        if cancel.is_set():
                            raise Cancelled()
                        written += len(chunk)
                        if written > desc.size:
                            raise InvalidParameter(
                                f"blob {desc.digest} is larger than the {desc.size} bytes its "
                                "manifest declares")
                        hasher.update(chunk)
                        out.write(chunk)
                        if throttle.ready():
                            emit(pg.bar("Downloading", short, written, desc.size))
                if written < desc.size:
                    raise _Short(f"unexpected EOF: got {written} of {desc.size} bytes")
                break
            except (requests.RequestException, urllib3.exceptions.HTTPError, Unavailable,
                    _Short) as exc:
                attempts += 1
                if attempts >= MAX_ATTEMPTS:
                    if isinstance(exc, _Short):
                        raise InvalidParameter(
                            f"failed to download blob {desc.digest}: {exc}") from exc
                    raise Unavailable(f"failed to download blob {desc.digest}: {exc}") from exc
                log.info("blob %s: %s; retrying (attempt %d)", desc.digest, exc, attempts + 1)
                emit(pg.layer(f"Retrying in {attempts} second{'s' if attempts > 1 else ''}",
                              short))
                if cancel.wait(attempts):
                    raise Cancelled() from exc
        out.flush()
        os.fsync(out.fileno())
    emit(pg.bar("Downloading", short, written, desc.size))
    emit(pg.layer("Verifying Checksum", short))
    if "sha256:" + hasher.hexdigest() != desc.digest:
        raise InvalidParameter(f"filesystem layer verification failed for digest {desc.digest}")
    os.rename(partial, final)
    emit(pg.layer("Download complete", short))
    return final


class _Short(Exception):
    """A body that ended before the declared size: retried, then an error."""


class Puller:
    def __init__(self, store: ImageStore, config: RegistryConfig, publish: Publish) -> None:
        self.store = store
        self.config = config
        self.publish = publish

    def pull(self, ref: Reference, platform: str | None, auth: AuthConfig) -> Iterator[pg.Message]:
        """Docker's pull progress messages; raises before the first one when the
        manifest cannot be had (so the API answers with a plain HTTP error)."""
        want = mf.parse_platform(platform)
        ref = ref.with_default_tag()
        return stream(lambda emit, cancel: self._run(ref, want, bool(platform), auth, emit, cancel))

    def _resolve(self, ref: Reference, want: mf.Platform, explicit: bool,
                 auth: AuthConfig) -> Resolved:
        def attempt(endpoint: Endpoint, credentials: AuthConfig) -> Resolved:
            reg = Registry(endpoint.host, self.config, credentials, base=endpoint.base)
            try:  # the registry stays open for the pull that follows
                return resolve(reg, endpoint, ref, want, explicit)
            except EngineError:
                reg.close()
                raise

        return first_answer(ref, self.config, auth, attempt)

    def _run(self, ref: Reference, want: mf.Platform, explicit: bool, auth: AuthConfig,
             emit: Emit, cancel: threading.Event) -> None:
        resolved = self._resolve(ref, want, explicit, auth)
        reg, path = resolved.registry, resolved.endpoint.path
        tmp = work_dir(self.store.layout.tmp_dir, "pull-")
        try:
            emit(pg.status(f"Pulling from {resolved.endpoint.path}", ref.digest or ref.tag))
            config_bytes = fetch_config(reg, path, resolved.manifest.config)
            config = mf.load_json(config_bytes, "image config")
            diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
            layers = resolved.manifest.layers
            if len(diff_ids) != len(layers):
                raise InvalidParameter(f"invalid manifest: {len(layers)} layers but the config "
                                       f"lists {len(diff_ids)} diff IDs")
            self._transfer(reg, path, layers, diff_ids, tmp, emit, cancel)
            image_id = self.store.add_image(config_bytes)
        finally:
            reg.close()
            shutil.rmtree(tmp, ignore_errors=True)
        self._commit(ref, resolved.digest, image_id, emit)

    def _transfer(self, reg: Registry, path: str, layers: tuple[mf.Descriptor, ...],
                  diff_ids: list[str], tmp: Path, emit: Emit, cancel: threading.Event) -> None:
        chains = chain_ids(diff_ids)
        needed = [i for i, chain in enumerate(chains) if not self.store.has_layer(chain)]
        unique: dict[str, mf.Descriptor] = {}
        for i, desc in enumerate(layers):
            if i not in needed:
                emit(pg.layer("Already exists", pg.short_id(desc.digest)))
            elif desc.digest not in unique:
                unique[desc.digest] = desc
                emit(pg.layer("Pulling fs layer", pg.short_id(desc.digest)))
        for desc in list(unique.values())[MAX_DOWNLOADS:]:
            emit(pg.layer("Waiting", pg.short_id(desc.digest)))
        if not needed:
            return
        pool = concurrent.futures.ThreadPoolExecutor(MAX_DOWNLOADS, "registry-download")
        failed = threading.Event()

        def download(desc: mf.Descriptor) -> Path:
            try:
                return download_blob(reg, path, desc, tmp, emit, cancel)
            except BaseException:
                failed.set()
                raise

        futures: dict[str, concurrent.futures.Future[Path]] = {}
        unpackers = concurrent.futures.ThreadPoolExecutor(MAX_DOWNLOADS, "registry-extract")

        def extract(i: int, desc: mf.Descriptor, diff_id: str) -> str:
            _wait(futures[desc.digest], futures, failed, cancel)
            blob = futures[desc.digest].result()  # raises the download's error
            if cancel.is_set():
                raise Cancelled()
            # chain IDs come from the config, so a layer need not wait for its parent
            return self._extract(blob, desc, chains[i - 1] if i else None, diff_id, emit)

        self.store.pin(chains)  # new layers stay until the image that uses them exists
        extractions: list[concurrent.futures.Future[str]] = []
        try:
            futures = {d.digest: pool.submit(download, d) for d in unique.values()}
            extractions = [unpackers.submit(extract, i, desc, diff_id)
                           for i, (desc, diff_id) in enumerate(zip(layers, diff_ids, strict=True))
                           if i in needed]
            for extraction in extractions:
                extraction.result()
        except BaseException:
            cancel.set()  # stop the other downloads and unpacks: the pull has failed
            raise
        finally:
            for download_future in futures.values():
                download_future.cancel()
            for extraction in extractions:
                extraction.cancel()
            pool.shutdown(wait=True)
            unpackers.shutdown(wait=True)
            self.store.unpin(chains)

    def _extract(self, blob: Path, desc: mf.Descriptor, parent: str | None, diff_id: str,
                 emit: Emit) -> str:
        short = pg.short_id(desc.digest)
        throttle = pg.Throttle()
        size = blob.stat().st_size

        def report(done: int, final: bool) -> None:
            if throttle.ready(final):
                emit(pg.bar("Extracting", short, done, size))

        with open(blob, "rb") as f:
            counting = cast(BinaryIO, _Counting(f, size, report))  # read() is all it needs
            chain, _ = self.store.add_layer(counting, parent, expected_diff_id=diff_id)
        emit(pg.layer("Pull complete", short))
        return chain

    def _commit(self, ref: Reference, digest: str, image_id: str, emit: Emit) -> None:
        previous_tag = None
        if ref.tag is not None:
            try:
                previous_tag = self.store.resolve(str(ref))
            except EngineError:
                previous_tag = None
            self.store.set_reference(ref, image_id)
        self.store.set_reference(Reference(ref.domain, ref.path, digest=digest), image_id)
        emit(pg.status(f"Digest: {digest}"))
        shown = str(ref)
        if ref.tag is not None and previous_tag == image_id:
            emit(pg.status(f"Status: Image is up to date for {shown}"))
        else:
            emit(pg.status(f"Status: Downloaded newer image for {shown}"))
        self.publish("pull", shown)


def _wait(future: concurrent.futures.Future[Path],
          futures: dict[str, concurrent.futures.Future[Path]],
          failed: threading.Event, cancel: threading.Event) -> None:
    """Wait for ``future``, but raise at once when any other download has failed."""
    while not future.done():
        if cancel.is_set():
            raise Cancelled()
        if failed.wait(0.05):
            for other in futures.values():
                if other.done() and not other.cancelled() and other.exception() is not None:
                    raise other.exception()  # type: ignore[misc]
