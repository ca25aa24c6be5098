"""A real CNCF registry (Debian's ``docker-registry``) on 127.0.0.1, and skopeo as an independent client.

Tests and benchmarks of the registry half of images (pull, push, login) need a registry
that is not ours, so that a bug shared by Cove's client and server cannot hide itself.
``Registry`` runs distribution 2.8 in one of three modes:

- ``auth=None``: anonymous, everything allowed;
- ``auth="htpasswd"``: Basic auth against a bcrypt htpasswd file;
- ``auth="token"``: the bearer flow. A small in-process token server checks Basic
  credentials and issues RS256 JWTs signed by a key whose self-signed certificate is the
  registry's ``rootcertbundle``; the JWT header names the key by its libtrust key ID
  (``kid``), which is how distribution finds a trusted key. Grants: a known user gets
  pull+push on every repository, anonymous callers pull on ``public/*`` only, and every
  other requested action is silently dropped (as Docker Hub's auth server does).

All state (storage, config, htpasswd, keys, log) lives in one temp dir removed by ``stop``.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cove.runtime.images.busybox import busybox_image
from cove.runtime.images.hello.archive import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    Entry,
    Image,
    _archive,
    image_config,
    layer_tar,
    sha256_hex,
)

REGISTRY_BIN = "/usr/bin/docker-registry"
SKOPEO_BIN = "/usr/bin/skopeo"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SERVICE = "cove-test-registry"
ISSUER = "cove-test-issuer"
DEFAULT_USERS: Mapping[str, str] = {"alice": "secret"}


def free_port() -> int:
    """A port nothing listens on right now (the registry binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_der: bytes) -> str:
    """libtrust's fingerprint of a key: base32 of sha256(SPKI DER)[:30], in groups of 4.

    distribution 2.8 indexes the keys of ``rootcertbundle`` by this ID and looks the
    JWT header's ``kid`` up in that index.
    """
    encoded = base64.b32encode(hashlib.sha256(public_der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i:i + 4] for i in range(0, len(encoded), 4))


class _Signer:
    """An RSA key and its self-signed certificate; signs RS256 JWTs."""

    def __init__(self) -> None:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(self._key, hashes.SHA256()))
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        spki = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = libtrust_key_id(spki)

    def jwt(self, claims: Mapping[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = (_b64url(json.dumps(header).encode()) + "."
                         + _b64url(json.dumps(claims).encode()))
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)


def grant(user: str | None, scopes: Iterable[str]) -> list[dict[str, Any]]:
    """The ``access`` claim for ``user`` (None = anonymous) asking for ``scopes``.

    A scope is ``type:name:action,action``; names may not hold ":" but a type may carry a
    class (``repository(plugin)``), so split from both ends.
    """
    access: list[dict[str, Any]] = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions_text = rest.rpartition(":")
        if not name:
            continue
        wanted = [a for a in actions_text.split(",") if a]
        if kind.startswith("repository"):
            if user is not None:
                allowed = {"pull", "push", "delete", "*"}
            elif name.startswith("public/"):
                allowed = {"pull"}
            else:
                allowed = set()
        elif kind == "registry" and name == "catalog" and user is not None:
            allowed = {"*"}
        else:
            allowed = set()
        granted = [a for a in wanted if a in allowed]
        access.append({"type": kind, "name": name, "actions": granted})
    return access


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    server: _TokenServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        self.server.log.append(format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self._reply(404, {"errors": [{"code": "NOT_FOUND"}]})
            return
        query = urllib.parse.parse_qs(url.query)
        user: str | None = None
        header = self.headers.get("Authorization", "")
        if header:
            scheme, _, value = header.partition(" ")
            try:
                decoded = base64.b64decode(value.strip()).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            name, sep, password = decoded.partition(":")
            if scheme.lower() != "basic" or not sep or self.server.users.get(name) != password:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="cove-test-token"')
                self.send_header("Content-Type", "application/json")
                body = b'{"details":"incorrect username or password"}'
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            user = name
        now = int(time.time())
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        claims = {
            "iss": ISSUER, "sub": user or "", "aud": query.get("service", [SERVICE])[0],
            "exp": now + 300, "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(),
            "access": grant(user, scopes),
        }
        self.server.issued.append(claims)
        token = self.server.signer.jwt(claims)
        self._reply(200, {"token": token, "access_token": token, "expires_in": 300,
                          "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})

    def _reply(self, status: int, obj: Any) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, signer: _Signer, users: Mapping[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.signer = signer
        self.users = dict(users)
        self.issued: list[dict[str, Any]] = []
        self.log: list[str] = []


class Registry:
    """One registry process on 127.0.0.1:<free port>; plain HTTP, filesystem storage, deletes on."""

    def __init__(self, auth: str | None = None,
                 users: Mapping[str, str] | None = None) -> None:
        if auth not in (None, "htpasswd", "token"):
            raise ValueError(f"unknown auth mode {auth!r}")
        self.auth = auth
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.port = 0
        self.root = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.token_server: _TokenServer | None = None
        self._token_thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def token_url(self) -> str:
        assert self.token_server is not None, "token mode only"
        return f"http://127.0.0.1:{self.token_server.server_address[1]}/token"

    @property
    def log_path(self) -> str:
        return os.path.join(self.root, "registry.log")

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _config(self) -> str:
        """config.yml as JSON (YAML is a superset), so no YAML writer is needed."""
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": os.path.join(self.root, "data")},
                        "delete": {"enabled": True}},
            "http": {"addr": self.host, "headers": {"X-Content-Type-Options": ["nosniff"]}},
        }
        if self.auth == "htpasswd":
            import bcrypt

            path = os.path.join(self.root, "htpasswd")
            with open(path, "w") as f:
                for user, password in self.users.items():
                    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
                    f.write(f"{user}:{hashed}\n")
            config["auth"] = {"htpasswd": {"realm": "cove-test-realm", "path": path}}
        elif self.auth == "token":
            signer = _Signer()
            bundle = os.path.join(self.root, "token-root.pem")
            with open(bundle, "wb") as f:
                f.write(signer.cert_pem)
            self.token_server = _TokenServer(signer, self.users)
            self._token_thread = threading.Thread(
                target=self.token_server.serve_forever, name="registry-token-server", daemon=True)
            self._token_thread.start()
            config["auth"] = {"token": {"realm": self.token_url, "service": SERVICE,
                                        "issuer": ISSUER, "rootcertbundle": bundle}}
        path = os.path.join(self.root, "config.yml")
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        return path

    def start(self, timeout: float = 20.0) -> Registry:
        self.root = tempfile.mkdtemp(prefix="cove-registry-", dir="/tmp")
        last_error = ""
        for _ in range(3):  # another process may grab the free port first: retry on a new one
            self.port = free_port()
            config = self._config()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", config], stdout=log,
                                         stderr=log, stdin=subprocess.DEVNULL)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    last_error = self.log()[-2000:]
                    break
                try:
                    urllib.request.urlopen(self.url + "/v2/", timeout=2).close()
                    return self
                except urllib.error.HTTPError as exc:
                    exc.close()
                    if exc.code == 401:
                        return self
                    last_error = f"/v2/ answered {exc.code}"
                except OSError as exc:
                    last_error = str(exc)
                time.sleep(0.05)
            self._stop_process()
            self._stop_token_server()
        self.stop()
        raise RuntimeError(f"docker-registry did not start: {last_error}")

    def _stop_process(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def _stop_token_server(self) -> None:
        if self.token_server is not None:
            self.token_server.shutdown()
            self.token_server.server_close()
            self.token_server = None
        if self._token_thread is not None:
            self._token_thread.join(5)
            self._token_thread = None

    def stop(self) -> None:
        self._stop_process()
        self._stop_token_server()
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- direct HTTP access, for assertions ---------------------------------------------
    def token(self, scopes: Sequence[str], creds: str | None = None) -> dict[str, Any]:
        """Ask the token server directly (token mode): the decoded response JSON."""
        query = urllib.parse.urlencode([("service", SERVICE)] + [("scope", s) for s in scopes])
        request = urllib.request.Request(f"{self.token_url}?{query}")
        if creds is not None:
            request.add_header("Authorization", "Basic " + base64.b64encode(creds.encode()).decode())
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())


def _creds_flag(flag: str, creds: str | None) -> list[str]:
    return [f"--{flag}", creds] if creds is not None else []


def skopeo(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:  # noqa: A002
    """Run skopeo with ``--insecure-policy``; TLS verification off for 127.0.0.1 registries.

    The ``--*-tls-verify=false`` flags are added after the subcommand because they are
    subcommand options: ``--tls-verify`` for inspect/delete/list-tags, ``--src-``/``--dest-``
    for copy. The result is returned unchecked; callers assert on returncode/stderr.
    """
    argv = [SKOPEO_BIN, "--insecure-policy"]
    if args:
        command, rest = args[0], list(args[1:])
        argv.append(command)
        if command == "copy":
            argv += ["--src-tls-verify=false", "--dest-tls-verify=false"]
        elif command in ("inspect", "delete", "list-tags", "login", "logout"):
            argv.append("--tls-verify=false")
        argv += rest
    return subprocess.run(argv, input=input, capture_output=True, timeout=300)


def _checked(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    if result.returncode != 0:
        raise RuntimeError(f"skopeo {' '.join(map(str, result.args[2:]))} failed "
                           f"({result.returncode}): {result.stderr.decode(errors='replace')}")
    return result


def _copy_with_digest(source: str, dest: str, extra: Sequence[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="cove-skopeo-") as tmp:
        digestfile = os.path.join(tmp, "digest")
        _checked(skopeo("copy", *extra, "--digestfile", digestfile, source, dest))
        with open(digestfile) as f:
            return f.read().strip()


def push_archive_with_skopeo(archive: bytes, registry: Registry, name: str,
                             creds: str | None = None) -> str:
    """Push a ``docker save`` archive to ``registry/name`` (tag defaults to latest) with skopeo.

    Returns the manifest digest skopeo pushed (a docker v2 schema 2 manifest).
    """
    with tempfile.TemporaryDirectory(prefix="cove-skopeo-") as tmp:
        path = os.path.join(tmp, "image.tar")
        with open(path, "wb") as f:
            f.write(archive)
        return _copy_with_digest(f"docker-archive:{path}", f"docker://{registry.host}/{name}",
                                 _creds_flag("dest-creds", creds))


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def platform_image(os_name: str, arch: str) -> Image:
    """amd64 gets the busybox image; other platforms a small layer naming their platform.

    Distinct layers per platform let a test see which one was pulled (``/platform``).
    """
    if (os_name, arch) == ("linux", "amd64"):
        image = busybox_image(tag="", extra={"platform": b"linux/amd64\n"})
    else:
        text = f"{os_name}/{arch}\n".encode()
        layer = layer_tar([Entry("platform", data=text)])
        image = Image(layers=[layer], config={"Cmd": ["/platform"]}, repo_tags=[])
    image.architecture = arch
    return image


def multiarch_layout(platforms: Sequence[tuple[str, str]]) -> tuple[bytes, str]:
    """An OCI image layout tar whose index.json points at one image index of ``platforms``.

    Returns (layout tar bytes, the image index digest). The config's ``os`` is fixed to
    linux by ``image_config``; a non-linux os is patched in so config and index agree.
    """
    blobs: dict[str, bytes] = {}
    descriptors = []
    for os_name, arch in platforms:
        image = platform_image(os_name, arch)
        config = image_config(image)
        if os_name != "linux":
            parsed = json.loads(config)
            parsed["os"] = os_name
            config = _json_bytes(parsed)
        blobs[sha256_hex(config)] = config
        layers = []
        for layer in image.layers:
            blobs[sha256_hex(layer)] = layer
            layers.append({"mediaType": OCI_LAYER, "digest": f"sha256:{sha256_hex(layer)}",
                           "size": len(layer)})
        manifest = _json_bytes({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": f"sha256:{sha256_hex(config)}",
                       "size": len(config)},
            "layers": layers,
        })
        blobs[sha256_hex(manifest)] = manifest
        descriptors.append({"mediaType": OCI_MANIFEST, "digest": f"sha256:{sha256_hex(manifest)}",
                            "size": len(manifest),
                            "platform": {"architecture": arch, "os": os_name}})
    index = _json_bytes({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})
    blobs[sha256_hex(index)] = index
    top = _json_bytes({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_INDEX, "digest": f"sha256:{sha256_hex(index)}", "size": len(index)}]})
    files = {f"blobs/sha256/{digest}": data for digest, data in blobs.items()}
    files["oci-layout"] = _json_bytes({"imageLayoutVersion": "1.0.0"})
    files["index.json"] = top
    return _archive(files), f"sha256:{sha256_hex(index)}"


def push_multiarch_index(registry: Registry, name: str,
                         platforms: Sequence[tuple[str, str]] = (("linux", "amd64"),
                                                                 ("linux", "arm64")),
                         creds: str | None = None) -> str:
    """Push a multi-platform OCI image index with ``skopeo copy --all``; returns its digest."""
    layout, _ = multiarch_layout(platforms)
    with tempfile.TemporaryDirectory(prefix="cove-skopeo-") as tmp:
        path = os.path.join(tmp, "layout.tar")
        with open(path, "wb") as f:
            f.write(layout)
        return _copy_with_digest(f"oci-archive:{path}", f"docker://{registry.host}/{name}",
                                 ["--all", "--preserve-digests", *_creds_flag("dest-creds", creds)])


def skopeo_inspect_raw(registry: Registry, name: str, creds: str | None = None) -> bytes:
    """The manifest (or index) bytes of ``registry/name`` exactly as the registry serves them."""
    return _checked(skopeo("inspect", "--raw", *_creds_flag("creds", creds),
                           f"docker://{registry.host}/{name}")).stdout


def skopeo_inspect_digest(registry: Registry, name: str, creds: str | None = None) -> str:
    """The manifest digest of ``registry/name`` as skopeo sees it (sha256 of the raw manifest)."""
    return "sha256:" + hashlib.sha256(skopeo_inspect_raw(registry, name, creds)).hexdigest()
