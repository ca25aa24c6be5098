"""POST /build: the classic builder's JSON message stream (``DOCKER_BUILDKIT=0``)."""

from __future__ import annotations

import json
import logging
from typing import Any

from cove.runtime import errors
from cove.runtime.api.server import HANDLED, Request, Route
from cove.runtime.build.builder import BuildOptions
from cove.runtime.registry.auth import decode_registry_config

log = logging.getLogger("coved.build")


def _json_param(req: Request, name: str) -> dict[str, Any]:
    raw = req.param(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise errors.InvalidParameter(f"invalid {name}: {exc}") from exc
    if not isinstance(value, dict):
        raise errors.InvalidParameter(f"invalid {name}: not an object")
    return value


def routes(engine: Any) -> list[Route]:
    def build(req: Request) -> Any:
        options = BuildOptions(
            tags=[t for t in req.query.get("t", []) if t],
            dockerfile=req.param("dockerfile") or "Dockerfile",
            build_args=_json_param(req, "buildargs"),
            target=req.param("target") or None,
            no_cache=req.flag("nocache"),
            remove=req.flag("rm", True),
            force_remove=req.flag("forcerm"),
            labels=_json_param(req, "labels"),
            quiet=req.flag("q"),
            pull=req.flag("pull"),
            registry_auths=decode_registry_config(req.headers.get("X-Registry-Config")),
            remote=req.param("remote") or None,
        )
        for tag in options.tags:
            from cove.runtime.images.reference import parse

            parse(tag)  # a bad tag is a 400 before any work
        out = req.start_stream("application/json")
        try:
            engine.builds.build(req.body, options, out.write_json)
        except errors.EngineError as exc:
            detail: dict[str, Any] = {"message": exc.message}
            if getattr(exc, "code", None) is not None:
                detail["code"] = exc.code
            out.write_json({"errorDetail": detail, "error": exc.message})
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:  # a bug: the stream is open, so it ends with the error
            log.exception("build failed")
            text = str(exc) or exc.__class__.__name__
            out.write_json({"errorDetail": {"message": text}, "error": text})
        req.body.drain()
        out.close()
        return HANDLED

    def prune(req: Request) -> Any:
        return engine.builds.prune(req.flag("all"), req.filters())

    return [("POST", "/build", build), ("POST", "/build/prune", prune)]
