"""The image, registry and build endpoints of ``APIClient`` (a mixin, to keep each file
about one concern); they use the client's ``_call``/``_stream``/``_send``."""

from __future__ import annotations

import json

from .wire import StreamingResponse, iter_json_lines, quote

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO, Any

    JSON = Any


class ImageCalls:
    """Images, registries and builds; mixed into ``APIClient``."""

    if TYPE_CHECKING:
        def _call(self, method: str, path: str, params: dict[str, Any] | None = None,
                  body: JSON | None = None, headers: dict[str, str] | None = None) -> JSON: ...

        def _stream(self, method: str, path: str, params: dict[str, Any] | None = None,
                    body: JSON | bytes | IO[bytes] | None = None,
                    headers: dict[str, str] | None = None) -> StreamingResponse: ...

        def _send(self, method: str, path: str, params: dict[str, Any] | None = None,
                  body: JSON | bytes | IO[bytes] | None = None,
                  headers: dict[str, str] | None = None) -> Any: ...

    def images(self, all: bool = False, filters: dict[str, list[str]] | None = None,
               digests: bool = False) -> list[JSON]:
        return self._call("GET", "/images/json",
                          {"all": all, "filters": filters or None, "digests": digests}) or []

    def inspect_image(self, ref: str) -> JSON:
        return self._call("GET", f"/images/{ref}/json")

    def history(self, ref: str) -> list[JSON]:
        return self._call("GET", f"/images/{ref}/history") or []

    def remove_image(self, ref: str, force: bool = False, noprune: bool = False) -> list[JSON]:
        return self._call("DELETE", f"/images/{ref}", {"force": force, "noprune": noprune}) or []

    def tag(self, ref: str, repo: str, tag: str | None = None) -> None:
        self._call("POST", f"/images/{ref}/tag", {"repo": repo, "tag": tag})

    def prune_build_cache(self, everything: bool = False,
                          filters: dict[str, list[str]] | None = None) -> JSON:
        return self._call("POST", "/build/prune", {"all": everything or None,
                                                   "filters": filters or None})

    def search(self, term: str, limit: int | None = None,
               filters: dict[str, list[str]] | None = None,
               registry_auth: str | None = None) -> JSON:
        """``GET /images/search``; ``registry_auth`` is the X-Registry-Auth header value."""
        headers = {"X-Registry-Auth": registry_auth} if registry_auth else None
        return self._call("GET", "/images/search", {"term": term, "limit": limit,
                                                    "filters": filters or None},
                          headers=headers) or []

    def prune_images(self, filters: dict[str, list[str]] | None = None) -> JSON:
        return self._call("POST", "/images/prune", {"filters": filters or None})

    def import_image(self, source: str, data: IO[bytes] | None, repo: str = "",
                     message: str = "", changes: list[str] | None = None,
                     platform: str | None = None) -> Iterator[JSON]:
        """``POST /images/create?fromSrc=``: a rootfs tar (``data``, source ``-``) or a URL."""
        params = {"fromSrc": source, "repo": repo, "tag": "", "message": message,
                  "platform": platform, "changes": list(changes or [])}
        stream = self._stream("POST", "/images/create", params, data,
                              {"Content-Type": "application/x-tar"} if data is not None else None)
        try:
            yield from iter_json_lines(iter(stream))
        finally:
            stream.close()

    def load(self, data: IO[bytes] | bytes, quiet: bool = False) -> Iterator[JSON]:
        stream = self._stream("POST", "/images/load", {"quiet": quiet}, data,
                              {"Content-Type": "application/x-tar"})
        try:
            yield from iter_json_lines(iter(stream))
        finally:
            stream.close()

    def build(self, context: IO[bytes], params: dict[str, Any],
              registry_config: str | None = None) -> Iterator[JSON]:
        """``POST /build`` with the context tar streamed as the body; yields the messages.

        ``registry_config`` is the ``X-Registry-Config`` header: the logins the daemon may
        use to pull FROM images."""
        headers = {"Content-Type": "application/x-tar"}
        if registry_config:
            headers["X-Registry-Config"] = registry_config
        stream = self._stream("POST", "/build", params, context, headers)
        try:
            yield from iter_json_lines(iter(stream))
        finally:
            stream.close()

    def save(self, refs: list[str]) -> StreamingResponse:
        return self._stream("GET", "/images/get", {"names": refs})

    def pull(self, image: str, tag: str | None = None, platform: str | None = None,
             registry_auth: str | None = None) -> Iterator[JSON]:
        """``POST /images/create``; ``registry_auth`` is the X-Registry-Auth header value.

        The request is sent when the iterator is first advanced; an HTTP error (bad
        reference, denied) is raised then, errors after the first byte arrive in the stream.
        """
        headers = {"X-Registry-Auth": registry_auth} if registry_auth else None
        stream = self._stream("POST", "/images/create",
                              {"fromImage": image, "tag": tag, "platform": platform},
                              headers=headers)
        try:
            yield from iter_json_lines(iter(stream))
        finally:
            stream.close()

    def push(self, name: str, tag: str | None = None, registry_auth: str | None = None,
             platform: str | None = None) -> Iterator[JSON]:
        """``POST /images/{name}/push``; docker sends the name unescaped (it holds ``/``)."""
        headers = {"X-Registry-Auth": registry_auth or "e30="}
        stream = self._stream("POST", f"/images/{quote(name, safe='/:')}/push",
                              {"tag": tag, "platform": platform}, headers=headers)
        try:
            yield from iter_json_lines(iter(stream))
        finally:
            stream.close()

    # --- volumes --------------------------------------------------------------------

    def login(self, auth_config: dict[str, str]) -> JSON:
        """``POST /auth``: the daemon checks the credentials against the registry."""
        body = json.dumps(auth_config, separators=(",", ":")).encode() + b"\n"
        conn, response = self._send("POST", "/auth", None, body,
                                    {"Content-Type": "application/json"})
        try:
            raw = response.read()
        finally:
            conn.close()
        return json.loads(raw) if raw.strip() else {}
