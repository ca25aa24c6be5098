"""Owns the connection to the daemon, so nothing else touches sockets.

A host string is ``unix:///path`` or ``tcp://host:port`` (``http://`` accepted).
The host is chosen as docker does: the ``-H`` flag, then ``COVE_HOST``, then
``DOCKER_HOST``, then the default socket.

HTTP/1.1 is spoken here directly rather than through ``http.client``: that module
imports ``email.parser`` and ``ssl`` (a quarter of ``cove run``'s client-side time),
and the Engine API needs only a request line, a few headers, and Content-Length or
chunked bodies. For the same reason a Unix socket is opened with ``_socket``, the C
module under ``socket``: ``socket.py`` builds several enums at import. TCP hosts
(rare, and needing name resolution) use the full ``socket`` module.
"""

from __future__ import annotations

import _socket
import os

from cove.common.version import VERSION

from .errors import APIError, DaemonUnreachable

TYPE_CHECKING = False  # ``typing`` itself costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from typing import IO

DEFAULT_HOST = "unix:///run/cove.sock"
USER_AGENT = f"Cove-Client/{VERSION}"
MAX_HEADER_BYTES = 64 * 1024
_RECV = 65536


class Host:
    """A parsed daemon address; ``url`` keeps the user's spelling for messages."""

    __slots__ = ("url", "scheme", "path", "address", "port")

    def __init__(self, url: str, scheme: str, path: str = "", address: str = "",
                 port: int = 0) -> None:
        self.url = url
        self.scheme = scheme  # "unix" or "tcp"
        self.path = path
        self.address = address
        self.port = port

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Host) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __hash__(self) -> int:
        return hash(self.url)

    def __repr__(self) -> str:
        return f"Host(url={self.url!r}, scheme={self.scheme!r})"

    @property
    def header(self) -> str:
        """The request's ``Host`` header value."""
        if self.scheme == "unix":
            return "localhost"
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{address}:{self.port}"


def resolve_host(flag: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The host URL to use: flag, then COVE_HOST, then DOCKER_HOST, then the context
    (``COVE_CONTEXT``, then config.json's ``currentContext``; see ``contexts``)."""
    env = os.environ if environ is None else environ
    for candidate in (flag, env.get("COVE_HOST"), env.get("DOCKER_HOST")):
        if candidate:
            return candidate
    from . import contexts

    try:
        return contexts.host_of(contexts.current(env))
    except contexts.ContextError as exc:
        raise ValueError(f"Failed to initialize: {exc}") from exc


def parse_host(url: str) -> Host:
    """Split a host URL; raises ValueError with docker's wording when malformed."""
    if url.startswith("unix://"):
        path = url[len("unix://"):]
        if not path:
            raise ValueError(f"invalid host: {url}")
        return Host(url=url, scheme="unix", path=path)
    if url.startswith("/"):
        return Host(url="unix://" + url, scheme="unix", path=url)
    for prefix in ("tcp://", "http://"):
        if url.startswith(prefix):
            rest = url[len(prefix):].rstrip("/")
            address, _, port = rest.rpartition(":")
            if not address:
                address, port = rest, "2375"
            try:
                return Host(url=url, scheme="tcp", address=address.strip("[]"), port=int(port))
            except ValueError as exc:
                raise ValueError(f"invalid host: {url}") from exc
    raise ValueError(f"unable to parse docker host `{url}`")


def connect(host: Host, timeout: float | None = None) -> _socket.socket:
    """A connected stream socket to ``host``; ``OSError`` is left to the caller to translate."""
    if host.scheme == "unix":
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        if timeout is not None:
            sock.settimeout(timeout)
        try:
            sock.connect(host.path)
        except OSError:
            sock.close()
            raise
        return sock
    import socket

    tcp = socket.create_connection((host.address, host.port), timeout=timeout)
    tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return tcp


def open_socket(host: Host) -> _socket.socket:
    """A connected raw socket, for hijacked (upgraded) streams."""
    try:
        return connect(host)
    except OSError as exc:
        raise unreachable(host, exc) from exc


def unreachable(host: Host, exc: OSError) -> DaemonUnreachable:
    """Docker's message for a daemon that does not answer."""
    if isinstance(exc, PermissionError):
        return DaemonUnreachable(
            f"permission denied while trying to connect to the Cove daemon socket at {host.url}"
        )
    return DaemonUnreachable(
        f"Cannot connect to the Cove daemon at {host.url}. Is the cove daemon running?"
    )


def request_head(method: str, target: str, host_header: str,
                 headers: dict[str, str]) -> bytes:
    """The request line and headers, ending with the blank line."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_head(sock: _socket.socket) -> tuple[int, str, dict[str, str], bytes]:
    """Read a status line and headers: (status, reason, lower-cased headers, bytes after them)."""
    data = b""
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(data) > MAX_HEADER_BYTES:
            raise APIError(0, "response headers too long")
        chunk = sock.recv(_RECV)
        if not chunk:
            raise ConnectionResetError("the daemon closed the connection before answering")
        data += chunk
    lines = data[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError) as exc:
        raise APIError(0, f"malformed status line: {lines[0]!r}") from exc
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, parts[2] if len(parts) > 2 else "", headers, data[end + 4:]


class Response:
    """A response body read incrementally: ``read1`` returns what has arrived, ``read`` all."""

    def __init__(self, sock: _socket.socket, method: str) -> None:
        self._sock = sock
        self.status, self.reason, self.headers, self._buf = read_head(sock)
        self._done = False
        self._chunked = False
        self._left = -1  # bytes left in the body (Content-Length) or current chunk; -1: until close
        self._need_crlf = False
        if method == "HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self._done = True
        elif "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._chunked = True
            self._left = 0
        elif self.headers.get("content-length", "").isdigit():
            self._left = int(self.headers["content-length"])
            self._done = self._left == 0

    @property
    def buffered(self) -> bytes:
        """Bytes received after the headers and not yet read (an upgraded stream's start)."""
        return self._buf

    def _fill(self) -> bool:
        """One ``recv`` into the buffer; False at end of stream."""
        try:
            chunk = self._sock.recv(_RECV)
        except ConnectionError:
            chunk = b""
        if not chunk:
            return False
        self._buf += chunk
        return True

    def _next_chunk_size(self) -> bool:
        """Parse the next chunk-size line; False once the last chunk (or EOF) is reached."""
        while True:
            if self._need_crlf:
                if len(self._buf) < 2 and not self._fill():
                    return False
                if len(self._buf) >= 2:
                    self._buf = self._buf[2:]
                    self._need_crlf = False
                continue
            line_end = self._buf.find(b"\r\n")
            if line_end >= 0:
                break
            if not self._fill():
                return False
        size_line = self._buf[:line_end].split(b";", 1)[0].strip()
        self._buf = self._buf[line_end + 2:]
        try:
            size = int(size_line, 16)
        except ValueError:
            return False
        if size == 0:
            return False  # trailers, if any, are left unread: the connection is closed after
        self._left = size
        return True

    def read1(self, size: int = _RECV) -> bytes:
        """Up to ``size`` body bytes, blocking only while nothing has arrived; b"" at the end."""
        if self._done:
            return b""
        if self._chunked and self._left == 0:
            if not self._next_chunk_size():
                self._done = True
                return b""
        if not self._buf and not self._fill():
            self._done = True
            return b""
        take = size if self._left < 0 else min(size, self._left)
        data, self._buf = self._buf[:take], self._buf[take:]
        if self._left >= 0:
            self._left -= len(data)
            if self._left == 0:
                if self._chunked:
                    self._need_crlf = True
                else:
                    self._done = True
        return data

    def read(self) -> bytes:
        """The rest of the body."""
        parts: list[bytes] = []
        while True:
            data = self.read1()
            if not data:
                return b"".join(parts)
            parts.append(data)


class Connection:
    """One HTTP/1.1 exchange on its own socket (the daemon's connection per request model)."""

    def __init__(self, host: Host, timeout: float | None = None) -> None:
        self.host = host
        self.timeout = timeout
        self.sock: _socket.socket | None = None
        self._method = "GET"

    def request(self, method: str, target: str, body: bytes | IO[bytes] | None = None,
                headers: dict[str, str] | None = None) -> None:
        """Send the request; a file-like body goes out chunked, bytes with Content-Length."""
        hdrs = dict(headers or {})
        streamed = body is not None and hasattr(body, "read")
        if streamed:
            hdrs["Transfer-Encoding"] = "chunked"
        elif body is not None:
            hdrs["Content-Length"] = str(len(body))  # type: ignore[arg-type]
        elif method in ("POST", "PUT"):
            hdrs["Content-Length"] = "0"
        head = request_head(method, target, self.host.header, hdrs)
        self.sock = connect(self.host, self.timeout)
        self._method = method
        if streamed:
            self.sock.sendall(head)
            reader = body.read  # type: ignore[union-attr]
            while True:
                data = reader(_RECV)
                if not data:
                    break
                self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
            self.sock.sendall(b"0\r\n\r\n")
        else:
            self.sock.sendall(head + (body or b""))  # type: ignore[operator]

    def getresponse(self) -> Response:
        if self.sock is None:
            raise ConnectionError("no request was sent")
        return Response(self.sock, self._method)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def abort(self) -> None:
        """End the exchange from another thread: a read blocked on the socket returns
        (``close`` alone does not wake it)."""
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass


def open_connection(host: Host, timeout: float | None = None) -> Connection:
    """A fresh, not-yet-connected connection to ``host``."""
    return Connection(host, timeout)
