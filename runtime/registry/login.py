"""``POST /auth`` (docker login) and ``GET /distribution/{name}/json``.

Login checks the credentials the way dockerd does: ping ``/v2/``; a Basic
challenge is answered with the credentials on ``/v2/``, a Bearer one by asking the
token server for a token without scopes. Nothing is stored by the daemon: the
client keeps the credentials (config.json, credential helpers).
"""

from __future__ import annotations

from typing import Any

from ..errors import Unauthorized
from ..images.reference import Reference
from . import manifests as mf
from .auth import AuthConfig, repository_scope
from .client import Endpoint, Registry, first_answer, normalise_server
from .config import RegistryConfig
from .pull import access_denied, fetch_manifest


def login(config: RegistryConfig, auth: AuthConfig) -> dict[str, str]:
    host = normalise_server(auth.serveraddress)
    reg = Registry(host, config, auth)
    try:
        reg.ping()
        challenge = reg._challenge  # noqa: SLF001 - the ping's own result
        url = f"{reg.base()}/v2/"
        if challenge is None:
            return {"Status": "Login Succeeded", "IdentityToken": ""}
        if challenge.scheme == "bearer":
            reg._token(challenge, (), fresh=True)  # noqa: SLF001 - raises Unauthorized
            return {"Status": "Login Succeeded", "IdentityToken": ""}
        resp = reg._send("GET", url, auth=(auth.username, auth.password))  # noqa: SLF001
        if resp.status_code == 401:
            raise Unauthorized(f"login attempt to {url} failed with status: 401 Unauthorized")
        reg.check(resp, "login")
        return {"Status": "Login Succeeded", "IdentityToken": ""}
    finally:
        reg.close()


def _platform_of(config: dict[str, Any]) -> dict[str, Any]:
    platform = {"architecture": config.get("architecture", ""), "os": config.get("os", "")}
    if config.get("variant"):
        platform["variant"] = config["variant"]
    return platform


def distribution_inspect(config: RegistryConfig, ref: Reference,
                         auth: AuthConfig) -> dict[str, Any]:
    """The manifest a reference points at, as a descriptor, and the platforms it offers;
    asked of the registry mirrors first for Docker Hub names, as a pull asks them."""
    ref = ref.with_default_tag()
    return first_answer(ref, config, auth,
                        lambda endpoint, credentials: _inspect_at(config, endpoint, ref,
                                                                  credentials))


def _inspect_at(config: RegistryConfig, endpoint: Endpoint, ref: Reference,
                auth: AuthConfig) -> dict[str, Any]:
    reg = Registry(endpoint.host, config, auth, base=endpoint.base)
    try:
        scopes = (repository_scope(endpoint.path),)
        data, body, media = fetch_manifest(reg, endpoint.path, ref.digest or str(ref.tag), ref,
                                           scopes)
        descriptor = {"mediaType": media, "digest": mf.digest_of(data), "size": len(data)}
        if media in mf.INDEX_TYPES:
            platforms = [m.get("platform") or {} for m in body.get("manifests") or []
                         if (m.get("platform") or {}).get("os") != "unknown"]
        else:
            manifest = mf.parse_image_manifest(body, media)
            from .pull import fetch_config

            image_config = mf.load_json(fetch_config(reg, endpoint.path, manifest.config),
                                        "image config")
            platforms = [_platform_of(image_config)]
        return {"Descriptor": descriptor, "Platforms": platforms}
    except Unauthorized as exc:
        raise access_denied(ref, exc.message) from exc
    finally:
        reg.close()
