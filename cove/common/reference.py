"""Docker's image-reference grammar (distribution's ``reference`` package), once.

Lowercase path components joined by ``.``, ``_``, ``__`` or runs of ``-``; an optional
registry domain (with port) before the first ``/``; an optional ``:tag`` and
``@algo:hex`` digest. Names are kept in full form (``docker.io/library/busybox``) and
shown in familiar form (``busybox``): users type and read the latter, while a store or a
registry must not confuse ``busybox`` with ``docker.io/library/busybox``.

``parse_normalized`` words its errors as distribution does (what the docker CLI prints);
the engine (``runtime/images/reference.py``) parses with dockerd's wording and shows its
references in familiar form.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Self

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
INDEX_SERVER = "https://index.docker.io/v1/"
"""The key Docker Hub credentials are stored under in config.json and sent under."""
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[[a-fA-F0-9:]+\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
TAG_RE = re.compile(rf"^{_TAG}$")
ID_RE = re.compile(r"^[a-f0-9]{64}$")
DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
"""Hex digits of each digest algorithm distribution knows."""


class InvalidReference(ValueError):
    """A reference the grammar refuses; ``str()`` is distribution's message."""


class Reference:
    """A normalised reference: ``domain``/``path``, optional ``tag`` and ``digest``.

    A value: compared and hashed by its parts. ``str()`` is the full form, as
    distribution's ``String()``.
    """

    __slots__ = ("domain", "path", "tag", "digest")

    def __init__(self, domain: str, path: str, tag: str | None = None,
                 digest: str | None = None) -> None:
        self.domain, self.path, self.tag, self.digest = domain, path, tag, digest

    @property
    def name(self) -> str:
        """The full repository name: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The name users see: ``busybox``, ``user/app``, ``localhost:5000/x``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        short = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
        return short if short != self.path and "/" not in short else self.path

    @property
    def suffix(self) -> str:
        """``:tag``, ``@digest``, both or nothing."""
        return (f":{self.tag}" if self.tag is not None else "") + (
            f"@{self.digest}" if self.digest is not None else "")

    @property
    def full(self) -> str:
        """``docker.io/library/busybox:latest``: what registries and the API carry."""
        return self.name + self.suffix

    @property
    def familiar(self) -> str:
        """``busybox:latest``: what docker prints."""
        return self.familiar_name + self.suffix

    @property
    def name_only(self) -> bool:
        return self.tag is None and self.digest is None

    def with_default_tag(self) -> Self:
        """Name-only references mean ``:latest`` (distribution's ``TagNameOnly``)."""
        if self.name_only:
            return type(self)(self.domain, self.path, "latest")
        return self

    @property
    def api_tag(self) -> str:
        """The API's ``tag`` query value: the digest if there is one, else the tag, else latest."""
        return self.digest or self.tag or "latest"

    @property
    def index_name(self) -> str:
        """The registry's name as config.json keys it (Docker Hub: ``INDEX_SERVER``)."""
        return INDEX_SERVER if self.domain == DEFAULT_DOMAIN else self.domain

    def _parts(self) -> tuple[str, str, str | None, str | None]:
        return self.domain, self.path, self.tag, self.digest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reference) or type(other) is not type(self):
            return NotImplemented
        return self._parts() == other._parts()

    def __hash__(self) -> int:
        return hash(self._parts())

    def __str__(self) -> str:
        return self.full

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.full!r})"


def split_docker_domain(name: str) -> tuple[str, str]:
    """distribution's ``splitDockerDomain``: the first component is a domain only if it
    looks like one (has ``.`` or ``:``, is ``localhost``, or has uppercase); Docker Hub
    names gain ``library/``."""
    first, sep, rest = name.partition("/")
    if not sep or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def convert_to_hostname(url: str) -> str:
    """``https://host:5000/v1/`` -> ``host:5000``: how config.json keys are compared."""
    stripped = url
    for scheme in ("http://", "https://"):
        if stripped.startswith(scheme):
            stripped = stripped[len(scheme):]
            break
    return stripped.split("/", 1)[0]


def parse_normalized(text: str) -> Reference:
    """distribution's ``ParseNormalizedNamed``: the fully qualified reference of what a
    user typed, or ``InvalidReference`` with distribution's message."""
    if ID_RE.match(text):
        raise InvalidReference(f"invalid repository name ({text}), cannot specify 64-byte "
                               "hexadecimal strings")
    domain, remainder = split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(f"invalid reference format: repository name ({remote}) must be "
                               "lowercase")
    qualified = f"{domain}/{remainder}"
    match = REFERENCE_RE.match(qualified)
    if match is None:
        if REFERENCE_RE.match(qualified.lower()):
            raise InvalidReference("invalid reference format: repository name must be lowercase")
        raise InvalidReference("invalid reference format")
    name, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference("invalid reference format: repository name must not be more "
                               f"than {NAME_TOTAL_LENGTH_MAX} characters")
    if digest:
        algorithm, _, hex_part = digest.partition(":")
        expected = DIGEST_LENGTHS.get(algorithm)
        if expected is None:
            raise InvalidReference("unsupported digest algorithm")
        if len(hex_part) != expected:
            raise InvalidReference("invalid checksum digest length")
    domain, _, path = name.partition("/")
    return Reference(domain, path, tag, digest)
