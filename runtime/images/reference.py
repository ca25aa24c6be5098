"""The engine's image references: parsed with dockerd's wording, shown in familiar form.

The grammar and the ``Reference`` value are ``cove.common.reference``'s; dockerd's
messages differ from the docker CLI's, and dockerd prints ``busybox:latest`` where
distribution prints ``docker.io/library/busybox:latest``.
"""

from __future__ import annotations

import re

from cove.common import reference as common
from cove.common.reference import (
    ID_RE,
    NAME_TOTAL_LENGTH_MAX,
    REFERENCE_RE,
    TAG_RE,
    split_docker_domain,
)

from ..errors import InvalidParameter

INVALID_FORMAT = "invalid reference format"
MUST_BE_LOWERCASE = "invalid reference format: repository name must be lowercase"


class Reference(common.Reference):
    """A reference as the engine shows it: ``str()`` is the familiar form."""

    __slots__ = ()

    def __str__(self) -> str:
        return self.familiar

    def with_tag(self, tag: str) -> Reference:
        if not TAG_RE.match(tag):
            raise InvalidParameter(INVALID_FORMAT)
        return Reference(self.domain, self.path, tag)


def parse(ref: str) -> Reference:
    """Parse and normalise ``ref`` (``ParseNormalizedNamed``); raise ``InvalidParameter``
    with dockerd's wording when it is not a valid reference."""
    if ID_RE.match(ref):
        raise InvalidParameter(
            f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings"
        )
    _domain, remainder = split_docker_domain(ref)
    if remainder.split(":", 1)[0].lower() != remainder.split(":", 1)[0]:
        raise InvalidParameter(MUST_BE_LOWERCASE)  # checked first, as ParseNormalizedNamed does
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
    return Reference(domain, path, tag, digest)


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
