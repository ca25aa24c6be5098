"""A loopback HTTP proxy in front of a real registry that drops blob downloads midway.

Resuming an interrupted download can only be tested against a connection that
really dies, and the registry itself never drops one. This proxy forwards every
request to the upstream registry unchanged, except that a blob ``GET`` whose body
is larger than ``cut_after`` is answered with the registry's full headers (so the
client expects every byte) but only ``cut_after`` bytes of body, and then the
socket is closed. ``cuts`` says how many times each blob is cut; after that its
downloads go through whole. With ``honour_range=False`` the proxy strips the
client's ``Range`` header, so the registry answers 200 with the whole blob, as a
registry that ignores Range would.

Every request is recorded in ``seen`` (what the client asked, what it got), so a
test can assert what the retry carried.
"""

from __future__ import annotations

import http.client
import http.server
import threading
from dataclasses import dataclass
from typing import Any

# hop-by-hop headers, and the length we set ourselves once the body is read
_SKIP_REQUEST = {"host", "connection", "keep-alive", "proxy-connection", "te", "upgrade"}
_SKIP_RESPONSE = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Seen:
    """One request as the proxy saw it: ``range`` is the client's Range header."""

    method: str
    path: str
    range: str | None
    status: int = 0
    length: int = 0  # the Content-Length the client was promised
    sent: int = 0  # body bytes actually sent
    cut: bool = False


class CuttingProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, cut_after: int, cuts: int = 1,
                 honour_range: bool = True) -> None:
        self.upstream = upstream  # "127.0.0.1:5000"
        self.cut_after = cut_after
        self.cuts = cuts
        self.honour_range = honour_range
        self.seen: list[Seen] = []
        self._cut_count: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def blob_gets(self, digest: str) -> list[Seen]:
        """The GETs of one blob, in the order they arrived."""
        with self._lock:
            return [s for s in self.seen
                    if s.method == "GET" and s.path.endswith(f"/blobs/{digest}")]

    def should_cut(self, path: str, total: int) -> bool:
        """Cut this blob body (``total``: the whole blob's size, not this part's)?
        Counts the cut, so ``cuts`` bounds it per blob."""
        if "/blobs/" not in path or total <= self.cut_after:
            return False
        with self._lock:
            done = self._cut_count.get(path, 0)
            if done >= self.cuts:
                return False
            self._cut_count[path] = done + 1
            return True

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def __enter__(self) -> CuttingProxy:
        self._thread = threading.Thread(target=self.serve_forever, name="cutting-proxy",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CuttingProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._forward()

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._forward()

    def _forward(self) -> None:
        seen = Seen(self.command, self.path, self.headers.get("Range"))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _SKIP_REQUEST}
        if not self.server.honour_range:
            headers = {k: v for k, v in headers.items() if k.lower() != "range"}
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=30)
        try:
            upstream.request(self.command, self.path, headers=headers)
            resp = upstream.getresponse()
            # registry blobs in these tests are small: read whole, then decide what to send
            body = resp.read() if self.command != "HEAD" else b""
            seen.status = resp.status
            seen.length = int(resp.getheader("Content-Length") or len(body))
            self.send_response(resp.status)
            for key, value in resp.getheaders():
                if key.lower() not in _SKIP_RESPONSE:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(seen.length))
            self.end_headers()
            if self.command == "HEAD":
                return
            total = seen.length
            if resp.status == 206:  # Content-Range: bytes <first>-<last>/<total>
                total = int((resp.getheader("Content-Range") or "/0").rpartition("/")[2])
            if self.command == "GET" and resp.status in (200, 206) and len(body) > 1 and \
                    self.server.should_cut(self.path, total):
                # always at least one byte short, so a resumed part is cut again too
                body, seen.cut = body[: min(self.server.cut_after, len(body) - 1)], True
                self.close_connection = True
            self.wfile.write(body)
            self.wfile.flush()
            seen.sent = len(body)
        finally:
            upstream.close()
            self.server.record(seen)
