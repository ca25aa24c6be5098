"""Remote build contexts: a git repository or a URL, fetched with the system's git.

``cove build URL`` fetches them in the client, as the docker CLI does; the daemon
fetches them for ``POST /build?remote=URL`` (docker-py, API clients), as dockerd does.

- a git URL (``https://…/repo.git#ref:subdir``, ``git://…``, ``git@…``, ``github.com/…``)
  is cloned into a temporary directory with the system's ``git``, at one commit when the
  server allows it, then used like a local directory. ``ref`` defaults to ``master`` as in
  docker; the ``subdir`` is resolved inside the clone, never outside it. ``git`` runs with
  file-protocol submodules refused, as docker runs it, so a hostile repository cannot pull
  files from this machine into the context.
- any other ``http(s)://`` URL is downloaded: a (compressed) tar is the context, anything
  else is a Dockerfile with an empty context.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess


class RemoteContextError(Exception):
    """The context could not be fetched; ``str()`` is docker's wording."""

_GIT_SUFFIX = re.compile(r"\.git(?:#.+)?$")
_GIT_PREFIXES = ("git://", "github.com/", "git@")
DEFAULT_REF = "master"


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def is_git_url(text: str) -> bool:
    """docker's ``IsGitURL``: an http(s) URL ending in ``.git[#fragment]``, or a git prefix."""
    return (is_url(text) and _GIT_SUFFIX.search(text) is not None) or \
        text.startswith(_GIT_PREFIXES)


def _error(message: str) -> RemoteContextError:
    return RemoteContextError(message)


def _split_remote(url: str) -> tuple[str, str, str]:
    """(remote, ref, subdir) from ``remote#ref:subdir``; a bare host path gets https://."""
    if not url.startswith(("git@", "git://", "http://", "https://", "ssh://")):
        url = "https://" + url
    remote, _, fragment = url.partition("#")
    ref, _, subdir = fragment.partition(":")
    ref = ref or DEFAULT_REF
    if ref.startswith("-"):
        raise _error(f"unable to 'git clone' to temporary context directory: "
                     f"invalid refspec: {ref}")
    return remote, ref, subdir


def _supports_shallow(remote: str) -> bool:
    """A smart HTTP server (or any non-HTTP transport) can fetch a single commit."""
    if not is_url(remote):
        return True
    import requests

    service = remote + "/info/refs?service=git-upload-pack"
    try:
        response = requests.get(service, timeout=30)
    except requests.RequestException:
        return False
    return response.status_code == 200 and \
        response.headers.get("Content-Type") == "application/x-git-upload-pack-advertisement"


def _git(directory: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    import subprocess

    env = {**os.environ, "GIT_PROTOCOL_FROM_USER": "0", "GIT_TERMINAL_PROMPT": "0"}
    # a transfer that stalls (under 1 KB/s for 30 s) is given up, not waited on forever
    return subprocess.run(["git", "-c", "protocol.file.allow=never",
                           "-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30",
                           *args], cwd=directory, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=600)


def _output(result: subprocess.CompletedProcess[bytes]) -> str:
    return (result.stdout + result.stderr).decode(errors="replace")


def clone(url: str, temp_root: str) -> str:
    """Clone ``url`` under ``temp_root`` (the caller removes it); returns the context dir."""
    import shutil

    if shutil.which("git") is None:
        raise _error('unable to find \'git\': exec: "git": executable file not found in $PATH')
    remote, ref, subdir = _split_remote(url)
    root = os.path.join(temp_root, "git")
    os.mkdir(root)
    prefix = "unable to 'git clone' to temporary context directory: "
    for args in (("init",), ("remote", "add", "origin", remote)):
        result = _git(root, *args)
        if result.returncode != 0:
            raise _error(f"{prefix}failed to init repo at {root}: {_output(result)}")
    fetch = ["fetch", *(["--depth", "1"] if _supports_shallow(remote) else []),
             "origin", "--", ref]
    result = _git(root, *fetch)
    if result.returncode != 0:
        raise _error(f"{prefix}error fetching: {_output(result)}: exit status "
                     f"{result.returncode}")
    checkout = _git(root, "checkout", ref)
    if checkout.returncode != 0 and _git(root, "checkout", "FETCH_HEAD").returncode != 0:
        raise _error(f"{prefix}error checking out {ref}: {_output(checkout)}")
    result = _git(root, "submodule", "update", "--init", "--recursive", "--depth=1")
    if result.returncode != 0:
        raise _error(f"{prefix}error initializing submodules: {_output(result)}")
    if not subdir:
        return root
    from cove.common.paths import resolve_in_root

    try:
        context = resolve_in_root(root, subdir)
    except OSError as exc:
        raise _error(f"{prefix}error setting git context: {exc}") from exc
    if not os.path.isdir(context):
        raise _error(f"{prefix}error setting git context, not a directory: {context}")
    return context


def download(url: str) -> bytes:
    """The body at ``url``; docker's error for a 4xx/5xx answer or no answer."""
    import requests

    try:
        response = requests.get(url, timeout=60)
    except requests.RequestException as exc:
        raise _error(f"unable to download remote context {url}: {exc}") from exc
    if response.status_code >= 400:
        raise _error(f"unable to download remote context {url}: failed to GET {url} with "
                     f"status {response.status_code} {response.reason}: "
                     f"{response.text.strip()}")
    return response.content


_TAR_MAGIC_OFFSET = 257
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


def looks_like_archive(head: bytes) -> bool:
    """docker's ``IsArchive``: a (possibly compressed) tar rather than a Dockerfile."""
    if head.startswith(_COMPRESSED_MAGIC):
        return True
    return head[_TAR_MAGIC_OFFSET:_TAR_MAGIC_OFFSET + 5] == b"ustar"
