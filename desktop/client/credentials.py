"""Registry credentials in docker's ``config.json`` format, so logins made with docker work.

Two files are read, as podman reads its auth.json and then docker's file:

- Cove's own ``config.json`` in ``cove_config_dir()`` (``$COVE_CONFIG``, else the platform's
  user config directory from platformdirs). ``cove login`` writes here, so cove never
  rewrites a file docker owns.
- docker's ``$DOCKER_CONFIG/config.json`` (else ``~/.docker/config.json``), read only: a
  registry the user logged in to with docker needs no second login.

The pieces, as in docker's CLI:

- ``ConfigFile``: one config.json. Keys we do not know are kept untouched; saving is
  atomic (temp file in the same directory, fsync, rename), so a crash never leaves half a
  config with the user's other settings. ``Credentials`` is the two files in that order.
- stores: ``FileStore`` keeps ``auths[server].auth = base64(user:password)``;
  ``HelperStore`` runs ``docker-credential-<helper> get|store|erase`` with docker's JSON
  protocol (chosen by ``credHelpers[server]``, else ``credsStore``).
- ``encode_auth``: the ``X-Registry-Auth`` header value (base64url of the AuthConfig JSON).
"""

from __future__ import annotations

import base64
import json
import os

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    AuthConfig = dict[str, str]

CONFIG_FILE = "config.json"
TOKEN_USERNAME = "<token>"
"""Username a credential helper stores for an identity token instead of a password."""
NOT_FOUND = "credentials not found in native keychain"
# AuthConfig's fields in the order Go marshals them (types/registry.AuthConfig).
AUTH_FIELDS = ("username", "password", "auth", "email", "serveraddress", "identitytoken",
               "registrytoken")


class CredentialsError(Exception):
    """A helper failed or the config file cannot be read or written; ``str()`` is the message."""


def config_dir() -> str:
    """``$DOCKER_CONFIG``, else ``~/.docker``: where docker keeps config.json."""
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def cove_config_dir() -> str:
    """``$COVE_CONFIG``, else the user config directory platformdirs gives for "cove".

    That is ``~/.config/cove`` on Linux (``$XDG_CONFIG_HOME`` honoured),
    ``~/Library/Application Support/cove`` on macOS and ``%LOCALAPPDATA%\\cove`` on Windows:
    where each platform's users and backup tools expect an application's settings.
    On Linux the XDG rule is applied here directly: importing platformdirs (and the
    pathlib it pulls in) would add tens of milliseconds to every pull and build.
    """
    configured = os.environ.get("COVE_CONFIG")
    if configured:
        return configured
    import sys

    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CONFIG_HOME", "").strip()
        if not base or not os.path.isabs(base):
            base = os.path.join(os.path.expanduser("~"), ".config")
        return os.path.join(base, "cove")
    import platformdirs

    return platformdirs.user_config_dir("cove", appauthor=False)


def convert_to_hostname(url: str) -> str:
    from cove.common.reference import convert_to_hostname as convert

    return convert(url)


def _go_json(value: object) -> str:
    """JSON as Go's encoder writes it: compact, with ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _ordered(auth: AuthConfig) -> dict[str, str]:
    return {key: auth[key] for key in AUTH_FIELDS if auth.get(key)}


def encode_auth(auth: AuthConfig) -> str:
    """The ``X-Registry-Auth`` value: base64url (padded) of Go's JSON for the AuthConfig.

    Go's encoder escapes ``<``, ``>`` and ``&``; matching it keeps the header byte-equal to
    docker's for the same credentials (``<token>`` usernames do occur).
    """
    return base64.urlsafe_b64encode(_go_json(_ordered(auth)).encode()).decode()


def decode_auth(value: str) -> AuthConfig:
    """Inverse of ``encode_auth`` (tests; and daemons reading the header)."""
    padded = value + "=" * (-len(value) % 4)
    auth: AuthConfig = json.loads(base64.urlsafe_b64decode(padded.encode()))
    return auth


class ConfigFile:
    """config.json as loaded: ``raw`` keeps every key; ``auths`` is decoded per server."""

    def __init__(self, path: str, raw: dict[str, Any] | None = None) -> None:
        self.path = path
        self.raw: dict[str, Any] = raw if raw is not None else {}

    @classmethod
    def load(cls, directory: str | None = None) -> ConfigFile:
        path = os.path.join(directory or config_dir(), CONFIG_FILE)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise CredentialsError(f"loading config file: {exc}") from exc
        if not data.strip():
            return cls(path)
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise CredentialsError(f"loading config file: {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise CredentialsError(f"loading config file: {path}: not a JSON object")
        return cls(path, raw)

    @property
    def auths(self) -> dict[str, dict[str, Any]]:
        auths = self.raw.get("auths")
        return auths if isinstance(auths, dict) else {}

    @property
    def creds_store(self) -> str:
        return str(self.raw.get("credsStore") or "")

    @property
    def cred_helpers(self) -> dict[str, str]:
        helpers = self.raw.get("credHelpers")
        return helpers if isinstance(helpers, dict) else {}

    def entry(self, server: str) -> AuthConfig | None:
        """The decoded auths entry for ``server`` (exact key, else same hostname)."""
        auths = self.auths
        key = server if server in auths else next(
            (k for k in auths if convert_to_hostname(k) == convert_to_hostname(server)), None)
        if key is None:
            return None
        raw = auths[key] if isinstance(auths[key], dict) else {}
        auth: AuthConfig = {k: str(v) for k, v in raw.items() if k in AUTH_FIELDS and v}
        encoded = auth.pop("auth", "")
        if encoded:
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise CredentialsError(f"invalid auth configuration file: {exc}") from exc
            auth["username"], auth["password"] = user, password
        auth["serveraddress"] = server
        return auth

    def set_entry(self, server: str, auth: AuthConfig) -> None:
        """Store ``auth`` as docker writes it: ``auth`` = base64(user:password), no password."""
        entry: dict[str, str] = {}
        if auth.get("username") or auth.get("password"):
            entry["auth"] = base64.b64encode(
                f"{auth.get('username', '')}:{auth.get('password', '')}".encode()).decode()
        for key in ("email", "identitytoken", "registrytoken"):
            if auth.get(key):
                entry[key] = auth[key]
        self.raw.setdefault("auths", {})
        if not isinstance(self.raw["auths"], dict):
            self.raw["auths"] = {}
        self.raw["auths"][server] = entry

    def remove_entry(self, server: str) -> bool:
        return self.auths.pop(server, None) is not None

    def save(self) -> None:
        """Write atomically, tab-indented like docker; follows a symlinked config.json."""
        target = os.path.realpath(self.path)
        directory = os.path.dirname(target)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        data = json.dumps(self.raw, indent="\t").encode()
        temp = os.path.join(directory, f".{os.path.basename(target)}.{os.getpid()}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                mode = os.stat(target).st_mode & 0o777
                os.chmod(temp, mode)
            except FileNotFoundError:
                pass
            os.replace(temp, target)
        except OSError as exc:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise CredentialsError(f"Error saving credentials: {exc}") from exc

    # --- stores -------------------------------------------------------------------------

    def store_for(self, server: str) -> FileStore | HelperStore:
        """docker's ``GetCredentialsStore``: a ``credHelpers`` entry, else ``credsStore``."""
        helper = self.cred_helpers.get(server) or self.creds_store
        return HelperStore(self, helper) if helper else FileStore(self)

    def get_auth(self, server: str) -> AuthConfig:
        """Credentials for ``server`` (empty when none are stored)."""
        return self.store_for(server).get(server)

    def servers(self) -> list[str]:
        """Every server this file has an ``auths`` entry or a credential helper for."""
        return list(dict.fromkeys([*self.auths, *self.cred_helpers]))


def _usable(auth: AuthConfig) -> bool:
    return bool(auth.get("username") or auth.get("password") or auth.get("identitytoken"))


class Credentials:
    """Cove's config.json, then docker's: the first that has credentials for a server wins.

    ``own`` is where logins are stored and erased; ``docker`` is only read, and is None
    when both paths name the same file (``COVE_CONFIG`` = ``DOCKER_CONFIG``). A docker
    file that cannot be read is skipped: it is a fallback, and cove's own file still works.
    """

    def __init__(self, own: ConfigFile, docker: ConfigFile | None = None) -> None:
        self.own = own
        self.docker = docker

    @classmethod
    def load(cls) -> Credentials:
        own = ConfigFile.load(cove_config_dir())
        docker_path = os.path.join(config_dir(), CONFIG_FILE)
        if os.path.realpath(docker_path) == os.path.realpath(own.path):
            return cls(own)
        try:
            return cls(own, ConfigFile.load(config_dir()))
        except CredentialsError:
            return cls(own)

    def get_auth(self, server: str) -> AuthConfig:
        """Credentials for ``server`` (empty when neither file has any)."""
        auth = self.own.get_auth(server)
        if _usable(auth) or self.docker is None:
            return auth
        fallback = self.docker.get_auth(server)
        return fallback if _usable(fallback) else auth

    def docker_holds(self, server: str) -> bool:
        """Whether only docker's file has credentials for ``server`` (for ``logout``)."""
        if self.docker is None or _usable(self.own.get_auth(server)):
            return False
        try:
            return _usable(self.docker.get_auth(server))
        except CredentialsError:
            return False

    def all_auths(self) -> dict[str, AuthConfig]:
        """Every stored login, keyed by server, for ``X-Registry-Config`` (builds pull FROM).

        A helper that fails for one server leaves that server out rather than failing
        the build: its FROM image may well be public.
        """
        servers = [*self.own.servers(), *(self.docker.servers() if self.docker else [])]
        found: dict[str, AuthConfig] = {}
        for server in dict.fromkeys(servers):
            try:
                auth = self.get_auth(server)
            except CredentialsError:
                continue
            if _usable(auth):
                found[server] = auth
        return found


class FileStore:
    """Credentials kept in config.json itself (base64, not encrypted: docker warns)."""

    def __init__(self, config: ConfigFile) -> None:
        self.config = config

    def get(self, server: str) -> AuthConfig:
        return self.config.entry(server) or {}

    def store(self, auth: AuthConfig) -> None:
        self.config.set_entry(auth["serveraddress"], auth)
        self.config.save()

    def erase(self, server: str) -> None:
        if self.config.remove_entry(server):
            self.config.save()


class HelperStore:
    """``docker-credential-<helper>`` on PATH, speaking docker's stdin/stdout JSON protocol.

    config.json still gets an (empty) ``auths`` entry per server, as docker does, so
    ``docker logout`` and listing logins keep working with the secret held elsewhere.
    """

    def __init__(self, config: ConfigFile, helper: str) -> None:
        self.config = config
        self.helper = helper
        self.program = f"docker-credential-{helper}"

    def _run(self, action: str, payload: str) -> str:
        import subprocess

        try:
            result = subprocess.run([self.program, action], input=payload.encode(),
                                    capture_output=True, timeout=60)
        except FileNotFoundError as exc:
            raise CredentialsError(
                f'exec: "{self.program}": executable file not found in $PATH') from exc
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CredentialsError(f"error running {self.program} {action}: {exc}") from exc
        out = result.stdout.decode(errors="replace").strip()
        if result.returncode != 0:
            message = out or result.stderr.decode(errors="replace").strip()
            raise CredentialsError(message or f"{self.program} {action} failed "
                                   f"(exit status {result.returncode})")
        return out

    def get(self, server: str) -> AuthConfig:
        base = self.config.entry(server) or {}
        try:
            out = self._run("get", server)
        except CredentialsError as exc:
            if NOT_FOUND in str(exc):
                return {k: v for k, v in base.items() if k == "email"}
            raise CredentialsError(f"error getting credentials - err: {exc}") from exc
        try:
            reply = json.loads(out)
        except ValueError as exc:
            raise CredentialsError(f"error getting credentials - err: {exc}, out: `{out}`") from exc
        auth: AuthConfig = {k: v for k, v in base.items() if k == "email"}
        username, secret = str(reply.get("Username") or ""), str(reply.get("Secret") or "")
        if username == TOKEN_USERNAME:
            auth["identitytoken"] = secret
        else:
            auth["username"], auth["password"] = username, secret
        auth["serveraddress"] = server
        return {k: v for k, v in auth.items() if v}

    def store(self, auth: AuthConfig) -> None:
        server = auth["serveraddress"]
        token = auth.get("identitytoken", "")
        payload = json.dumps({"ServerURL": server,
                              "Username": TOKEN_USERNAME if token else auth.get("username", ""),
                              "Secret": token or auth.get("password", "")})
        try:
            self._run("store", payload)
        except CredentialsError as exc:
            raise CredentialsError(f"error storing credentials - err: {exc}") from exc
        self.config.set_entry(server, {k: v for k, v in auth.items() if k == "email"})
        self.config.save()

    def erase(self, server: str) -> None:
        try:
            self._run("erase", server)
        except CredentialsError as exc:
            if NOT_FOUND not in str(exc):
                raise CredentialsError(f"error erasing credentials - err: {exc}") from exc
        if self.config.remove_entry(server):
            self.config.save()


def auth_header_for(index_name: str) -> str:
    """``X-Registry-Auth`` for a registry (``Reference.index_name``); ``e30=`` if none stored.

    A broken helper or config must not stop an anonymous pull, so errors give ``{}``.
    """
    try:
        auth = Credentials.load().get_auth(index_name)
    except CredentialsError:
        auth = {}
    return encode_auth(auth)


def auth_header_for_image(image: str) -> str:
    """``X-Registry-Auth`` for pulling ``image`` (a reference as the user typed it): the
    stored credentials of its registry, as ``cove pull`` sends them; anonymous for a
    reference that does not parse (the daemon then says what is wrong with it)."""
    from cove.common.reference import InvalidReference, parse_normalized

    try:
        index = parse_normalized(image).index_name
    except InvalidReference:
        return encode_auth({})
    return auth_header_for(index)


def registry_config_header() -> str:
    """``X-Registry-Config`` for a build: base64url of ``{server: AuthConfig}``, as docker.

    The daemon picks from it the credentials of each registry a FROM image is pulled from.
    """
    try:
        auths = Credentials.load().all_auths()
    except CredentialsError:
        auths = {}
    # Go writes a map's keys sorted
    ordered = {server: _ordered(auths[server]) for server in sorted(auths)}
    return base64.urlsafe_b64encode(_go_json(ordered).encode()).decode()
