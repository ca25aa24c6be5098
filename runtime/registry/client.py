"""HTTP to one registry: scheme choice, timeouts, the auth handshake, error mapping.

A ``Registry`` is one host as the daemon reaches it. HTTPS with verification by
default; an insecure registry (config.py) is tried over HTTPS without verification
and then plain HTTP, as dockerd does. Every request carries the configured
(connect, read) timeouts, so a registry that hangs fails the pull instead of
hanging it. ``requests`` errors are translated here, keeping their cause.

On a 401 the challenge decides: Basic sends the credentials, Bearer fetches a token
for the scopes asked for (anonymous when there are no credentials) and retries
once; a second 401 with a fresh token is an error, never a loop.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
import urllib3

from cove.common.reference import DEFAULT_DOMAIN, INDEX_SERVER

from ..errors import (
    EngineError,
    Forbidden,
    InvalidParameter,
    NotFound,
    SystemError_,
    Unauthorized,
    Unavailable,
)
from ..images.reference import Reference
from .auth import AuthConfig, Challenge, TokenCache, parse_challenges
from .config import RegistryConfig

log = logging.getLogger("coved.registry")
T = TypeVar("T")

DOCKER_HUB_HOST = "registry-1.docker.io"
USER_AGENT = "cove/0.1 (docker-compatible)"
MAX_ERROR_BODY = 64 << 10

TOKENS = TokenCache()
_schemes: dict[str, str] = {}  # host -> "https"/"http" that answered
_schemes_lock = threading.Lock()


@dataclass(frozen=True)
class Endpoint:
    """Where a repository is fetched from: ``url`` (scheme+host) and the path there."""

    base: str | None  # "http://127.0.0.1:5000" when the scheme is fixed (mirrors)
    host: str
    path: str
    mirror: bool = False


def registry_host(domain: str) -> str:
    return DOCKER_HUB_HOST if domain in (DEFAULT_DOMAIN, "index.docker.io") else domain


def endpoints(ref: Reference, config: RegistryConfig, push: bool = False) -> list[Endpoint]:
    """Mirrors first for Docker Hub pulls, then the registry itself (dockerd's order)."""
    found: list[Endpoint] = []
    if ref.domain == DEFAULT_DOMAIN and not push:
        for mirror in config.mirrors:
            host = mirror.split("://", 1)[1].split("/", 1)[0]
            found.append(Endpoint(mirror, host, ref.path, mirror=True))
    found.append(Endpoint(None, registry_host(ref.domain), ref.path))
    return found


def first_answer(ref: Reference, config: RegistryConfig, auth: AuthConfig,
                 attempt: Callable[[Endpoint, AuthConfig], T]) -> T:
    """``attempt`` at each endpoint in turn (mirrors, anonymously, then the registry): a
    mirror that fails is passed over, the registry's own failure is the answer."""
    last: EngineError | None = None
    for endpoint in endpoints(ref, config):
        try:
            return attempt(endpoint, AuthConfig() if endpoint.mirror else auth)
        except EngineError as exc:
            if not endpoint.mirror:
                raise
            log.info("mirror %s failed for %s: %s; trying the next endpoint",
                     endpoint.base, ref, exc.message)
            last = exc
    assert last is not None
    raise last


def normalise_server(address: str) -> str:
    """A login ``serveraddress`` (``https://index.docker.io/v1/``, ``host:port``) -> host."""
    text = address.strip() or INDEX_SERVER
    if "://" in text:
        text = text.split("://", 1)[1]
    host = text.split("/", 1)[0]
    return registry_host(host if host not in ("index.docker.io",) else DEFAULT_DOMAIN)


class RegistryError(EngineError):
    """An error answer of a registry: ``registry_status`` is the status the registry sent,
    ``code`` the code in its JSON body when it sent one. The subclasses give the kind."""

    def __init__(self, message: str, registry_status: int, code: str = "") -> None:
        super().__init__(message)
        self.registry_status = registry_status
        self.code = code


class RegistryBadRequest(RegistryError, InvalidParameter):
    pass


class RegistryUnauthorized(RegistryError, Unauthorized):
    pass


class RegistryForbidden(RegistryError, Forbidden):
    pass


class RegistryNotFound(RegistryError, NotFound):
    pass


class RegistryFailed(RegistryError, SystemError_):
    """The registry failed (5xx) or answered nonsense: the engine could not do the work."""


_KIND_BY_STATUS: dict[int, type[RegistryError]] = {
    400: RegistryBadRequest, 401: RegistryUnauthorized, 403: RegistryForbidden,
    404: RegistryNotFound,
}


def registry_error(message: str, registry_status: int, code: str = "") -> RegistryError:
    """The registry's answer as the engine's error of the matching kind."""
    kind = _KIND_BY_STATUS.get(registry_status, RegistryFailed)
    return kind(message, registry_status, code)


def _error_body(resp: requests.Response) -> bytes:
    """At most ``MAX_ERROR_BODY`` bytes of an error answer (streamed or not)."""
    if getattr(resp, "_content_consumed", True) and resp._content is not False:  # noqa: SLF001
        return (resp._content or b"")[:MAX_ERROR_BODY]  # noqa: SLF001
    try:
        return resp.raw.read(MAX_ERROR_BODY, decode_content=True) or b""
    except Exception:  # noqa: BLE001 - an unreadable error body is just an empty one
        return b""
    finally:
        resp.close()


def _error_text(resp: requests.Response) -> tuple[str, str]:
    try:
        body = json.loads(_error_body(resp))
        first = (body.get("errors") or [{}])[0]
        code = str(first.get("code", "")).lower().replace("_", " ")
        message = str(first.get("message", "")) or code
        return first.get("code", ""), (f"{code}: {message}" if code else message)
    except (ValueError, AttributeError, IndexError, TypeError):
        return "", f"{resp.status_code} {resp.reason}"


class Registry:
    """One registry host for one operation; safe to share between download threads."""

    def __init__(self, host: str, config: RegistryConfig, auth: AuthConfig | None = None,
                 base: str | None = None) -> None:
        self.host = host
        self.config = config
        self.auth = auth or AuthConfig()
        self._base = base
        self.insecure = config.is_insecure(host)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=8)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.verify = not self.insecure
        self._challenge: Challenge | None = None
        self._pinged = False
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.config.connect_timeout, self.config.read_timeout)

    # transport ------------------------------------------------------------
    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                return self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            raise Unavailable(f'{method.title()} "{url}": net/http: request canceled '
                              f"(Client.Timeout exceeded while awaiting headers)") from exc
        except requests.RequestException as exc:
            host = urllib3.util.parse_url(url).host or url
            raise Unavailable(f'{method.title()} "{url}": {_short(exc, host)}') from exc

    def base(self) -> str:
        if self._base is None:
            self.ping()
        assert self._base is not None
        return self._base

    def _probe(self) -> requests.Response:
        """GET /v2/ on the scheme that answers: https, then (insecure only) http."""
        if self._base is None:
            with _schemes_lock:
                known = _schemes.get(self.host)
            if known:
                self._base = f"{known}://{self.host}"
        if self._base is not None:
            return self._send("GET", f"{self._base}/v2/")
        last: Exception | None = None
        for scheme in ["https", "http"] if self.insecure else ["https"]:
            try:
                resp = self._send("GET", f"{scheme}://{self.host}/v2/")
            except Unavailable as exc:
                last = exc
                continue
            with _schemes_lock:
                _schemes[self.host] = scheme
            self._base = f"{scheme}://{self.host}"
            return resp
        assert last is not None
        raise last

    def ping(self) -> requests.Response:
        """GET /v2/ without credentials: learns the auth challenge (dockerd's ping)."""
        resp = self._probe()
        url = f"{self._base}/v2/"
        if resp.status_code == 401:
            challenges = parse_challenges(resp.headers.get("WWW-Authenticate", "").split("\n"))
            self._challenge = next((c for c in challenges if c.scheme == "bearer"),
                                   challenges[0] if challenges else None)
        elif resp.status_code >= 400 and resp.status_code != 404:
            raise Unavailable(f'Get "{url}": {resp.status_code} {resp.reason}')
        self._pinged = True
        return resp

    # auth -----------------------------------------------------------------
    def _token(self, challenge: Challenge, scopes: tuple[str, ...], fresh: bool) -> str:
        user = self.auth.username or ""
        if not fresh:
            cached = TOKENS.get(self.host, scopes, user)
            if cached:
                return cached
        realm = challenge.params.get("realm")
        if not realm:
            raise Unauthorized(f"{self.host}: bearer challenge without a realm")
        params: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            params.append(("service", challenge.params["service"]))
        params += [("scope", s) for s in scopes]
        auth = None
        if self.auth.registrytoken:
            return self.auth.registrytoken
        if self.auth.username or self.auth.password:
            auth = (self.auth.username, self.auth.password)
            params.append(("account", self.auth.username))
        if self.auth.identitytoken:
            resp = self._send("POST", realm, data={
                "grant_type": "refresh_token", "refresh_token": self.auth.identitytoken,
                "service": challenge.params.get("service", ""), "scope": " ".join(scopes),
                "client_id": "cove"})
        else:
            resp = self._send("GET", realm, params=params, auth=auth)
        if resp.status_code != 200:
            _, text = _error_text(resp)
            raise Unauthorized(f'Get "{resp.url}": {text}' if text else
                               f'Get "{resp.url}": unauthorized')
        try:
            body = resp.json()
        except ValueError as exc:
            raise Unauthorized(f"{realm}: token server answered with invalid JSON") from exc
        token = body.get("token") or body.get("access_token")
        if not token:
            raise Unauthorized(f"{realm}: token server answered without a token")
        TOKENS.put(self.host, scopes, user, token, body.get("expires_in"))
        return str(token)

    def _authorize(self, headers: dict[str, str], scopes: tuple[str, ...], fresh: bool) -> None:
        challenge = self._challenge
        if challenge is None:
            return
        if challenge.scheme == "basic":
            if not self.auth.empty:
                import base64
                raw = f"{self.auth.username}:{self.auth.password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif challenge.scheme == "bearer":
            headers["Authorization"] = "Bearer " + self._token(challenge, scopes, fresh)

    def request(self, method: str, path: str, scopes: Iterable[str] = (),
                headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """One request to ``/v2/...`` (or an absolute upload URL), authorised for ``scopes``."""
        with self._lock:
            if not self._pinged:
                self.ping()
        scope_key = tuple(sorted(set(scopes)))
        url = path if path.startswith(("http://", "https://")) else f"{self.base()}{path}"
        for attempt in range(2):
            hdrs = dict(headers or {})
            self._authorize(hdrs, scope_key, fresh=attempt > 0)
            body: Any = kwargs.get("data")
            if attempt and hasattr(body, "seek"):
                body.seek(0)
            resp = self._send(method, url, headers=hdrs, **kwargs)
            if resp.status_code != 401:
                return resp
            challenges = parse_challenges(resp.headers.get("WWW-Authenticate", "").split("\n"))
            if not challenges:
                break
            new = next((c for c in challenges if c.scheme == "bearer"), challenges[0])
            if attempt == 0 and (self._challenge is None or new.scheme != self._challenge.scheme
                                 or new.scheme == "bearer"):
                if new.scheme == "bearer" and new.params.get("scope"):
                    scope_key = tuple(sorted(set(scope_key) | set(
                        new.params["scope"].split(" "))))
                self._challenge = new
                TOKENS.drop(self.host, scope_key, self.auth.username)
                continue
            break
        code, text = _error_text(resp)
        raise Unauthorized(text if code else "unauthorized: authentication required")

    def check(self, resp: requests.Response, what: str, allowed: tuple[int, ...] = (200,)) -> None:
        """Raise the registry's error (NotFound, Unauthorized, ...) for an unexpected status."""
        if resp.status_code in allowed:
            return
        code, text = _error_text(resp)
        if resp.status_code == 404:
            raise registry_error(text or f"{what}: not found", 404, code)
        if resp.status_code in (401, 403):
            raise registry_error(text or "denied: requested access to the resource is denied",
                                 resp.status_code, code)
        raise registry_error(f"{what}: {text}", resp.status_code, code)


def _short(exc: BaseException, host: str = "") -> str:
    """The innermost cause of a requests error: 'connection refused', not a repr chain. A
    name that does not resolve reads as dockerd says it, and says plainly why it matters."""
    text = str(exc)
    if "Name or service not known" in text or "Temporary failure in name resolution" in text:
        return (f"dial tcp: lookup {host}: no such host (the engine's host cannot resolve "
                f"{host}: it has no network or no DNS)")
    for marker in ("Connection refused", "timed out", "certificate verify failed",
                   "Connection reset"):
        if marker in text:
            return marker.lower()
    return text[:300]
