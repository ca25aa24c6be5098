"""Image references as the docker CLI normalises them (distribution/reference's grammar).

The CLI parses a reference before it talks to the daemon: ``busybox`` becomes
``docker.io/library/busybox:latest``, the registry host decides which stored credentials
go in ``X-Registry-Auth``, and a bad reference fails locally with docker's own text.
The grammar is shared with the engine through ``cove.common.reference``; the
``Reference`` type and docker CLI's error wording are the client's own.
"""

from __future__ import annotations

from cove.common.reference import (  # noqa: F401 - re-exported for the CLI's modules
    DEFAULT_DOMAIN,
    ID_RE,
    INDEX_SERVER,
    NAME_TOTAL_LENGTH_MAX,
    OFFICIAL_REPO_PREFIX,
    REFERENCE_RE,
    convert_to_hostname,
    split_docker_domain,
)

_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


class InvalidReference(ValueError):
    """A reference docker's CLI would refuse; ``str()`` is docker's message."""


class Reference:
    """A normalised reference: ``domain``/``path``, optional ``tag`` and ``digest``."""

    __slots__ = ("domain", "path", "tag", "digest")

    def __init__(self, domain: str, path: str, tag: str | None = None,
                 digest: str | None = None) -> None:
        self.domain, self.path, self.tag, self.digest = domain, path, tag, digest

    @property
    def name(self) -> str:
        """``docker.io/library/busybox``: what the API's ``fromImage`` carries."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """``busybox`` for official images, ``user/x`` on Hub, else the full name."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_REPO_PREFIX) and path.count("/") == 1:
            return path[len(OFFICIAL_REPO_PREFIX):]
        return path

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def familiar(self) -> str:
        return self.familiar_name + self._suffix()

    def __str__(self) -> str:
        return self.name + self._suffix()

    def __repr__(self) -> str:
        return f"Reference({str(self)!r})"

    @property
    def name_only(self) -> bool:
        return self.tag is None and self.digest is None

    def with_default_tag(self) -> Reference:
        """``TagNameOnly``: ``latest`` when neither tag nor digest is given."""
        if self.name_only:
            return Reference(self.domain, self.path, "latest")
        return self

    @property
    def api_tag(self) -> str:
        """The ``tag`` query value: the digest if there is one, else the tag, else latest."""
        return self.digest or self.tag or "latest"

    @property
    def index_name(self) -> str:
        """The registry's name as config.json keys it (Docker Hub: ``INDEX_SERVER``)."""
        return INDEX_SERVER if self.domain == DEFAULT_DOMAIN else self.domain


def _parse(text: str) -> Reference:
    match = REFERENCE_RE.match(text)
    if match is None:
        if not text:
            raise InvalidReference("invalid reference format: repository name must have at "
                                   "least one component")
        if REFERENCE_RE.match(text.lower()):
            raise InvalidReference("invalid reference format: repository name must be lowercase")
        raise InvalidReference("invalid reference format")
    name, tag, digest = match.groups()
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference("invalid reference format: repository name must not be more "
                               f"than {NAME_TOTAL_LENGTH_MAX} characters")
    if digest:
        algorithm, _, hex_part = digest.partition(":")
        expected = _DIGEST_LENGTHS.get(algorithm)
        if expected is None:
            raise InvalidReference("unsupported digest algorithm")
        if len(hex_part) != expected:
            raise InvalidReference("invalid checksum digest length")
    domain, _, path = name.partition("/")
    return Reference(domain, path, tag, digest)


def parse_normalized(text: str) -> Reference:
    """``ParseNormalizedNamed``: the fully qualified reference of what a user typed."""
    if ID_RE.match(text):
        raise InvalidReference(f"invalid repository name ({text}), cannot specify 64-byte "
                               "hexadecimal strings")
    domain, remainder = split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(f"invalid reference format: repository name ({remote}) must be "
                               "lowercase")
    return _parse(f"{domain}/{remainder}")

