"""The Docker Engine API, one method per endpoint (docker-py's shape), JSON in and out.

Every response passes through ``_raise_for_status``, the one place a daemon error
becomes a typed exception. Streaming endpoints return iterators; attach and
exec-start return a ``HijackedSocket``.
"""

from __future__ import annotations

import json

from .errors import error_for_status, error_message
from .hijack import HijackedSocket, hijack
from .images_api import ImageCalls
from .transport import (
    USER_AGENT,
    Connection,
    Host,
    Response,
    open_connection,
    open_socket,
    parse_host,
    unreachable,
)
from .wire import StreamingResponse, decode_path_stat, iter_json_lines, query_string, quote

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO, Any

    JSON = Any

API_VERSION = "1.41"
class APIClient(ImageCalls):
    """A client for one daemon; cheap to build, connects per request."""

    def __init__(self, host: str, version: str = API_VERSION, timeout: float | None = None):
        self.host: Host = parse_host(host)
        self.api_version = version
        self.timeout = timeout

    # --- plumbing -------------------------------------------------------------------

    def _url(self, path: str, params: dict[str, Any] | None = None) -> str:
        return f"/v{self.api_version}{path}" + query_string(params or {})

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: JSON | bytes | IO[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Connection, Response]:
        conn = open_connection(self.host, self.timeout)
        hdrs = {"User-Agent": USER_AGENT}
        payload: Any = body
        if body is not None and not isinstance(body, bytes | bytearray) and not hasattr(body, "read"):
            payload = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        try:
            conn.request(method, self._url(path, params), payload, hdrs)
            response = conn.getresponse()
        except OSError as exc:
            conn.close()
            raise unreachable(self.host, exc) from exc
        try:
            self._raise_for_status(response)
        except BaseException:
            conn.close()
            raise
        return conn, response

    @staticmethod
    def _raise_for_status(response: Response) -> None:
        """The one chokepoint turning a daemon error into a typed exception."""
        if response.status < 300:
            return
        message = error_message(response.read())
        if response.status == 304 and not message:
            message = "not modified"
        raise error_for_status(response.status, message)

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None,
              body: JSON | None = None, headers: dict[str, str] | None = None) -> JSON:
        conn, response = self._send(method, path, params, body, headers)
        try:
            raw = response.read()
        finally:
            conn.close()
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _stream(self, method: str, path: str, params: dict[str, Any] | None = None,
                body: JSON | bytes | IO[bytes] | None = None,
                headers: dict[str, str] | None = None) -> StreamingResponse:
        conn, response = self._send(method, path, params, body, headers)
        return StreamingResponse(conn, response)

    def _hijack(self, path: str, params: dict[str, Any], body: JSON | None = None) -> HijackedSocket:
        sock = open_socket(self.host)
        payload = None if body is None else json.dumps(body).encode()
        try:
            return hijack(sock, "POST", self._url(path, params), payload)
        except OSError as exc:
            sock.close()
            raise unreachable(self.host, exc) from exc

    # --- system ---------------------------------------------------------------------

    def ping(self) -> str:
        return str(self._call("GET", "/_ping"))

    def version(self) -> JSON:
        return self._call("GET", "/version")

    def info(self) -> JSON:
        return self._call("GET", "/info")

    def events(self, since: str | None = None, until: str | None = None,
               filters: dict[str, list[str]] | None = None) -> Iterator[JSON]:
        stream = self.events_response(since, until, filters)
        try:
            yield from iter_json_lines(iter(stream))
        finally:
            stream.close()

    def events_response(self, since: str | None = None, until: str | None = None,
                        filters: dict[str, list[str]] | None = None) -> StreamingResponse:
        """``GET /events`` left open, for a follower that must be stoppable from another
        thread (``abort``); ``iter_json_lines(iter(response))`` reads it."""
        return self._stream("GET", "/events", {"since": since, "until": until,
                                               "filters": filters or None})

    # --- containers -----------------------------------------------------------------

    def containers(self, all: bool = False, limit: int | None = None, size: bool = False,
                   filters: dict[str, list[str]] | None = None) -> list[JSON]:
        params = {"all": all, "limit": limit if limit and limit > 0 else None, "size": size,
                  "filters": filters or None}
        return self._call("GET", "/containers/json", params) or []

    def create_container(self, body: JSON, name: str | None = None,
                         platform: str | None = None) -> JSON:
        return self._call("POST", "/containers/create", {"name": name, "platform": platform}, body)

    def inspect_container(self, ref: str, size: bool = False) -> JSON:
        return self._call("GET", f"/containers/{quote(ref)}/json", {"size": size})

    def start(self, ref: str) -> None:
        self._call("POST", f"/containers/{quote(ref)}/start")

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        self._call("POST", f"/containers/{quote(ref)}/stop", {"t": timeout, "signal": signal})

    def restart(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        self._call("POST", f"/containers/{quote(ref)}/restart", {"t": timeout, "signal": signal})

    def kill(self, ref: str, signal: str | None = None) -> None:
        self._call("POST", f"/containers/{quote(ref)}/kill", {"signal": signal})

    def remove_container(self, ref: str, force: bool = False, v: bool = False) -> None:
        self._call("DELETE", f"/containers/{quote(ref)}", {"force": force, "v": v})

    def update_container(self, ref: str, body: dict[str, Any]) -> JSON:
        return self._call("POST", f"/containers/{quote(ref)}/update", None, body)

    def prune_containers(self, filters: dict[str, list[str]] | None = None) -> JSON:
        return self._call("POST", "/containers/prune", {"filters": filters or None})

    def wait(self, ref: str, condition: str | None = None) -> JSON:
        return self._call("POST", f"/containers/{quote(ref)}/wait", {"condition": condition})

    def wait_begin(self, ref: str, condition: str | None = None) -> StreamingResponse:
        """Register a wait now (the daemon answers headers at once); read the result later."""
        return self._stream("POST", f"/containers/{quote(ref)}/wait", {"condition": condition})

    def pause(self, ref: str) -> None:
        self._call("POST", f"/containers/{quote(ref)}/pause")

    def unpause(self, ref: str) -> None:
        self._call("POST", f"/containers/{quote(ref)}/unpause")

    def rename(self, ref: str, name: str) -> None:
        self._call("POST", f"/containers/{quote(ref)}/rename", {"name": name})

    def top(self, ref: str, ps_args: str | None = None) -> JSON:
        return self._call("GET", f"/containers/{quote(ref)}/top", {"ps_args": ps_args})

    def resize(self, ref: str, height: int, width: int) -> None:
        self._call("POST", f"/containers/{quote(ref)}/resize", {"h": height, "w": width})

    def logs(self, ref: str, follow: bool = False, stdout: bool = True, stderr: bool = True,
             timestamps: bool = False, tail: str | None = None, since: str | None = None,
             until: str | None = None) -> StreamingResponse:
        params = {"follow": follow, "stdout": stdout, "stderr": stderr,
                  "timestamps": timestamps, "tail": tail, "since": since, "until": until}
        return self._stream("GET", f"/containers/{quote(ref)}/logs", params)

    def attach(self, ref: str, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               logs: bool = False, detach_keys: str | None = None) -> HijackedSocket:
        params = {"stream": True, "stdin": stdin, "stdout": stdout, "stderr": stderr,
                  "logs": logs or None, "detachKeys": detach_keys}
        return self._hijack(f"/containers/{quote(ref)}/attach", params)

    # --- exec -----------------------------------------------------------------------

    def exec_create(self, ref: str, body: JSON) -> JSON:
        return self._call("POST", f"/containers/{quote(ref)}/exec", None, body)

    def exec_start(self, exec_id: str, tty: bool = False) -> HijackedSocket:
        return self._hijack(f"/exec/{quote(exec_id)}/start", {}, {"Detach": False, "Tty": tty})

    def exec_start_detached(self, exec_id: str, tty: bool = False) -> None:
        self._call("POST", f"/exec/{quote(exec_id)}/start", None, {"Detach": True, "Tty": tty})

    def exec_inspect(self, exec_id: str) -> JSON:
        return self._call("GET", f"/exec/{quote(exec_id)}/json")

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        self._call("POST", f"/exec/{quote(exec_id)}/resize", {"h": height, "w": width})

    # --- container files (cp, export, diff, commit) ----------------------------------

    def stat_container_path(self, ref: str, path: str) -> JSON:
        """``HEAD /containers/{id}/archive``: the path's stat (a HEAD error has no body)."""
        from .errors import NotFound

        try:
            conn, response = self._send("HEAD", f"/containers/{quote(ref)}/archive",
                                        {"path": path})
        except NotFound as exc:
            raise NotFound(404, exc.message or
                           f"Could not find the file {path} in container {ref}") from exc
        conn.close()
        return decode_path_stat(response.headers.get("x-docker-container-path-stat"))

    def get_archive(self, ref: str, path: str) -> tuple[StreamingResponse, JSON]:
        """``GET /containers/{id}/archive``: the tar stream and the path's stat."""
        stream = self._stream("GET", f"/containers/{quote(ref)}/archive", {"path": path})
        return stream, decode_path_stat(stream.headers.get("x-docker-container-path-stat"))

    def put_archive(self, ref: str, path: str, data: IO[bytes] | bytes,
                    no_overwrite_dir_non_dir: bool = False, copy_uid_gid: bool = False) -> None:
        """``PUT /containers/{id}/archive``: a tar extracted into the directory ``path``."""
        params = {"path": path, "noOverwriteDirNonDir": no_overwrite_dir_non_dir,
                  "copyUIDGID": copy_uid_gid}
        conn, response = self._send("PUT", f"/containers/{quote(ref)}/archive", params, data,
                                    {"Content-Type": "application/x-tar"})
        try:
            response.read()
        finally:
            conn.close()

    def export_container(self, ref: str) -> StreamingResponse:
        return self._stream("GET", f"/containers/{quote(ref)}/export")

    def container_changes(self, ref: str) -> list[JSON] | None:
        changes: list[JSON] | None = self._call("GET", f"/containers/{quote(ref)}/changes")
        return changes

    def commit(self, container: str, repo: str | None = None, tag: str | None = None,
               comment: str | None = None, author: str | None = None, pause: bool = True,
               changes: list[str] | None = None, config: JSON | None = None) -> JSON:
        """``POST /commit``; ``config`` (the body) overrides the container's config."""
        params = {"container": container, "repo": repo, "tag": tag, "comment": comment,
                  "author": author, "pause": "1" if pause else "0", "changes": changes or None}
        return self._call("POST", "/commit", params, config if config is not None else {})

    # --- images ---------------------------------------------------------------------

    def stats(self, container: str, stream: bool = True) -> Iterator[JSON]:
        """``GET /containers/{id}/stats``: one sample, or one a second while it runs."""
        response = self._stream("GET", f"/containers/{quote(container)}/stats",
                                {"stream": "1" if stream else "0"})
        try:
            yield from iter_json_lines(iter(response))
        finally:
            response.close()

    # --- networks -------------------------------------------------------------------

    def networks(self, filters: dict[str, list[str]] | None = None) -> list[JSON]:
        return self._call("GET", "/networks", {"filters": filters or None}) or []

    def create_network(self, body: JSON) -> JSON:
        """``POST /networks/create``; ``body`` is the whole request, ``Name`` included."""
        return self._call("POST", "/networks/create", None, body)

    def inspect_network(self, ref: str, verbose: bool = False, scope: str | None = None) -> JSON:
        return self._call("GET", f"/networks/{quote(ref)}",
                          {"verbose": "true" if verbose else None, "scope": scope or None})

    def remove_network(self, ref: str) -> None:
        self._call("DELETE", f"/networks/{quote(ref)}")

    def connect_network(self, ref: str, container: str, endpoint: JSON | None = None) -> None:
        self._call("POST", f"/networks/{quote(ref)}/connect", None,
                   {"Container": container, "EndpointConfig": endpoint})

    def disconnect_network(self, ref: str, container: str, force: bool = False) -> None:
        self._call("POST", f"/networks/{quote(ref)}/disconnect", None,
                   {"Container": container, "Force": force})

    def prune_networks(self, filters: dict[str, list[str]] | None = None) -> JSON:
        return self._call("POST", "/networks/prune", {"filters": filters or None})

    def disk_usage(self) -> JSON:
        return self._call("GET", "/system/df")

    def volumes(self, filters: dict[str, list[str]] | None = None) -> JSON:
        """``GET /volumes``: ``{"Volumes": [...], "Warnings": ...}``."""
        return self._call("GET", "/volumes", {"filters": filters or None}) or {}

    def create_volume(self, name: str = "", driver: str = "local",
                      labels: dict[str, str] | None = None,
                      driver_opts: dict[str, str] | None = None) -> JSON:
        body = {"Driver": driver, "DriverOpts": driver_opts or {}, "Labels": labels or {},
                "Name": name}
        return self._call("POST", "/volumes/create", None, body)

    def inspect_volume(self, name: str) -> JSON:
        return self._call("GET", f"/volumes/{quote(name)}")

    def remove_volume(self, name: str, force: bool = False) -> None:
        self._call("DELETE", f"/volumes/{quote(name)}", {"force": force})

    def prune_volumes(self, filters: dict[str, list[str]] | None = None) -> JSON:
        return self._call("POST", "/volumes/prune", {"filters": filters or None})
