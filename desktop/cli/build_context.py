"""The build context ``cove build`` sends: a tar of the directory minus ``.dockerignore``.

The client's own small copy of Docker's rules (moby ``dockerignore.ReadAll`` and
``patternmatcher``): the daemon has its own (``runtime/build/dockerignore.py``) but the
desktop side never imports the runtime, and tarring here keeps excluded files (often
``node_modules`` or secrets) from ever crossing the socket, as docker does.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import tarfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO

# (exception?, cleaned text, compiled pattern) per .dockerignore line
Pattern = tuple[bool, str, "re.Pattern[str]"]


def _go_clean(path: str) -> str:
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _regex(text: str) -> str:
    """patternmatcher's translation: ``*``/``?`` stay in one element, ``**`` crosses them."""
    out, i, n = "", 0, len(text)
    while i < n:
        ch = text[i]
        i += 1
        if ch == "*" and text.startswith("*", i):
            i += 1
            if text.startswith("/", i):
                i += 1
            out += ".*" if i >= n else "(.*/)?"
        elif ch == "*":
            out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i < n:
            out += re.escape(text[i])
            i += 1
        elif ch == "[":  # a class passes through as Go's regexp reads it ([^a-c] negates)
            end = text.find("]", i + 1)
            if end < 0:
                raise ValueError(f"syntax error in pattern: {text}")
            out += text[i - 1:end + 1]
            i = end + 1
        else:
            out += re.escape(ch)
    return out


def parse_dockerignore(text: str) -> list[Pattern]:
    """The patterns in file order; ValueError for the ones Docker refuses."""
    patterns: list[Pattern] = []
    for number, raw in enumerate(text.splitlines()):
        if number == 0:
            raw = raw.removeprefix("\ufeff")
        if raw.startswith("#"):  # a comment only when ``#`` is the very first character
            continue
        line = raw.strip()
        if not line:
            continue
        exception = line.startswith("!")
        if exception:
            line = line[1:].strip()
            if not line:
                raise ValueError('illegal exclusion pattern: "!"')
        line = _go_clean(line)
        if len(line) > 1 and line.startswith("/"):
            line = line[1:]
        patterns.append((exception, line, re.compile(_regex(line) + r"\Z", re.DOTALL)))
    return patterns


def is_excluded(path: str, patterns: list[Pattern]) -> bool:
    """The last pattern matching ``path`` or one of its parent directories decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for exception, _, regex in patterns:
        if exception == excluded and any(regex.match(c) for c in candidates):
            excluded = not exception
    return excluded


def _may_hold_exceptions(directory: str, patterns: list[Pattern]) -> bool:
    """Docker walks into an excluded directory only when an exception names a path in it."""
    prefix = directory + "/"
    return any(exception and (text + "/").startswith(prefix)
               for exception, text, _ in patterns)


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
