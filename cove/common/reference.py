"""Docker's image-reference grammar (distribution's ``reference`` package), once.

Lowercase path components joined by ``.``, ``_``, ``__`` or runs of ``-``; an optional
registry domain (with port) before the first ``/``; an optional ``:tag`` and
``@algo:hex`` digest. The engine (``runtime/images/reference.py``) and the CLI
(``desktop/client/reference.py``) build their ``Reference`` types and their error
wording (dockerd's and the docker CLI's differ) on these.
"""

from __future__ import annotations

import re

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
