"""The HTTP/1.1 server on coved's Unix socket.

One thread per connection (clients hold connections open for attach, logs -f
and events). Routes are tables of (method, pattern, handler) contributed by the
router modules; a handler gets a ``Request`` and either returns a value (sent as
JSON), returns ``None`` (204), or takes over the response itself (streams,
hijack). Errors become ``{"message": ...}`` here and only here.
"""

from __future__ import annotations

import http.server
import io
import json
import logging
import re
import socket
import socketserver
import traceback
from collections.abc import Callable, Iterable
from email.message import Message
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qs, urlsplit

from cove.runtime import errors
from cove.runtime.api.status import http_status
from cove.runtime.api.streams import ChunkedWriter, peer_closed, wait_until_read
from cove.runtime.api.version import API_VERSION, MIN_API_VERSION

log = logging.getLogger("coved.api")

MAX_JSON_BODY = 16 << 20
DRAIN_LIMIT = 256 << 20
_VERSION_PREFIX = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")


def _version_tuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


class Json:
    """A JSON response with a status other than 200 (e.g. 201 Created)."""

    def __init__(self, body: Any, status: int = 200) -> None:
        self.body = body
        self.status = status


class Handled:
    """Returned by handlers that wrote their own response."""


HANDLED = Handled()


class BodyReader:
    """Reads a request body framed by Content-Length or chunked encoding."""

    def __init__(self, rfile: io.BufferedIOBase, headers: Message) -> None:
        self._rfile = rfile
        self._chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        length = headers.get("Content-Length")
        self._remaining = int(length) if length and not self._chunked else 0
        self._chunk_left = 0
        self._eof = not self._chunked and self._remaining == 0

    def read(self, size: int = 65536) -> bytes:
        if self._eof:
            return b""
        if not self._chunked:
            data = self._rfile.read(min(size, self._remaining))
            if not data:
                raise errors.InvalidParameter("unexpected EOF in request body")
            self._remaining -= len(data)
            self._eof = self._remaining == 0
            return data
        if self._chunk_left == 0:
            line = self._rfile.readline(1024)
            try:
                self._chunk_left = int(line.split(b";")[0].strip(), 16)
            except ValueError as exc:
                raise errors.InvalidParameter("malformed chunked request body") from exc
            if self._chunk_left == 0:
                while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                self._eof = True
                return b""
        data = self._rfile.read(min(size, self._chunk_left))
        if not data:
            raise errors.InvalidParameter("unexpected EOF in request body")
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self._rfile.readline(8)
        return data

    def read_all(self, limit: int = MAX_JSON_BODY) -> bytes:
        parts, total = [], 0
        while chunk := self.read():
            total += len(chunk)
            if total > limit:
                raise errors.InvalidParameter(f"request body larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def drain(self, limit: int | None = None) -> None:
        """Read and drop the rest; past ``limit`` bytes, give up (InvalidParameter)."""
        total = 0
        while chunk := self.read():
            total += len(chunk)
            if limit is not None and total > limit:
                raise errors.InvalidParameter(f"request body larger than {limit} bytes")


class Request:
    def __init__(self, handler: RequestHandler, method: str, path: str, query: str,
                 version: tuple[int, int], match: re.Match[str]) -> None:
        self.handler = handler
        self.method = method
        self.path = path
        self.query = parse_qs(query, keep_blank_values=True)
        self.version = version
        self.args = match.groupdict()
        self.headers = handler.headers
        self.body = BodyReader(handler.rfile, handler.headers)
        self.responded = False

    @property
    def stream(self) -> BinaryIO:
        """The body as the binary stream the engine reads (``read`` is all it calls)."""
        return cast(BinaryIO, self.body)

    @staticmethod
    def sink(out: ChunkedWriter) -> BinaryIO:
        """A chunked response as the binary stream the engine writes (``write`` only)."""
        return cast(BinaryIO, out)

    def drain(self) -> None:
        """Read what is left of the body, so the connection can carry the answer."""
        self.body.drain()

    # query parameters
    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.param(name)
        if value is None:
            return default
        return value.lower() not in ("", "0", "false", "no")

    def int_param(self, name: str, default: int | None = None) -> int | None:
        value = self.param(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise errors.InvalidParameter(f"invalid value for {name}: {value!r}") from exc

    def json_param(self, name: str, label: str | None = None) -> dict[str, Any]:
        """A query parameter holding a JSON object (``filters``, ``buildargs``, ``labels``);
        errors name it as ``label`` (dockerd says "invalid filter")."""
        raw = self.param(name)
        if not raw:
            return {}
        what = label or name
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise errors.InvalidParameter(f"invalid {what}: {exc}") from exc
        if not isinstance(parsed, dict):
            raise errors.InvalidParameter(f"invalid {what}: not an object")
        return parsed

    def filters(self) -> dict[str, list[str]]:
        """Docker's ``filters`` query: JSON of name -> list (or legacy name -> {value: true})."""
        result: dict[str, list[str]] = {}
        for key, value in self.json_param("filters", "filter").items():
            if isinstance(value, dict):
                result[key] = [k for k, v in value.items() if v]
            elif isinstance(value, list):
                result[key] = [str(v) for v in value]
            else:
                raise errors.InvalidParameter(f"invalid filter value for {key!r}")
        return result

    def json(self, required: bool = False) -> Any:
        data = self.body.read_all()
        if not data.strip():
            if required:
                raise errors.InvalidParameter("invalid JSON: request body is empty")
            return {}
        try:
            return json.loads(data)
        except ValueError as exc:
            raise errors.InvalidParameter(f"invalid JSON: {exc}") from exc

    def json_object(self, what: str, required: bool = False) -> dict[str, Any]:
        """The body as a JSON object; anything else is the client's error, said once here."""
        body = self.json(required)
        if not isinstance(body, dict):
            raise errors.InvalidParameter(f"invalid JSON: {what} must be an object")
        return body

    def client_gone(self) -> bool:
        """True once the client has hung up (followers stop streaming to nobody)."""
        return peer_closed(self.handler.connection)

    # responses that handlers write themselves
    def start_stream(self, content_type: str, status: int = 200,
                     headers: dict[str, str] | None = None) -> ChunkedWriter:
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Api-Version", API_VERSION)
        h.end_headers()
        h.wfile.flush()
        self.responded = True
        return ChunkedWriter(h.wfile)

    def send_raw(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        """A complete answer with the handler's own headers (ping, archive stat)."""
        self.handler.send_raw(status, {"Api-Version": API_VERSION, **headers}, body)
        self.responded = True

    def hijack(self, content_type: str = "application/vnd.docker.raw-stream") -> tuple[Any, socket.socket]:
        """Take over the connection as a raw byte stream (attach, exec start).

        With ``Upgrade: tcp`` the answer is ``101 UPGRADED`` as dockerd gives; an old
        client without it gets 200 and the raw stream. Returns (reader, socket): the
        reader keeps bytes the client sent right after its headers."""
        h = self.handler
        upgrade = "upgrade" in (self.headers.get("Connection") or "").lower()
        if upgrade:
            h.send_response_only(101, "UPGRADED")
            h.send_header("Content-Type", content_type)
            h.send_header("Connection", "Upgrade")
            h.send_header("Upgrade", "tcp")
        else:
            h.send_response_only(200)
            h.send_header("Content-Type", content_type)
        h.end_headers()
        h.wfile.flush()
        wait_until_read(h.connection)
        self.responded = True
        h.close_connection = True
        return h.rfile, h.connection


Route = tuple[str, str, Callable[[Request], Any]]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Callable[[Request], Any]]] = []

    def add(self, routes: Iterable[Route]) -> None:
        for method, pattern, fn in routes:
            regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)",
                                            pattern.replace("{name:.*}", "(?P<name>.+?)")) + "$")
            self._routes.append((method, regex, fn))

    def match(self, method: str, path: str) -> tuple[Callable[[Request], Any], re.Match[str]] | None:
        """The route for method and path; None when there is none, even if the path is known
        under another method (dockerd answers both with 404 "page not found")."""
        for route_method, regex, fn in self._routes:
            m = regex.match(path)
            if m and (route_method == method or (method == "HEAD" and route_method == "GET")):
                return fn, m
        return None


class RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Cove"
    sys_version = ""
    server: APIServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s " + format, "api", *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:
        """dockerd answers any OPTIONS (a CORS preflight) with an empty 200."""
        self._discard_body()
        self._send_empty(200)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A request the HTTP layer cannot parse gets a JSON answer, as every other error,
        never http.server's HTML page; the connection closes (its framing is lost)."""
        self.close_connection = True
        try:
            self._send_json(code, {"message": message or self.responses.get(code, ("error",))[0]})
        except OSError:
            pass

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path
        version = _version_tuple(API_VERSION)
        request: Request | None = None
        try:
            m = _VERSION_PREFIX.match(path)
            if m:
                version = (int(m.group(1)), int(m.group(2)))
                path = m.group(3)
                if version > _version_tuple(API_VERSION):
                    raise errors.InvalidParameter(
                        f"client version {version[0]}.{version[1]} is too new. "
                        f"Maximum supported API version is {API_VERSION}")
                if version < _version_tuple(MIN_API_VERSION):
                    raise errors.InvalidParameter(
                        f"client version {version[0]}.{version[1]} is too old. Minimum "
                        f"supported API version is {MIN_API_VERSION}, please upgrade your "
                        "client to a newer version")
            found = self.server.router.match(method, path)
            if found is None:
                self._discard_body()
                self._send_json(404, {"message": "page not found"})
                return
            fn, match = found
            request = Request(self, method, path, url.query, version, match)
            result = fn(request)
            if request.responded:
                return
            request.body.drain()
            if isinstance(result, Json):
                self._send_json(result.status, result.body)
            elif result is None:
                self._send_empty(204)
            else:
                self._send_json(200, result)
        except errors.EngineError as exc:
            self._error(request, http_status(exc), exc.message)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a bug: answer 500, keep serving
            log.error("%s %s failed:\n%s", method, self.path, traceback.format_exc())
            self._error(request, 500, str(exc) or exc.__class__.__name__)

    def _discard_body(self) -> None:
        """Read (bounded) the body of a request no handler takes, so that the next request
        on a kept-alive connection is parsed from its own first byte, not from this body."""
        try:
            BodyReader(self.rfile, self.headers).drain(limit=DRAIN_LIMIT)
        except (errors.EngineError, OSError, ValueError):
            self.close_connection = True

    def _error(self, request: Request | None, status: int, message: str) -> None:
        if request is not None and request.responded:
            self.close_connection = True
            return
        if request is None:  # refused before routing (the API version): nothing read yet
            self._discard_body()
        else:
            self.close_connection = True  # the body may be partly unread
            try:  # read (bounded) what the client is still sending, so it gets the answer
                request.body.drain(limit=DRAIN_LIMIT)
            except (errors.EngineError, OSError):
                pass
        if status == 304:
            self._send_empty(304)
            return
        self._send_json(status, {"message": message})

    def _send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Api-Version", API_VERSION)
        if self.close_connection:  # say so: a client reusing the connection would be reset
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Api-Version", API_VERSION)
        if self.close_connection:
            self.send_header("Connection", "close")
        if status != 304:
            self.send_header("Content-Length", "0")
        self.end_headers()

    def send_raw(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class APIServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, path: str, router: Router) -> None:
        self.router = router
        super().__init__(path, RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is normal (the CLI drops its wait connection); log the rest."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        log.error("connection failed:\n%s", traceback.format_exc())

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, _addr = self.socket.accept()
        return conn, ("unix", 0)
