"""POST /build: the classic builder's JSON message stream (``DOCKER_BUILDKIT=0``)."""

from __future__ import annotations

import logging
from typing import Any

from cove.runtime import errors
from cove.runtime.api import validation
from cove.runtime.api.backend import BuildBackend, JSONObject
from cove.runtime.api.registry_auth import decode_registry_config
from cove.runtime.api.server import HANDLED, Request, Route, parse_json
from cove.runtime.api.streams import ChunkedWriter, write_stream_error

log = logging.getLogger("coved.build")


# the RUN steps' resources (docker build --memory, --cpu-shares, ...): query -> HostConfig
_RESOURCES = (("memory", "Memory"), ("memswap", "MemorySwap"), ("cpushares", "CpuShares"),
              ("cpuperiod", "CpuPeriod"), ("cpuquota", "CpuQuota"), ("shmsize", "ShmSize"))


def _json_list(req: Request, name: str) -> list[Any]:
    """A query parameter holding a JSON list (``cachefrom``, ``ulimits``; "null" for none)."""
    raw = req.param(name)
    if not raw:
        return []
    value = parse_json(raw, name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.InvalidParameter(f"invalid {name}: not a list")
    return value


def _run_host_config(req: Request) -> JSONObject:
    """What every RUN step's container gets of the build's own settings; the options a
    classic build cannot honour are refused here, not dropped."""
    if req.flag("squash"):
        raise errors.InvalidParameter("squash is only supported with experimental mode")
    if _json_list(req, "outputs"):
        raise errors.NotImplementedByEngine("build outputs need BuildKit, which this engine "
                                            "does not have: build with DOCKER_BUILDKIT=0")
    if (req.param("version") or "1") != "1":
        raise errors.NotImplementedByEngine("BuildKit is not supported by this engine: build "
                                            "with DOCKER_BUILDKIT=0")
    if (req.param("isolation") or "default") != "default":
        raise errors.InvalidParameter(f"Unsupported isolation: {req.param('isolation')!r}")
    host: JSONObject = {}
    for param, field in _RESOURCES:
        value = req.int_param(param, 0)
        if value:
            host[field] = value
    for param, field in (("cpusetcpus", "CpusetCpus"), ("cpusetmems", "CpusetMems")):
        if req.param(param):
            host[field] = req.param(param)
    ulimits = validation.ULIMITS.check(_json_list(req, "ulimits"), "ulimits")
    if ulimits:
        host["Ulimits"] = ulimits
    network = req.param("networkmode") or "default"
    if network != "default":
        host["NetworkMode"] = network
    return host


def routes(builds: BuildBackend) -> list[Route]:
    def build(req: Request) -> Any:
        job = builds.prepare(
            tags=[t for t in req.query.get("t", []) if t],
            dockerfile=req.param("dockerfile") or "Dockerfile",
            build_args=validation.BUILD_ARGS.check(req.json_param("buildargs"), "buildargs"),
            target=req.param("target") or None,
            no_cache=req.flag("nocache"),
            remove=req.flag("rm", True),
            force_remove=req.flag("forcerm"),
            labels=validation.LABELS.check(req.json_param("labels"), "labels"),
            quiet=req.flag("q"),
            pull=req.flag("pull"),
            registry_auths=decode_registry_config(req.headers.get("X-Registry-Config")),
            remote=req.param("remote") or None,
            extra_hosts=[h for h in req.query.get("extrahosts", []) if h],
            run_host_config=_run_host_config(req),
            platform=req.param("platform") or None,
            cache_from=_json_list(req, "cachefrom"),
        )
        out: ChunkedWriter | None = None

        def emit(message: JSONObject) -> None:
            """The answer begins with the build's first message, as dockerd's does."""
            nonlocal out
            if out is None:
                out = req.start_stream("application/json")
            out.write_message(message)

        try:
            job.run(req.stream, emit, req.client_gone)
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
