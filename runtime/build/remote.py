"""ADD from a URL: the daemon fetches the file, as the classic builder does.

The file is named after the last element of the URL's path (or the destination when it
does not end in ``/``), gets mode 0600 and the ``Last-Modified`` time when the server
sends one, and is never unpacked, even when it is an archive. Its content checksum keys
the build cache, so the step is fetched again at each build (as with the classic
builder) but reuses the cache while the content stays the same.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

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
