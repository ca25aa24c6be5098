"""A scripted Engine API on a Unix socket: records requests, answers pull/push/auth/create.

Both ``cove`` and the real ``docker`` CLI can be pointed at it, so a test can compare
their requests and their output for the same daemon answers.
"""

from __future__ import annotations

import http.server
import json
import os
import socketserver
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

DATA = os.path.join(os.path.dirname(__file__), "recorded")  # docker's own output and streams


def data(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


@dataclass
class Recorded:
    method: str
    path: str  # without the /vX.Y prefix and query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Script:
    pull_stream: bytes = b'{"status":"Digest: sha256:abc"}\n'
    push_stream: bytes = b'{"status":"latest: digest: sha256:abc size: 1"}\n'
    pull_error: tuple[int, str] | None = None  # HTTP error instead of a stream
    users: dict[str, str] = field(default_factory=lambda: {"alice": "secret"})
    identity_token: str = ""
    images: set[str] = field(default_factory=set)  # what create finds ("busybox:latest")
    build_stream: bytes = (b'{"stream":"Step 1/1 : FROM busybox"}\n{"stream":"\\n"}\n'
                           b'{"stream":" ---\\u003e abcdef012345\\n"}\n'
                           b'{"aux":{"ID":"sha256:' + b"ab" * 32 + b'"}}\n'
                           b'{"stream":"Successfully built abcdef012345\\n"}\n')
    build_error: tuple[int, str] | None = None  # HTTP error instead of a stream
    build_prune: dict[str, Any] = field(default_factory=lambda: {
        "CachesDeleted": None, "SpaceReclaimed": 0})


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeDaemon

    def address_string(self) -> str:
        return "fake"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _record(self) -> Recorded:
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path.startswith("/v") and "/" in path[1:]:
            head, rest = path[1:].split("/", 1)
            if head[1:].replace(".", "").isdigit():
                path = "/" + rest
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        rec = Recorded(self.command, urllib.parse.unquote(path),
                       urllib.parse.parse_qs(url.query),
                       {k.lower(): v for k, v in self.headers.items()}, body)
        if path != "/_ping":
            self.server.requests.append(rec)
        return rec

    def _read_chunked(self) -> bytes:
        """A chunked request body (``docker build`` streams its context tar this way)."""
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"message": message}).encode())

    def do_HEAD(self) -> None:  # noqa: N802
        self._record()
        self._send(200, b"OK", "text/plain")

    def do_GET(self) -> None:  # noqa: N802
        rec = self._record()
        if rec.path == "/_ping":
            self._send(200, b"OK", "text/plain")
        elif rec.path == "/version":
            self._send(200, json.dumps({"ApiVersion": "1.41", "MinAPIVersion": "1.12",
                                        "Version": "fake"}).encode())
        else:
            self._error(404, "page not found")

    def do_POST(self) -> None:  # noqa: N802
        rec = self._record()
        script = self.server.script
        if rec.path == "/images/create":
            if script.pull_error:
                self._error(*script.pull_error)
                return
            name = rec.query["fromImage"][0]
            tag = rec.query.get("tag", ["latest"])[0]
            for familiar in (name, name.removeprefix("docker.io/library/"),
                             name.removeprefix("docker.io/")):
                script.images.add(f"{familiar}:{tag}")
            self._send(200, script.pull_stream)
        elif rec.path == "/build":
            if script.build_error:
                self._error(*script.build_error)
            else:
                self._send(200, script.build_stream)
        elif rec.path == "/build/prune":
            self._send(200, json.dumps(script.build_prune).encode())
        elif rec.path.endswith("/push"):
            self._send(200, script.push_stream)
        elif rec.path == "/auth":
            auth = rec.json()
            if script.users.get(auth.get("username")) == auth.get("password") or (
                    auth.get("identitytoken") and auth.get("identitytoken") == script.identity_token):
                self._send(200, json.dumps({"Status": "Login Succeeded",
                                            "IdentityToken": script.identity_token}).encode())
            else:
                self._error(401, "login attempt to http://registry/v2/ failed with status: "
                                 "401 Unauthorized")
        elif rec.path == "/containers/create":
            image = rec.json().get("Image", "")
            candidates = {image, image + ":latest"}
            if candidates & script.images:
                self._send(201, json.dumps({"Id": "c0ffee" * 10 + "abcd",
                                            "Warnings": []}).encode())
            else:
                shown = image if ":" in image.rsplit("/", 1)[-1] or "@" in image else image + ":latest"
                self._error(404, f"No such image: {shown}")
        else:
            self._error(404, "page not found")


class FakeDaemon(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, script: Script | None = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="cove-fake-", dir="/tmp")
        self.socket_path = os.path.join(self.dir, "s.sock")
        super().__init__(self.socket_path, _Handler)
        self.script = script or Script()
        self.requests: list[Recorded] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> FakeDaemon:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    def last(self, path_suffix: str) -> Recorded:
        return next(r for r in reversed(self.requests) if r.path.endswith(path_suffix))


COVE = [sys.executable, "-m", "cove.desktop.cli.main"]
"""Cove's CLI from this interpreter's install."""


def cli_env(daemon: FakeDaemon, config_dir: str) -> dict[str, str]:
    """The environment of a CLI pointed at ``daemon`` with its config in ``config_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "COVE_HOST")}
    env.update(DOCKER_HOST=daemon.host, DOCKER_CONFIG=config_dir, COVE_CONFIG=config_dir,
               DOCKER_CLI_HINTS="false")
    return env


def run(argv: list[str], daemon: FakeDaemon, config_dir: str, input: bytes | None = None,
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**cli_env(daemon, config_dir), **(extra_env or {})}
    return subprocess.run(argv, input=input if input is not None else b"", env=env,
                          capture_output=True, timeout=60)
