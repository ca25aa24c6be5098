"""The build context ``cove build`` sends: a tar of the directory minus ``.dockerignore``.

The rules are Docker's (``cove.common.dockerignore``, the same code the daemon applies);
tarring here keeps excluded files (often ``node_modules`` or secrets) from ever crossing
the socket, as docker does.
"""

from __future__ import annotations

import contextlib
import os
import tarfile

from cove.common.dockerignore import Pattern, is_excluded, parse_dockerignore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO


def _may_hold_exceptions(directory: str, patterns: list[Pattern]) -> bool:
    """Docker walks into an excluded directory only when an exception names a path in it."""
    prefix = directory + "/"
    return any(p.exclusion and (p.text + "/").startswith(prefix) for p in patterns)


def read_ignore_file(context: str) -> str | None:
    try:
        with open(os.path.join(context, ".dockerignore"), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_context_tar(context: str, dockerfile: str, out: IO[bytes],
                      extra_dockerfile: tuple[str, bytes] | None = None) -> None:
    """Tar ``context`` into seekable ``out`` as docker does; ValueError for a bad pattern.

    The Dockerfile and .dockerignore are always kept (the daemon needs them). A Dockerfile
    from elsewhere (``extra_dockerfile``: name, text) is added and listed in .dockerignore
    so that ``COPY .`` does not pick it up.
    """
    ignore_text = read_ignore_file(context)
    patterns = parse_dockerignore(ignore_text or "")
    for keep in (".dockerignore", dockerfile):
        if is_excluded(keep, patterns):
            patterns += parse_dockerignore("!" + keep)
    with _unpadded_tar(out) as tar:
        _add_tree(tar, context, "", patterns,
                  skip=".dockerignore" if extra_dockerfile is not None else None)
        if extra_dockerfile is not None:
            name, text = extra_dockerfile
            # docker's new .dockerignore also leaves itself out of COPY/ADD
            ignore = (".dockerignore" if ignore_text is None else ignore_text) + f"\n{name}\n"
            mode = 0o600 if ignore_text is None else \
                os.stat(os.path.join(context, ".dockerignore")).st_mode & 0o7777
            _add_bytes(tar, ".dockerignore", ignore.encode(), mode)
            _add_bytes(tar, name, text, 0o600)


def write_single_file_tar(name: str, data: bytes, out: IO[bytes]) -> None:
    """A context holding one file (a Dockerfile read from stdin), as docker tars it."""
    with _unpadded_tar(out) as tar:
        _add_bytes(tar, name, data, 0o644)


@contextlib.contextmanager
def _unpadded_tar(out: IO[bytes]) -> Iterator[tarfile.TarFile]:
    """Go's tar writer does not pad to 10 KiB records: the size docker reports is this."""
    start = out.tell()
    tar = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
    try:
        yield tar
    finally:
        tar.close()
    out.seek(start + tar.offset)
    out.truncate()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    import io
    import time

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _add_tree(tar: tarfile.TarFile, root: str, rel_dir: str, patterns: list[Pattern],
              skip: str | None) -> None:
    """Depth first in lexical order, as Go's filepath.Walk goes."""
    directory = os.path.join(root, rel_dir) if rel_dir else root
    for name in sorted(os.listdir(directory)):
        rel = f"{rel_dir}/{name}" if rel_dir else name
        full = os.path.join(directory, name)
        if rel == skip:
            continue
        is_dir = os.path.isdir(full) and not os.path.islink(full)
        if patterns and is_excluded(rel, patterns):
            if is_dir and _may_hold_exceptions(rel, patterns):
                _add_tree(tar, root, rel, patterns, skip)
            continue
        info = tar.gettarinfo(full, arcname=rel)
        if info is None:  # sockets and the like cannot travel
            continue
        info.uid = info.gid = 0  # docker sends the context as root's
        info.uname = info.gname = ""
        info.mtime = int(info.mtime)  # whole seconds: no PAX record per file
        if info.isreg():
            with open(full, "rb") as f:
                tar.addfile(info, f)
        else:
            tar.addfile(info)
        if is_dir:
            _add_tree(tar, root, rel, patterns, skip)
