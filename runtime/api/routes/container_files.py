"""/containers/{id}/archive, /export, /changes and /commit: a container's files."""

from __future__ import annotations

from typing import Any

from cove.runtime.api.server import HANDLED, Json, Request, Route
from cove.runtime.api.streams import ChunkedWriter
from cove.runtime.engine.container_files import stat_header
from cove.runtime.engine.system import API_VERSION


def _send_tar(req: Request, stream: Any, extra: dict[str, str]) -> Any:
    """A tar body of unknown length, after headers that may carry the path's stat."""
    h = req.handler
    try:
        h.send_response(200)
        h.send_header("Content-Type", "application/x-tar")
        h.send_header("Api-Version", API_VERSION)
        for key, value in extra.items():
            h.send_header(key, value)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        req.responded = True
        out = ChunkedWriter(h.wfile)
        stream.write_to(out)
        out.close()
    finally:
        stream.close()
    return HANDLED


def routes(engine: Any) -> list[Route]:
    files = engine.container_files

    def stat(req: Request) -> Any:
        info = files.stat_path(req.args["id"], req.param("path"))
        req.handler.send_raw(200, {"Api-Version": API_VERSION,
                                   "X-Docker-Container-Path-Stat": stat_header(info)}, b"")
        req.responded = True
        return HANDLED

    def get_archive(req: Request) -> Any:
        if req.method == "HEAD":
            return stat(req)
        stream = files.archive(req.args["id"], req.param("path"))
        return _send_tar(req, stream, {"X-Docker-Container-Path-Stat": stat_header(stream.stat)})

    def put_archive(req: Request) -> Any:
        files.extract(req.args["id"], req.param("path"), req.body,
                      req.flag("noOverwriteDirNonDir"), req.flag("copyUIDGID"))
        req.handler.send_raw(200, {"Api-Version": API_VERSION}, b"")
        req.responded = True
        return HANDLED

    def export(req: Request) -> Any:
        return _send_tar(req, files.export(req.args["id"]), {})

    def changes(req: Request) -> Any:
        return Json(files.changes(req.args["id"]), 200)

    def commit(req: Request) -> Any:
        overrides = req.json() or {}
        result = files.commit(
            req.param("container") or "", req.param("repo"), req.param("tag"),
            req.param("comment"), req.param("author"), req.flag("pause", True),
            req.query.get("changes", []), overrides if isinstance(overrides, dict) else {})
        return Json(result, 201)

    return [
        ("HEAD", "/containers/{id}/archive", stat),
        ("GET", "/containers/{id}/archive", get_archive),
        ("PUT", "/containers/{id}/archive", put_archive),
        ("GET", "/containers/{id}/export", export),
        ("GET", "/containers/{id}/changes", changes),
        ("POST", "/commit", commit),
    ]
