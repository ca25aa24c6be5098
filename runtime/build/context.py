"""The build context: the tar the client sends, unpacked safely, filtered by .dockerignore,
and the files COPY/ADD select from it (globs, directory semantics, checksums for the cache).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from typing import Any, BinaryIO

from cove.common.paths import resolve_in_root
from cove.runtime import errors
from cove.runtime.build import globs


def _context_filter(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's ``data`` filter, except that a symlink may point anywhere.

    Contexts do hold links out of themselves (``shared -> ../shared`` in a monorepo), and
    docker sends and keeps them as links. Nothing is ever written through one: a later
    member whose path runs through a link out of the context is refused by the ``data``
    filter, which resolves the real path. Reads resolve links inside the context.
    """
    if member.issym():
        placed = tarfile.data_filter(member.replace(linkname=".", deep=False), dest)
        return placed.replace(linkname=member.linkname, deep=False)
    return tarfile.data_filter(member, dest)


class _EndedArchive(io.RawIOBase):
    """The context stream, padded at its end to whole tar blocks and an end-of-archive
    marker. The docker CLI's ``build -f -`` sends its tar without either (the Dockerfile
    it appends is its last member); Go's tar reader, dockerd's, takes that as the end."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._count = 0
        self._tail: bytes | None = None

    @property
    def received(self) -> int:
        """How many bytes the client sent."""
        return self._count

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        if self._tail is None:
            data = self._stream.read(size)
            if data:
                self._count += len(data)
                buffer[:len(data)] = data
                return len(data)
            self._tail = bytes(-self._count % tarfile.BLOCKSIZE + 2 * tarfile.BLOCKSIZE)
        data, self._tail = self._tail[:size], self._tail[size:]
        buffer[:len(data)] = data
        return len(data)


def _unreadable_tar(exc: BaseException, received: int) -> str | None:
    """What dockerd's tar reader says of a context that is not a tar (less than a header:
    an unexpected EOF; a header that is not one: an invalid header), else None."""
    text = str(exc)
    if isinstance(exc, EOFError) or text == "unexpected end of data":
        return "unexpected EOF"
    if text in ("invalid header", "bad checksum", "empty header"):
        return ("unexpected EOF" if received < tarfile.BLOCKSIZE
                else "archive/tar: invalid tar header")
    return None


class BuildContext:
    def __init__(self, stream: BinaryIO, tmp_root: str) -> None:
        self.root = tempfile.mkdtemp(prefix="build-context-", dir=tmp_root)
        archive = _EndedArchive(stream)
        try:
            with tarfile.open(fileobj=io.BufferedReader(archive), mode="r|*") as tar:
                tar.extractall(self.root, filter=_context_filter)
        except (tarfile.TarError, OSError, EOFError) as exc:
            self.close()
            if isinstance(exc, OSError) and exc.errno in errors.DISK_ERRNOS:  # ours, not the tar
                raise errors.disk_failure(exc, "Error processing tar file") from exc
            unreadable = _unreadable_tar(exc, archive.received)
            if unreadable:  # no kind: dockerd answers a body that is no tar with a 500
                raise errors.EngineError(unreadable) from exc
            raise errors.InvalidParameter(f"invalid build context: {exc}") from exc

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def read_text(self, name: str) -> str | None:
        self._inside(name)  # refuses ../ names
        try:
            path = resolve_in_root(self.root, name)  # a linked Dockerfile is read in scope
            with open(path, encoding="utf-8") as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError):
            return None
        except OSError as exc:  # a link loop, say
            raise errors.InvalidParameter(f"cannot read {name} in the build context: "
                                          f"{exc.strerror or exc}") from exc

    def apply_ignore(self, is_excluded: object) -> None:
        """Remove what .dockerignore excludes, as dockerd does once it has read the
        Dockerfile and .dockerignore; a directory goes only if nothing in it is kept."""
        check = is_excluded  # a callable: relative path -> bool
        for root, dirs, files in os.walk(self.root, topdown=False):
            for name in files:
                full = os.path.join(root, name)
                if check(os.path.relpath(full, self.root)):  # type: ignore[operator]
                    os.unlink(full)
            for name in dirs:
                full = os.path.join(root, name)
                rel = os.path.relpath(full, self.root)
                if os.path.islink(full):
                    if check(rel):  # type: ignore[operator]
                        os.unlink(full)
                elif check(rel) and not os.listdir(full):  # type: ignore[operator]
                    os.rmdir(full)

    def _inside(self, rel: str) -> str:
        """The host path of context path ``rel``: its directories resolved inside the
        context (a link among them cannot lead out of it); the last element as it is, so
        that a link given as a source is copied as a link."""
        clean = os.path.normpath(rel.lstrip("/")) if rel.strip("/") else "."
        if clean == ".." or clean.startswith("../"):
            raise errors.InvalidParameter(f"forbidden path outside the build context: {rel}")
        if clean == ".":
            return self.root
        parent, name = os.path.split(clean)
        try:
            base = resolve_in_root(self.root, parent) if parent else self.root
        except OSError as exc:  # a link loop
            raise errors.InvalidParameter(f"{rel}: {exc.strerror or exc}") from exc
        return os.path.join(base, name)

    def select(self, pattern: str) -> list[str]:
        """Context-relative paths matching a COPY source (Docker: globs, no escapes)."""
        if globs.has_wildcards(pattern):
            found = list(globs.walk_matches(self.root, globs.source_pattern(pattern)))
            if not found:
                raise errors.InvalidParameter("COPY failed: no source files were specified")
            return found
        clean = os.path.normpath(pattern.lstrip("/")) if pattern not in ("", ".", "/") else "."
        if clean.startswith(".."):
            raise errors.InvalidParameter(f"forbidden path outside the build context: {pattern}")
        if clean == ".":
            return ["."]
        path = self._inside(clean)
        if not os.path.lexists(path):
            raise errors.InvalidParameter(
                f"COPY failed: file not found in build context or excluded by "
                f".dockerignore: stat {clean}: file does not exist")
        return [clean]

    def path(self, rel: str) -> str:
        return self._inside(rel)

    def source(self, rel: str) -> str:
        """The host path COPY reads for context path ``rel``: a link given as a source is
        followed inside the context, as dockerd follows it (the copy keeps its name);
        links inside a copied directory stay links."""
        path = self._inside(rel)
        if not os.path.islink(path):
            return path
        try:
            followed = resolve_in_root(self.root, os.path.relpath(path, self.root))
        except OSError as exc:  # a link loop
            raise errors.InvalidParameter(f"{rel}: {exc.strerror or exc}") from exc
        if not os.path.exists(followed):
            raise errors.InvalidParameter(
                f"COPY failed: file not found in build context or excluded by .dockerignore: "
                f"stat {rel}: file does not exist")
        return followed

    def checksum(self, rels: list[str]) -> str:
        """Content hash of the selected sources: names, modes and bytes (the cache key)."""
        digest = hashlib.sha256()
        for rel in rels:
            base = self.source(rel)
            walk = [(base, rel)]
            if os.path.isdir(base) and not os.path.islink(base):
                walk = []
                for root, dirs, files in os.walk(base):
                    dirs.sort()
                    for name in sorted(dirs + files):
                        full = os.path.join(root, name)
                        walk.append((full, os.path.relpath(full, self.root)))
            for full, sub in walk:
                st = os.lstat(full)
                digest.update(f"{sub}\0{st.st_mode:o}\0".encode())
                if os.path.islink(full):
                    digest.update(os.readlink(full).encode())
                elif os.path.isfile(full):
                    with open(full, "rb") as f:
                        for chunk in iter(lambda: f.read(1 << 20), b""):
                            digest.update(chunk)
        return digest.hexdigest()
