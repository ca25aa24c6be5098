"""/containers/{id}/archive, /export, /changes and /commit: a container's files."""

from __future__ import annotations

import base64
import json
from typing import Any

from cove.runtime.api import validation
from cove.runtime.api.backend import ArchiveSource, ContainerFilesBackend, JSONObject
from cove.runtime.api.server import HANDLED, Json, Request, Route


def stat_header(stat: JSONObject) -> str:
    """``X-Docker-Container-Path-Stat``: the path's stat as base64 JSON, as docker cp reads it."""
    return base64.b64encode(json.dumps(stat, separators=(",", ":")).encode()).decode()


def _send_tar(req: Request, stream: ArchiveSource, headers: dict[str, str]) -> Any:
    """A tar body of unknown length, after headers that may carry the path's stat."""
    try:
        out = req.start_stream("application/x-tar", headers=headers)
        stream.write_to(req.sink(out), req.client_gone)
        out.close()
    finally:
        stream.close()
    return HANDLED


def routes(files: ContainerFilesBackend) -> list[Route]:
    def stat(req: Request) -> Any:
        info = files.stat_path(req.args["id"], req.param("path"))
        req.send_raw(200, {"X-Docker-Container-Path-Stat": stat_header(info)})
        return HANDLED

    def get_archive(req: Request) -> Any:
        if req.method == "HEAD":
            return stat(req)
        stream = files.archive(req.args["id"], req.param("path"))
        return _send_tar(req, stream, {"X-Docker-Container-Path-Stat": stat_header(stream.stat)})

    def put_archive(req: Request) -> Any:
        files.extract(req.args["id"], req.param("path"), req.stream,
                      req.flag("noOverwriteDirNonDir"), req.flag("copyUIDGID"))
        req.send_raw(200, {})
        return HANDLED

    def export(req: Request) -> Any:
        return _send_tar(req, files.export(req.args["id"]), {})

    def changes(req: Request) -> Any:
        return Json(files.changes(req.args["id"]), 200)

    def commit(req: Request) -> Any:
        result = files.commit(
            req.param("container") or "", req.param("repo"), req.param("tag"),
            req.param("comment"), req.param("author"), req.flag("pause", True),
            req.query.get("changes", []),
            validation.checked(validation.CONFIG, req.json_object("container config"), "Config"))
        return Json(result, 201)

    return [
        ("HEAD", "/containers/{id}/archive", stat),
        ("GET", "/containers/{id}/archive", get_archive),
        ("PUT", "/containers/{id}/archive", put_archive),
        ("GET", "/containers/{id}/export", export),
        ("GET", "/containers/{id}/changes", changes),
        ("POST", "/commit", commit),
    ]
