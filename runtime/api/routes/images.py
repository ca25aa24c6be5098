"""/images/...: list, inspect, tag, remove, prune, history, load, save, import, pull and push."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cove.runtime import errors
from cove.runtime.api.backend import ImageBackend, JSONObject
from cove.runtime.api.registry_auth import decode_registry_auth
from cove.runtime.api.server import HANDLED, Json, Request, Route
from cove.runtime.api.streams import write_stream_error


def stream_progress(req: Request, messages: Iterator[JSONObject]) -> Any:
    """Send Docker's JSON progress stream. An error before the first message is an
    ordinary HTTP error (the server turns it into ``{"message"}``); one after it
    ends the stream as an ``errorDetail`` line, as dockerd does once its output is flushed."""
    try:
        first = next(messages, None)
        out = req.start_stream("application/json")
        try:
            if first is not None:
                out.write_message(first)
                for message in messages:
                    out.write_message(message)
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:  # noqa: BLE001 - the stream is open: it ends with the error
            write_stream_error(out, exc)
        out.close()
    finally:
        close = getattr(messages, "close", None)
        if close is not None:
            close()
    return HANDLED


def routes(images: ImageBackend) -> list[Route]:
    def list_(req: Request) -> Any:
        filters = req.filters()
        legacy = req.param("filter")
        if legacy:  # the pre-1.25 single reference filter
            filters.setdefault("reference", []).append(legacy)
        return images.list(req.flag("all"), filters)

    def inspect(req: Request) -> Any:
        return images.inspect(req.args["name"])

    def history(req: Request) -> Any:
        return images.history(req.args["name"])

    def tag(req: Request) -> Any:
        images.tag(req.args["name"], req.param("repo") or "", req.param("tag"))
        return Json(None, 201)

    def remove(req: Request) -> Any:
        return images.delete(req.args["name"], req.flag("force"))

    def prune(req: Request) -> Any:
        filters = req.filters()
        dangling = filters.pop("dangling", ["true"])
        return images.prune(dangling[0].lower() in ("true", "1"), filters)

    def load(req: Request) -> Any:
        """dockerd answers a load with 200 and a JSON stream whatever happens: an archive it
        cannot load ends the stream with an ``errorDetail`` line (docker-py raises
        ImageLoadError for it, the docker CLI prints it and exits 1)."""
        quiet = req.flag("quiet")
        failure: errors.EngineError | None = None
        messages: list[str] = []
        try:
            messages = images.load(req.stream, quiet)
        except errors.EngineError as exc:
            failure = exc
        req.drain()
        out = req.start_stream("application/json")
        for message in messages:
            out.write_message({"stream": message + "\n"})
        if failure is not None:
            write_stream_error(out, failure)
        out.close()
        return HANDLED

    def save(req: Request, names: list[str]) -> Any:
        for name in names:
            images.resolve(name)  # a 404 before any byte of the tar
        out = req.start_stream("application/x-tar")
        images.save(names, req.sink(out))
        out.close()
        return HANDLED

    def get_many(req: Request) -> Any:
        return save(req, req.query.get("names", []))

    def get_one(req: Request) -> Any:
        return save(req, [req.args["name"]])

    def create(req: Request) -> Any:
        """Import a root filesystem (``fromSrc``) or pull (``fromImage``)."""
        if req.param("fromSrc") is not None:
            messages = images.import_image(
                req.stream, req.param("fromSrc") or "-", req.param("repo"), req.param("tag"),
                req.param("message"), req.query.get("changes", []), req.param("platform"))
            result = stream_progress(req, messages)
            req.drain()
            return result
        auth = decode_registry_auth(req.headers.get("X-Registry-Auth"))
        messages = images.pull(req.param("fromImage") or "", req.param("tag"),
                               req.param("platform"), auth)
        req.drain()
        return stream_progress(req, messages)

    def push(req: Request) -> Any:
        auth = decode_registry_auth(req.headers.get("X-Registry-Auth"))
        messages = images.push(req.args["name"], req.param("tag"), auth)
        req.drain()
        return stream_progress(req, messages)

    def search(req: Request) -> Any:
        term = req.param("term")
        if not term:
            raise errors.InvalidParameter("term is required")  # dockerd's wording
        return images.search(term, req.int_param("limit"), req.filters(),
                             decode_registry_auth(req.headers.get("X-Registry-Auth")))

    return [
        ("GET", "/images/json", list_),
        ("GET", "/images/search", search),
        ("POST", "/images/create", create),
        ("POST", "/images/prune", prune),
        ("POST", "/images/load", load),
        ("GET", "/images/get", get_many),
        ("GET", "/images/{name:.*}/json", inspect),
        ("GET", "/images/{name:.*}/history", history),
        ("GET", "/images/{name:.*}/get", get_one),
        ("POST", "/images/{name:.*}/tag", tag),
        ("POST", "/images/{name:.*}/push", push),
        ("DELETE", "/images/{name:.*}", remove),
    ]
