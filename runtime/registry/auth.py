"""Registry credentials and the v2 auth handshake (pure parts; HTTP lives in client.py).

- AuthConfig: the credentials a client sent (the API decodes its headers into JSON
  objects); a build gets every login the client has, and ``resolve_auth`` picks the one
  for a registry.
- ``WWW-Authenticate``: a registry's 401 names a scheme (Bearer or Basic) and, for
  Bearer, the token server (``realm``), ``service`` and ``scope``.
- Tokens are cached per (registry, scope set, user) until shortly before expiry, so
  a pull of many layers asks the token server once.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from cove.common.reference import INDEX_SERVER, convert_to_hostname

TOKEN_MIN_LIFETIME = 60  # seconds, the spec's default when expires_in is absent


@dataclass(frozen=True)
class AuthConfig:
    username: str = ""
    password: str = ""
    serveraddress: str = ""
    identitytoken: str = ""
    registrytoken: str = ""

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identitytoken or self.registrytoken)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> AuthConfig:
        lowered = {str(k).lower(): v for k, v in data.items()}
        return cls(**{name: str(lowered.get(name) or "") for name in
                      ("username", "password", "serveraddress", "identitytoken",
                       "registrytoken")})


def resolve_auth(configs: dict[str, AuthConfig], domain: str) -> AuthConfig:
    """dockerd's ``ResolveAuthConfig``: the exact key, else a key with the same host.

    Docker Hub's credentials are keyed ``https://index.docker.io/v1/``.
    """
    key = INDEX_SERVER if domain in ("docker.io", "index.docker.io") else domain
    if key in configs:
        return configs[key]
    for server, auth in configs.items():
        if convert_to_hostname(server) == key:
            return auth
    return AuthConfig()


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lowercased: "bearer" or "basic"
    params: dict[str, str]


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM_RE = re.compile(rf"\s*({_TOKEN})\s*=\s*(\"(?:[^\"\\]|\\.)*\"|{_TOKEN})\s*,?")
_SCHEME_RE = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


def parse_challenges(headers: list[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` values: ``Bearer realm="...",service="...",scope="..."``.

    Several challenges may share one header (``Basic realm="x", Bearer realm="y"``):
    a token followed by whitespace and not by ``=`` starts a new one."""
    challenges: list[Challenge] = []
    for header in headers:
        pos = 0
        while pos < len(header):
            m = _SCHEME_RE.match(header, pos)
            if m is None or header[m.end():m.end() + 1] == "=":
                break
            scheme, pos = m.group(1).lower(), m.end()
            params: dict[str, str] = {}
            while pos < len(header):
                p = _PARAM_RE.match(header, pos)
                if p is None:
                    break
                after = header[p.end():].lstrip()
                value = p.group(2)
                if value.startswith('"'):
                    value = re.sub(r"\\(.)", r"\1", value[1:-1])
                params[p.group(1).lower()] = value
                pos = p.end()
                if after and _SCHEME_RE.match(after) and not _PARAM_RE.match(after):
                    break
            challenges.append(Challenge(scheme, params))
            while pos < len(header) and header[pos] in " ,":
                pos += 1
    return challenges


def repository_scope(path: str, push: bool = False) -> str:
    return f"repository:{path}:{'pull,push' if push else 'pull'}"


class TokenCache:
    """Bearer tokens by (registry, scopes, user); thread-safe, expiring early."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, tuple[str, ...], str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, registry: str, scopes: tuple[str, ...], user: str) -> str | None:
        with self._lock:
            entry = self._tokens.get((registry, scopes, user))
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, registry: str, scopes: tuple[str, ...], user: str, token: str,
            expires_in: float | None) -> None:
        lifetime = max(float(expires_in or TOKEN_MIN_LIFETIME), TOKEN_MIN_LIFETIME)
        with self._lock:
            self._tokens[(registry, scopes, user)] = (token, time.monotonic() + lifetime - 10)

    def drop(self, registry: str, scopes: tuple[str, ...], user: str) -> None:
        with self._lock:
            self._tokens.pop((registry, scopes, user), None)
