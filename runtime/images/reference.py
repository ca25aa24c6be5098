"""Docker image references: parse, normalise and print them as dockerd does.

The grammar is distribution's ``reference`` package: lowercase path components
joined by ``.``, ``_``, ``__`` or runs of ``-``; an optional registry domain (with
port) before the first ``/``; an optional ``:tag`` and ``@algo:hex`` digest. Names
are kept in full form (``docker.io/library/busybox``) and shown in familiar form
(``busybox``), because users type and read the latter while the store must not
confuse ``busybox`` with ``docker.io/library/busybox``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from cove.common.reference import (  # noqa: F401 - re-exported: the engine's names for them
    DEFAULT_DOMAIN,
    ID_RE,
    LEGACY_DEFAULT_DOMAIN,
    NAME_TOTAL_LENGTH_MAX,
    OFFICIAL_REPO_PREFIX,
    REFERENCE_RE,
    TAG_RE,
    split_docker_domain,
)

from ..errors import InvalidParameter

DEFAULT_TAG = "latest"

INVALID_FORMAT = "invalid reference format"
MUST_BE_LOWERCASE = "invalid reference format: repository name must be lowercase"


@dataclass(frozen=True)
class Reference:
    """A normalised reference; ``domain``/``path`` are never empty after ``parse``."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The full repository name, as the store keys it: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The name users see: ``busybox``, ``user/app``, ``localhost:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX) and "/" not in self.path[len(OFFICIAL_REPO_PREFIX):]:
            return self.path[len(OFFICIAL_REPO_PREFIX):]
        return self.path

    def __str__(self) -> str:
        text = self.familiar_name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def full(self) -> str:
        """Like ``str`` but with the full name (what registries and containerd print)."""
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def with_default_tag(self) -> Reference:
        """Name-only references mean ``:latest`` (distribution's ``TagNameOnly``)."""
        if self.tag is None and self.digest is None:
            return replace(self, tag=DEFAULT_TAG)
        return self

    def with_tag(self, tag: str) -> Reference:
        if not TAG_RE.match(tag):
            raise InvalidParameter(INVALID_FORMAT)
        return replace(self, tag=tag, digest=None)

    def name_only(self) -> Reference:
        return replace(self, tag=None, digest=None)


def parse(ref: str) -> Reference:
    """Parse and normalise ``ref`` (``ParseNormalizedNamed``); raise ``InvalidParameter``
    with dockerd's wording when it is not a valid reference."""
    if ID_RE.match(ref):
        raise InvalidParameter(
            f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings"
        )
    match = REFERENCE_RE.match(ref)
    if match is None:
        if ref and REFERENCE_RE.match(ref.lower()):
            raise InvalidParameter(MUST_BE_LOWERCASE)
        raise InvalidParameter(INVALID_FORMAT)
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidParameter(
            f"{INVALID_FORMAT}: repository name must not be more than "
            f"{NAME_TOTAL_LENGTH_MAX} characters"
        )
    domain, path = split_docker_domain(name)
    if path.lower() != path:
        raise InvalidParameter(MUST_BE_LOWERCASE)
    if digest is not None and not digest.startswith("sha256:"):
        raise InvalidParameter(f"{INVALID_FORMAT}: unsupported digest algorithm")
    if digest is not None and len(digest) != len("sha256:") + 64:
        raise InvalidParameter(f"{INVALID_FORMAT}: invalid checksum digest length")
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def is_image_id_prefix(image_id: str, candidate: str) -> bool:
    """moby's ``isImageIDPrefix``: was the image named by (a prefix of) its ID?"""
    if not candidate:
        return False
    return image_id.startswith(candidate) or image_id.partition(":")[2].startswith(candidate)


def path_match(pattern: str, name: str) -> bool:
    """Go's ``path.Match``: ``*`` and ``?`` never cross ``/``; ``[^...]`` negates."""
    return re.fullmatch(_glob_to_regex(pattern), name, flags=re.DOTALL) is not None


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i + 1 >= len(pattern):
                raise InvalidParameter("syntax error in pattern")
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1: i + 2] in ("^", "]") else i + 1)
            if end == -1:
                raise InvalidParameter("syntax error in pattern")
            body = pattern[i + 1: end]
            negate = body.startswith("^")
            if negate:
                body = body[1:]
            if not body:
                raise InvalidParameter("syntax error in pattern")
            escaped = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"[{'^/' if negate else ''}{escaped}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def familiar_match(pattern: str, ref: Reference) -> bool:
    """distribution's ``FamiliarMatch``: match ``name:tag`` first, then the bare name."""
    return path_match(pattern, str(ref)) or path_match(pattern, ref.familiar_name)
