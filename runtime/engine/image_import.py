"""``docker import``: a root filesystem tar (from the request body or a URL) as a
one-layer image, as dockerd's ``ImportImage`` makes it.

The tar may be compressed (gzip, zstd, xz, bzip2) and is unpacked with the same hostile-
layer checks as any pulled layer. ``changes`` are Dockerfile instructions applied to the
empty config, ``message`` becomes the history comment ("Imported from -" or the URL
otherwise).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from cove.runtime import errors
from cove.runtime.images.reference import parse

_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}


def _now() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + \
        f".{ns % 1_000_000_000:09d}Z"


def _fetch(url: str, tmp_dir: str) -> BinaryIO:
    import requests

    handle = open(os.path.join(tmp_dir, f"import-{os.urandom(8).hex()}"), "w+b")  # noqa: SIM115
    os.unlink(handle.name)  # gone once closed, whatever happens
    try:
        with requests.get(url, stream=True, timeout=60) as resp:
            if resp.status_code >= 400:
                raise errors.InvalidParameter(
                    f"failed to GET {url} with status {resp.status_code} {resp.reason}")
            for chunk in resp.iter_content(1 << 16):
                handle.write(chunk)
    except requests.RequestException as exc:
        handle.close()
        raise errors.InvalidParameter(f"failed to GET {url}: {exc}") from exc
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


def import_image(images: Any, body: BinaryIO, source: str, repo: str | None, tag: str | None,
                 message: str | None, changes: list[str],
                 platform_name: str | None) -> Iterator[dict[str, Any]]:
    from cove.runtime.engine.container_commit import apply_changes

    if repo and parse(repo).digest is not None:  # a bad name fails before any work
        raise errors.InvalidParameter("cannot import digest reference")
    os_name, _, arch = (platform_name or "").partition("/")
    if os_name and os_name != "linux":
        raise errors.InvalidParameter(f"unsupported os: {os_name}")
    config = apply_changes({}, changes)
    stream = body if source == "-" else _fetch(source, str(images.store.layout.tmp_dir))
    try:
        _chain, layer = images.store.add_layer(stream, None)
    finally:
        if stream is not body:
            stream.close()
    created = _now()
    comment = message or f"Imported from {source}"
    image = {"architecture": arch or _ARCH.get(platform.machine(), platform.machine()),
             "comment": comment, "config": config, "created": created,
             "history": [{"created": created, "comment": comment}], "os": "linux",
             "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]}}
    image_id = images.store.add_image(json.dumps(image, separators=(",", ":")).encode())
    if repo:
        images.store.tag(image_id, repo, tag or None)
    yield {"status": image_id}
