"""/images/...: list, inspect, tag, remove, prune, history, load and save."""

from __future__ import annotations

from typing import Any

from cove.runtime.api.server import HANDLED, Json, Request, Route


def routes(engine: Any) -> list[Route]:
    images = engine.images

    def list_(req: Request) -> Any:
        filters = req.filters()
        if req.param("filter"):  # the pre-1.25 single reference filter
            filters.setdefault("reference", []).append(req.param("filter"))
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
        messages = images.load(req.body, req.flag("quiet"))
        req.body.drain()
        out = req.start_stream("application/json")
        for message in messages:
            out.write_json({"stream": message + "\n"})
        out.close()
        return HANDLED

    def save(req: Request, names: list[str]) -> Any:
        for name in names:
            images.resolve(name)  # a 404 before any byte of the tar
        out = req.start_stream("application/x-tar")
        images.save(names, out)
        out.close()
        return HANDLED

    def get_many(req: Request) -> Any:
        return save(req, req.query.get("names", []))

    def get_one(req: Request) -> Any:
        return save(req, [req.args["name"]])

    def pull(req: Request) -> Any:
        image = req.param("fromImage") or ""
        tag = req.param("tag")
        images.pull(image + (f":{tag}" if tag and "@" not in image else ""))

    return [
        ("GET", "/images/json", list_),
        ("POST", "/images/create", pull),
        ("POST", "/images/prune", prune),
        ("POST", "/images/load", load),
        ("GET", "/images/get", get_many),
        ("GET", "/images/{name:.*}/json", inspect),
        ("GET", "/images/{name:.*}/history", history),
        ("GET", "/images/{name:.*}/get", get_one),
        ("POST", "/images/{name:.*}/tag", tag),
        ("DELETE", "/images/{name:.*}", remove),
    ]
