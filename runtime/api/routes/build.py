"""POST /build: the classic builder's JSON message stream (``DOCKER_BUILDKIT=0``)."""

from __future__ import annotations

import logging
from typing import Any

from cove.runtime import errors
from cove.runtime.api.backend import BuildBackend, JSONObject
from cove.runtime.api.registry_auth import decode_registry_config
from cove.runtime.api.server import HANDLED, Request, Route
from cove.runtime.api.streams import ChunkedWriter, write_stream_error

log = logging.getLogger("coved.build")


def routes(builds: BuildBackend) -> list[Route]:
    def build(req: Request) -> Any:
        job = builds.prepare(
            tags=[t for t in req.query.get("t", []) if t],
            dockerfile=req.param("dockerfile") or "Dockerfile",
            build_args=req.json_param("buildargs"),
            target=req.param("target") or None,
            no_cache=req.flag("nocache"),
            remove=req.flag("rm", True),
            force_remove=req.flag("forcerm"),
            labels=req.json_param("labels"),
            quiet=req.flag("q"),
            pull=req.flag("pull"),
            registry_auths=decode_registry_config(req.headers.get("X-Registry-Config")),
            remote=req.param("remote") or None,
            extra_hosts=[h for h in req.query.get("extrahosts", []) if h],
        )
        out: ChunkedWriter | None = None

        def emit(message: JSONObject) -> None:
            """The answer begins with the build's first message, as dockerd's does."""
            nonlocal out
            if out is None:
                out = req.start_stream("application/json")
            out.write_json(message)

        try:
            job.run(req.stream, emit)
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:
            if out is None:  # nothing sent yet (a parse error, an unknown target): HTTP error
                raise
            if not isinstance(exc, errors.EngineError):
                log.exception("build failed")
            write_stream_error(out, exc)  # the stream is open, so it ends with the error
        req.drain()
        if out is None:
            out = req.start_stream("application/json")
        out.close()
        return HANDLED

    def prune(req: Request) -> Any:
        return builds.prune(req.flag("all"), req.filters())

    return [("POST", "/build", build), ("POST", "/build/prune", prune)]
