"""Reading the image a stage has made so far, straight from its layer directories.

A path is found in the topmost layer holding it unless a layer above deleted it (a
``.wh.`` whiteout); ``--chown`` names are looked up in the image's passwd and group.
"""

from __future__ import annotations

import errno
import os
import posixpath

from cove.common.paths import follow_links
from cove.runtime import errors
from cove.runtime.build.copy import Owner


def lookup(layers: list[str], path: str) -> str | None:
    """The host path of ``path`` in the topmost of ``layers`` holding it (None when no
    layer does, or a layer above deleted it)."""
    rel = path.strip("/")
    if not rel:
        return "/"
    for layer in layers:
        full = posixpath.join(layer, rel)
        if posixpath.lexists(full):
            return full
        parent, name = posixpath.split(full)
        if posixpath.lexists(posixpath.join(parent, ".wh." + name)):
            return None
    return None


def resolve(layers: list[str], path: str, max_links: int = 40) -> str:
    """``path`` with its links followed inside the image (absolute targets and ``..``
    stay in it), as dockerd resolves a COPY destination in the container's root: the
    last element too, so a file copied onto a link is written where the link points."""
    def read_link(relative: str) -> str | None:
        found = lookup(layers, relative)
        return os.readlink(found) if found is not None and posixpath.islink(found) else None

    try:
        return "/" + "/".join(follow_links(path, read_link, max_links))
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise errors.InvalidParameter(f"{path}: too many levels of symbolic links") from exc


def stat(layers: list[str], path: str) -> os.stat_result | None:
    """The path's own stat in the image (a link's, not its target's), or None."""
    found = lookup(layers, path)
    if found is None or found == "/":
        return None
    return os.lstat(found)


def exists(layers: list[str], path: str) -> bool:
    return lookup(layers, path) is not None


def is_dir(layers: list[str], path: str) -> bool:
    found = lookup(layers, path)
    return found is not None and posixpath.isdir(found)


def owner(layers: list[str], spec: str | None) -> Owner:
    """``--chown=user:group`` as numeric IDs, names resolved in the image's own files."""
    if not spec:
        return Owner()
    user, _, group = spec.partition(":")

    def numeric(name: str, table: str) -> int:
        if name.isdigit():
            return int(name)
        for layer in layers:
            try:
                with open(posixpath.join(layer, "etc", table)) as f:
                    for line in f:
                        fields = line.strip().split(":")
                        if fields and fields[0] == name and len(fields) > 2:
                            return int(fields[2])
            except OSError:
                continue
        raise errors.InvalidParameter(f"unable to convert uid/gid chown string to host mapping: "
                                      f"no such user or group: {name}")

    uid = numeric(user, "passwd")
    gid = numeric(group, "group") if group else uid
    return Owner(uid, gid)
