"""What the builder fetches itself: ADD's URLs, and ``remote=`` build contexts.

ADD from a URL: the daemon fetches the file, as the classic builder does.

The file is named after the last element of the URL's path (or the destination when it
does not end in ``/``), gets mode 0600 and the ``Last-Modified`` time when the server
sends one, and is never unpacked, even when it is an archive. Its content checksum keys
the build cache, so the step is fetched again at each build (as with the classic
builder) but reuses the cache while the content stays the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import posixpath
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import BinaryIO
from urllib.parse import urlsplit

from cove.common import remote_context as fetch
from cove.runtime import errors

TIMEOUT = 60  # seconds without a byte before giving up
MAX_ERROR_BODY = 4096


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def filename_for(url: str) -> str:
    """moby's rule: the base of the URL path; a URL without one cannot name a file."""
    name = posixpath.basename(urlsplit(url).path)
    if not name or name in (".", "/"):
        raise errors.InvalidParameter(f"cannot determine filename from url: {url}")
    return name


def download(url: str, directory: str) -> tuple[str, str]:
    """Fetch ``url`` into ``directory``; (host path, sha256 hex of the content)."""
    import requests

    path = os.path.join(directory, filename_for(url))
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=TIMEOUT,
                          headers={"User-Agent": "cove-builder"}) as resp:
            if resp.status_code >= 400:
                body = resp.raw.read(MAX_ERROR_BODY, decode_content=True) or b""
                raise errors.InvalidParameter(
                    f"failed to GET {url} with status {resp.status_code} {resp.reason}: "
                    f"{body.decode('utf-8', 'replace').strip()}")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in resp.iter_content(1 << 16):
                    digest.update(chunk)
                    out.write(chunk)
            modified = resp.headers.get("Last-Modified")
    except requests.RequestException as exc:
        raise errors.InvalidParameter(f"failed to GET {url}: {exc}") from exc
    os.chmod(path, 0o600)
    if modified:
        try:
            stamp = parsedate_to_datetime(modified).timestamp()
            os.utime(path, (stamp, stamp))
        except (TypeError, ValueError):
            pass
    return path, digest.hexdigest()


@contextlib.contextmanager
def remote_context(remote: str, dockerfile: str, tmp_root: str) -> Iterator[BinaryIO]:
    """``POST /build?remote=``: the context as a tar stream, fetched as dockerd fetches it.

    A git URL is cloned (``#ref:subdir`` as docker reads it); another URL is a tar or,
    when it is not an archive, the Dockerfile itself (named ``dockerfile``) alone.
    """
    scratch = tempfile.mkdtemp(prefix="remote-context-", dir=tmp_root)
    try:
        if fetch.is_git_url(remote):
            try:
                directory = fetch.clone(remote, scratch)
            except fetch.RemoteContextError as exc:
                raise errors.InvalidParameter(str(exc)) from exc
            with tempfile.TemporaryFile(dir=scratch) as body:
                with tarfile.open(fileobj=body, mode="w") as tar:
                    for name in sorted(os.listdir(directory)):
                        if name != ".git":
                            tar.add(os.path.join(directory, name), arcname=name)
                body.seek(0)
                yield body
        elif fetch.is_url(remote):
            try:
                data = fetch.download(remote)
            except fetch.RemoteContextError as exc:
                raise errors.InvalidParameter(str(exc)) from exc
            if not fetch.looks_like_archive(data[:512]):
                archive = io.BytesIO()
                with tarfile.open(fileobj=archive, mode="w") as tar:
                    info = tarfile.TarInfo(dockerfile)
                    info.size, info.mode = len(data), 0o644
                    tar.addfile(info, io.BytesIO(data))
                data = archive.getvalue()
            yield io.BytesIO(data)
        else:
            raise errors.InvalidParameter(
                f"remote context must be a git repository or an http(s) URL: {remote}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
