"""The wire format shared by the API client's calls: query strings and paths encoded
as the docker CLI encodes them, JSON streams decoded, and open response bodies."""

from __future__ import annotations

import json

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from .transport import Connection, Response

    JSON = Any

# Characters left as they are in a query value or path segment (RFC 3986 unreserved).
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(value: str, safe: str = "") -> str:
    """Percent-encode ``value`` as UTF-8 (``urllib.parse.quote``'s rules, without its import)."""
    keep = _UNRESERVED | frozenset(safe.encode())
    return "".join(chr(byte) if byte in keep else f"%{byte:02X}" for byte in value.encode("utf-8"))


def query_string(values: dict[str, Any]) -> str:
    """Query string, dropping unset values; booleans as 1/0 like the docker CLI."""
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None or value is False and key not in ("stdin", "stdout", "stderr"):
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, dict):
            if key == "filters":  # as docker's filters.ToJSON: {"name": {"value": true}}
                value = {name: dict.fromkeys(sorted(items), True)
                         for name, items in sorted(value.items())}
            value = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, list):
            pairs.extend((key, str(item)) for item in value)
            continue
        pairs.append((key, str(value)))
    if not pairs:
        return ""
    return "?" + "&".join(f"{quote(k).replace('%20', '+')}={quote(v).replace('%20', '+')}"
                          for k, v in pairs)


def iter_json_lines(chunks: Iterator[bytes]) -> Iterator[JSON]:
    """Decode a stream of concatenated JSON values (events, load/pull progress)."""
    decoder = json.JSONDecoder()
    buffer = ""
    pending = b""
    for chunk in chunks:
        pending += chunk
        try:
            buffer += pending.decode("utf-8")
            pending = b""
        except UnicodeDecodeError:
            continue
        while True:
            buffer = buffer.lstrip()
            if not buffer:
                break
            try:
                value, end = decoder.raw_decode(buffer)
            except ValueError:
                break
            buffer = buffer[end:]
            yield value


def decode_path_stat(value: str | None) -> JSON:
    """The ``X-Docker-Container-Path-Stat`` header: base64 of the path's JSON stat."""
    import base64

    return json.loads(base64.b64decode(value)) if value else {}


class StreamingResponse:
    """An open response body; iterate for raw chunks, ``close`` to drop the connection."""

    def __init__(self, conn: Connection, response: Response):
        self.conn = conn
        self.response = response
        self.headers = response.headers

    def __iter__(self) -> Iterator[bytes]:
        try:
            while True:
                chunk = self.response.read1(65536)
                if not chunk:
                    return
                yield chunk
        except ConnectionError:
            return

    def read(self) -> bytes:
        return self.response.read()

    def close(self) -> None:
        self.conn.close()

    def abort(self) -> None:
        """Safe from another thread: the reader of this response sees its end."""
        self.conn.abort()
