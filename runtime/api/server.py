"""The HTTP/1.1 server on coved's Unix socket.

One thread per connection (clients hold connections open for attach, logs -f
and events). Routes are tables of (method, pattern, handler) contributed by the
router modules; a handler gets a ``Request`` and either returns a value (sent as
JSON), returns ``None`` (204), or takes over the response itself (streams,
hijack). Errors become ``{"message": ...}`` here and only here (``_fail``): engine
errors, and requests refused before any handler sees them (bad framing, too large,
too slow), which are a ``RequestError`` carrying their own HTTP status.

What a client can make the server hold is bounded: a JSON body's size (checked from
Content-Length before reading it), the time to send the request line and headers
(``APIServer.header_timeout``, one watcher thread for all connections), the idle time
while sending a body (``body_timeout``), and what is read and dropped after an error
(``DRAIN_LIMIT`` bytes, ``linger_timeout`` seconds).
"""

from __future__ import annotations

import http.server
import io
import json
import logging
import re
import socket
import socketserver
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from email.message import Message
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qs, unquote, urlsplit

from cove.runtime import errors
from cove.runtime.api.status import http_status
from cove.runtime.api.streams import ChunkedWriter, peer_closed, wait_until_read
from cove.runtime.api.version import API_VERSION, MIN_API_VERSION

log = logging.getLogger("coved.api")

MAX_JSON_BODY = 16 << 20
DRAIN_LIMIT = 256 << 20
MAX_REQUEST_LINE = 65536
_VERSION_PREFIX = re.compile(r"^/v(\d{1,9})\.(\d{1,9})(/.*)$")
_PLAIN_ERRORS_BEFORE = (1, 24)  # API versions before this had text errors, not JSON
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_CHUNK_SIZE = re.compile(rb"^([0-9a-fA-F]{1,16})[ \t]*(;[^\r\n]*)?\r?\n$")
_INT64 = (-(1 << 63), (1 << 63) - 1)


class RequestError(Exception):
    """A request refused by the HTTP layer itself (framing, size, time): unlike engine
    errors it carries its HTTP status (400, 408, 413, 414, 431, 501, 505)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_json(data: bytes | str, what: str = "JSON") -> Any:
    """Strict JSON (no NaN or Infinity, as Go's decoder); a client's malformed or
    absurdly nested text is an InvalidParameter, never a 500."""
    def refuse(constant: str) -> Any:
        raise ValueError(f"invalid character {constant!r} looking for beginning of value")

    try:
        return json.loads(data, parse_constant=refuse)
    except RecursionError as exc:
        raise errors.InvalidParameter(f"invalid {what}: nested too deeply") from exc
    except ValueError as exc:  # UnicodeDecodeError and too many digits are ValueErrors too
        raise errors.InvalidParameter(f"invalid {what}: {exc}") from exc


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


def content_length(headers: Message) -> int | None:
    """The declared body length (None when chunked or absent); a malformed one is a 400."""
    if headers.get("Transfer-Encoding"):
        return None
    values = {v.strip() for v in headers.get_all("Content-Length") or []}
    if not values:
        return None
    if len(values) > 1:
        raise RequestError(400, "conflicting Content-Length headers")
    text = values.pop()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise RequestError(400, f"invalid Content-Length: {text[:40]!r}")
    return int(text)


class BodyReader:
    """Reads a request body framed by Content-Length or chunked encoding (the framing
    headers were checked by ``check_framing`` before any handler runs)."""

    def __init__(self, rfile: io.BufferedIOBase, headers: Message,
                 before_first_read: Callable[[], None] | None = None) -> None:
        self._rfile = rfile
        self._before_first_read = before_first_read
        self._chunked = bool(headers.get("Transfer-Encoding"))
        self.length = content_length(headers)
        self._remaining = self.length or 0
        self._chunk_left = 0
        self._eof = not self._chunked and self._remaining == 0
        self._broken = False

    @property
    def done(self) -> bool:
        """Read to its end, so the connection can carry another request."""
        return self._eof and not self._broken

    def _malformed(self) -> errors.InvalidParameter:
        self._eof = self._broken = True  # the framing is lost: nothing more is read from it
        return errors.InvalidParameter("malformed chunked encoding in request body")

    def read(self, size: int = 65536) -> bytes:
        if self._eof:
            return b""
        if self._before_first_read is not None:
            self._before_first_read()
            self._before_first_read = None
        if not self._chunked:
            data = self._rfile.read(min(size, self._remaining))
            if not data:
                self._broken = True
                raise errors.InvalidParameter("unexpected EOF in request body")
            self._remaining -= len(data)
            self._eof = self._remaining == 0
            return data
        if self._chunk_left == 0:
            match = _CHUNK_SIZE.match(self._rfile.readline(1024))
            if match is None:
                raise self._malformed()
            self._chunk_left = int(match[1], 16)
            if self._chunk_left == 0:
                self._read_trailers()
                return b""
        data = self._rfile.read(min(size, self._chunk_left))
        if not data:
            self._broken = True
            raise errors.InvalidParameter("unexpected EOF in request body")
        self._chunk_left -= len(data)
        if self._chunk_left == 0 and self._rfile.readline(3) not in (b"\r\n", b"\n"):
            raise self._malformed()
        return data

    def _read_trailers(self) -> None:
        for _ in range(100):
            line = self._rfile.readline(8192)
            if line in (b"\r\n", b"\n", b""):
                self._eof = True
                return
        raise self._malformed()

    def read_all(self, limit: int = MAX_JSON_BODY) -> bytes:
        """The whole body, refused (413) as soon as it passes ``limit``: a declared length
        over it is refused before a byte is read, a chunked one once the limit is read."""
        if self.length is not None and self.length > limit:
            raise _too_large(self.length, limit)
        parts, total = [], 0
        while chunk := self.read(min(65536, limit + 1 - total)):
            total += len(chunk)
            if total > limit:
                raise _too_large(None, limit)
            parts.append(chunk)
        return b"".join(parts)

    def drain(self, limit: int | None = None) -> None:
        """Read and drop the rest; past ``limit`` bytes, give up (InvalidParameter)."""
        total = 0
        while chunk := self.read():
            total += len(chunk)
            if limit is not None and total > limit:
                raise _too_large(None, limit)


def _too_large(length: int | None, limit: int) -> RequestError:
    size = f" ({length} bytes)" if length is not None else ""
    return RequestError(413, f"request body larger than {limit} bytes{size}")


class Request:
    def __init__(self, handler: RequestHandler, method: str, path: str, query: str,
                 version: tuple[int, int], match: re.Match[str]) -> None:
        self.handler = handler
        self.method = method
        self.path = path
        self.query = parse_qs(query, keep_blank_values=True)
        for key, values in self.query.items():
            if "\x00" in key or any("\x00" in value for value in values):
                raise errors.InvalidParameter(
                    f"invalid query parameter {key[:40]!r}: contains a NUL character")
        self.version = version
        # percent-decoded, as Go's r.URL.Path is ("docker network rm 'a b'" sends a%20b)
        self.args = {key: unquote(value) for key, value in match.groupdict().items()}
        self.headers = handler.headers
        self.body = BodyReader(handler.rfile, handler.headers, handler.send_continue)
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
            number = int(value)
        except ValueError as exc:
            raise errors.InvalidParameter(f"invalid value for {name}: {value[:100]!r}") from exc
        if not _INT64[0] <= number <= _INT64[1]:
            raise errors.InvalidParameter(f"invalid value for {name}: {value[:100]!r}")
        return number

    def json_param(self, name: str, label: str | None = None) -> dict[str, Any]:
        """A query parameter holding a JSON object (``filters``, ``buildargs``, ``labels``);
        errors name it as ``label`` (dockerd says "invalid filter")."""
        raw = self.param(name)
        if not raw:
            return {}
        what = label or name
        parsed = parse_json(raw, what)
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
        return parse_json(data)

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
        h.connection.settimeout(None)  # a stream may rightly stay quiet for hours
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
        h.connection.settimeout(None)  # stdin of an attach may stay idle for hours
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
    header_timed_out = False
    expect_continue = False  # the client waits for "100 Continue" before its body
    plain_errors = False  # the request's API version answers errors as text (before 1.24)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s " + format, "api", *args)

    def handle_one_request(self) -> None:
        """Read one request under the header deadline, check its framing, dispatch it.
        Anything refused on the way is answered by ``_fail`` (JSON, then closed)."""
        self.command = self.requestline = ""
        self.expect_continue = False
        self.request_version = self.protocol_version  # an early answer has a status line
        self.close_connection = True
        self.connection.settimeout(None)  # the header watch alone times the headers
        self.server.header_watch.start(self)
        try:
            try:
                if not self._read_request_line():
                    return
                parsed = self.parse_request()  # a refusal is answered by send_error
            finally:
                timed_out = self.server.header_watch.stop(self)
            if timed_out:
                raise RequestError(408, "timed out reading the request")
            if not parsed:
                return
            if self.headers.defects:  # a line that is no header: the rest would be lost
                raise RequestError(400, "malformed header line in the request")
            if not self.request_version.startswith("HTTP/1."):  # 0.x: answers with no status
                raise RequestError(505, f"unsupported HTTP version {self.request_version[:20]!r}")
            self.connection.settimeout(self.server.body_timeout)
            self._check_framing()
            if self.command == "OPTIONS":
                self.do_OPTIONS()
            else:  # any other method that is a token is routed: dockerd 404s unknown ones
                self._dispatch(self.command)
            self.wfile.flush()
        except RequestError as exc:
            self._fail(None, exc.status, exc.message, framing_lost=True)
        except (TimeoutError, ConnectionError):
            self.close_connection = True

    def _read_request_line(self) -> bool:
        """The request line into ``raw_requestline``; False when there is none to answer
        (the client closed, or idled out between requests). Up to a few empty lines
        before it are skipped, as RFC 9112 allows."""
        for _ in range(4):
            line = self.rfile.readline(MAX_REQUEST_LINE + 1)
            if self.header_timed_out:
                if not line:
                    return False  # idle between requests: closed without a word
                raise RequestError(408, "timed out reading the request")
            if len(line) > MAX_REQUEST_LINE:
                raise RequestError(414, f"request line longer than {MAX_REQUEST_LINE} bytes")
            if not line or not line.endswith(b"\n"):
                return False  # hung up, maybe mid-line: no one to answer
            if line.strip():
                words = line.split()
                if len(words) != 3:
                    raise RequestError(400, "malformed HTTP request line")
                if not _TOKEN.match(words[0].decode("latin-1")):
                    raise RequestError(400, "invalid method in the request line")
                self.raw_requestline = line
                return True
        raise RequestError(400, "malformed HTTP request line")

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue``: the 100 is sent when a handler first reads the body
        (``send_continue``), so a body refused from its headers (413, 404) is never sent."""
        self.expect_continue = True
        return True

    def send_continue(self) -> None:
        if self.expect_continue:
            self.expect_continue = False
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()

    def _check_framing(self) -> None:
        """Transfer-Encoding and Content-Length as HTTP/1.1 (and Go's server) allow them."""
        codings = [c.strip().lower() for value in self.headers.get_all("Transfer-Encoding") or []
                   for c in value.split(",") if c.strip()]
        if codings and codings != ["chunked"]:
            raise RequestError(501, f"unsupported transfer encoding: {', '.join(codings)[:80]}")
        content_length(self.headers)

    def do_OPTIONS(self) -> None:
        """dockerd answers any OPTIONS (a CORS preflight) with an empty 200."""
        self._discard_body()
        self._send_empty(200)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server refuses while parsing (bad version, header lines too long or
        too many) goes through the one error path: JSON, never its HTML page."""
        self._fail(None, code, message or self.responses.get(code, ("error",))[0],
                   framing_lost=True)

    def _dispatch(self, method: str) -> None:
        version = _version_tuple(API_VERSION)
        request: Request | None = None
        self.plain_errors = False  # set again for each request of a kept-alive connection
        try:
            try:
                url = urlsplit(self.path)
            except ValueError as exc:
                raise errors.InvalidParameter(f"malformed request URI: {exc}") from exc
            path = url.path
            m = _VERSION_PREFIX.match(path)
            if m:
                version = (int(m.group(1)), int(m.group(2)))
                path = m.group(3)
                self.plain_errors = version < _PLAIN_ERRORS_BEFORE
            found = self.server.router.match(method, path)
            if found is None:  # routed first, as dockerd: no version error for no route
                self._discard_body()
                self._send_message(404, "page not found")
                return
            if version > _version_tuple(API_VERSION):
                raise errors.InvalidParameter(
                    f"client version {version[0]}.{version[1]} is too new. "
                    f"Maximum supported API version is {API_VERSION}")
            if version < _version_tuple(MIN_API_VERSION):
                raise errors.InvalidParameter(
                    f"client version {version[0]}.{version[1]} is too old. Minimum "
                    f"supported API version is {MIN_API_VERSION}, please upgrade your "
                    "client to a newer version")
            fn, match = found
            request = Request(self, method, path, url.query, version, match)
            result = fn(request)
            if request.responded:
                return
            try:
                request.body.drain(limit=DRAIN_LIMIT)
            except (errors.EngineError, RequestError):
                self.close_connection = True
            if isinstance(result, Json):
                self._send_json(result.status, result.body)
            elif result is None:
                self._send_empty(204)
            else:
                self._send_json(200, result)
        except errors.EngineError as exc:
            self._fail(request, http_status(exc), exc.message)
        except RequestError as exc:
            self._fail(request, exc.status, exc.message)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except TimeoutError:  # the client stalled past body_timeout (sending, or reading)
            self._fail(request, 408, "timed out reading the request body")
        except Exception as exc:  # a bug: answer 500, keep serving
            log.error("%s %s failed:\n%s", method, self.path, traceback.format_exc())
            self._fail(request, 500, str(exc) or exc.__class__.__name__)

    def _discard_body(self) -> None:
        """Read (bounded) the body of a request no handler takes, so that the next request
        on a kept-alive connection is parsed from its own first byte, not from this body."""
        if self.expect_continue:  # the client holds its body back: close instead
            self.close_connection = True
            return
        try:
            BodyReader(self.rfile, self.headers).drain(limit=DRAIN_LIMIT)
        except (errors.EngineError, RequestError, OSError, ValueError):
            self.close_connection = True

    def _fail(self, request: Request | None, status: int, message: str,
              framing_lost: bool = False) -> None:
        """The one place an error is answered: ``{"message": ...}`` with its status. When
        the request's body was left unread (or its framing is lost) the connection is
        closed after the answer, and what the client is still sending is read and dropped
        for a bounded time so that it gets to read the answer."""
        if request is not None and request.responded:
            self.close_connection = True
            return
        if self.request_version in ("", "HTTP/0.9"):
            self.request_version = self.protocol_version
        unread = framing_lost or (request is not None and not request.body.done)
        if not unread and request is None:
            self._discard_body()  # refused before routing (the API version): nothing read yet
        if unread:
            self.close_connection = True
        try:
            if status == 304:
                self._send_empty(304)
            else:
                self._send_message(status, message)
            if unread:
                self.wfile.flush()
                self._linger()
        except OSError:
            self.close_connection = True

    def _linger(self) -> None:
        """After an answer to a request whose body is not read: tell the client we are done
        writing, and drop what it still sends (at most DRAIN_LIMIT bytes, linger_timeout
        seconds), so that a client writing its whole body before reading sees the answer."""
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + self.server.linger_timeout
        dropped = 0
        try:
            while dropped < DRAIN_LIMIT:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                sock.settimeout(left)
                data = sock.recv(65536)
                if not data:
                    return
                dropped += len(data)
        except OSError:
            return

    def _send_message(self, status: int, message: str) -> None:
        """An error answer as dockerd writes it: ``{"message": ...}``, or the bare text for
        a path under an API version before 1.24, which had no JSON errors (Go's http.Error)."""
        if self.plain_errors:
            self._send_body(status, "text/plain; charset=utf-8", message.encode() + b"\n")
        else:
            self._send_json(status, {"message": message})

    def _send_json(self, status: int, body: Any) -> None:
        data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
        self._send_body(status, "application/json", data)

    def _send_body(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if content_type.startswith("text/plain"):
            self.send_header("X-Content-Type-Options", "nosniff")
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


class HeaderWatch:
    """One thread for all connections: a client that has not sent a whole request line and
    headers within ``APIServer.header_timeout`` (idle between requests, or dribbling) has
    its connection shut for reading, which ends the read its handler thread is blocked in."""

    def __init__(self, server: APIServer) -> None:
        self._server = server
        self._deadlines: dict[RequestHandler, float] = {}
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="header-watch", daemon=True)
        self._thread.start()

    def start(self, handler: RequestHandler) -> None:
        with self._wake:
            handler.header_timed_out = False
            self._deadlines[handler] = time.monotonic() + self._server.header_timeout
            self._wake.notify()

    def stop(self, handler: RequestHandler) -> bool:
        """Stop watching; True when the deadline passed first."""
        with self._wake:
            self._deadlines.pop(handler, None)
            return handler.header_timed_out

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while not self._closed:
                now = time.monotonic()
                for handler, deadline in list(self._deadlines.items()):
                    if deadline <= now:
                        del self._deadlines[handler]
                        handler.header_timed_out = True
                        try:
                            handler.connection.shutdown(socket.SHUT_RD)
                        except OSError:
                            pass
                soonest = min(self._deadlines.values(), default=now + 3600)
                self._wake.wait(max(0.01, soonest - now))


class APIServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    # the listen backlog, as Go (dockerd) sets it: the kernel's most (somaxconn). A client
    # connecting while it is full gets EAGAIN at once (Go's connect, so the docker CLI
    # fails), not a wait: 128 was too few for a few hundred clients arriving together
    request_queue_size = socket.SOMAXCONN
    header_timeout = 60.0  # seconds to send a request line and headers
    body_timeout: float | None = 300.0  # seconds a request body may stall between reads
    linger_timeout = 5.0  # seconds to drop an unread body after answering an error

    def __init__(self, path: str, router: Router) -> None:
        self.router = router
        self.header_watch = HeaderWatch(self)
        super().__init__(path, RequestHandler)

    def server_close(self) -> None:
        self.header_watch.close()
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is normal (the CLI drops its wait connection); log the rest."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        log.error("connection failed:\n%s", traceback.format_exc())

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, _addr = self.socket.accept()
        return conn, ("unix", 0)
