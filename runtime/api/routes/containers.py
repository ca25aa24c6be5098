"""/containers/... and /exec/...: parse the request, make one backend call, answer."""

from __future__ import annotations

import socket
from typing import Any

from cove.runtime.api import validation
from cove.runtime.api.backend import (
    ContainerBackend,
    ContainerUpdateBackend,
    ExecBackend,
    MonitorBackend,
)
from cove.runtime.api.server import HANDLED, Json, Request, Route
from cove.runtime.api.streams import frame, peer_closed, stream_sender


def routes(containers: ContainerBackend, updates: ContainerUpdateBackend,
           monitor: MonitorBackend, execs: ExecBackend) -> list[Route]:
    def create(req: Request) -> Any:
        body = validation.container_create(req.json_object("container config", required=True))
        return Json(containers.create(body, req.param("name"), req.param("platform")), 201)

    def list_(req: Request) -> Any:
        return containers.list(req.flag("all"), req.int_param("limit"), req.flag("size"),
                               req.filters())

    def inspect(req: Request) -> Any:
        return containers.inspect(req.args["id"], req.flag("size"))

    def start(req: Request) -> Any:
        containers.start(req.args["id"])

    def stop(req: Request) -> Any:
        containers.stop(req.args["id"], req.int_param("t"), req.param("signal"))

    def restart(req: Request) -> Any:
        containers.restart(req.args["id"], req.int_param("t"))

    def kill(req: Request) -> Any:
        containers.kill(req.args["id"], req.param("signal"))

    def wait(req: Request) -> Any:
        block = containers.prepare_wait(req.args["id"], req.param("condition"))
        out = req.start_stream("application/json")
        out.write_json(block())
        out.close()
        return HANDLED

    def attach(req: Request) -> Any:
        target = monitor.attach(req.args["id"], req.param("detachKeys"))
        reader, sock = req.hijack()
        try:
            target.run(reader, stream_sender(sock, target.tty), lambda: peer_closed(sock),
                       req.flag("stdin"), req.flag("stdout"), req.flag("stderr"),
                       req.flag("logs"), req.flag("stream"))
        finally:
            _close(sock)
        return HANDLED

    def logs(req: Request) -> Any:
        tty, chunks = monitor.logs(
            req.args["id"], follow=req.flag("follow"), stdout=req.flag("stdout"),
            stderr=req.flag("stderr"), since=req.param("since"), until=req.param("until"),
            timestamps=req.flag("timestamps"), tail=req.param("tail"),
            client_gone=req.client_gone)
        out = req.start_stream("application/vnd.docker.raw-stream")
        for stream, data in chunks:
            out.write(data if tty else frame(stream, data))
        out.close()
        return HANDLED

    def stats(req: Request) -> Any:
        samples = monitor.stats(req.args["id"], stream=req.flag("stream", True),
                                one_shot=req.flag("one-shot"), client_gone=req.client_gone)
        out = req.start_stream("application/json")
        try:
            for message in samples:
                out.write_json(message)
        except (BrokenPipeError, ConnectionResetError):
            return HANDLED
        out.close()
        return HANDLED

    def top(req: Request) -> Any:
        return containers.top(req.args["id"], req.param("ps_args"))

    def update(req: Request) -> Any:
        body = validation.checked(validation.CONTAINER_UPDATE,
                                  req.json_object("update config", required=True))
        return updates.update(req.args["id"], body)

    def rename(req: Request) -> Any:
        containers.rename(req.args["id"], req.param("name"))

    def pause(req: Request) -> Any:
        containers.pause(req.args["id"])

    def unpause(req: Request) -> Any:
        containers.unpause(req.args["id"])

    def resize(req: Request) -> Any:
        containers.resize(req.args["id"], req.int_param("h", 0) or 0, req.int_param("w", 0) or 0)
        return Json("", 200)

    def remove(req: Request) -> Any:
        containers.remove(req.args["id"], req.flag("force"), req.flag("v"))

    def prune(req: Request) -> Any:
        return containers.prune(req.filters())

    def exec_create(req: Request) -> Any:
        body = validation.checked(validation.EXEC_CONFIG,
                                  req.json_object("exec config", required=True))
        return Json(execs.create(req.args["id"], body), 201)

    def exec_start(req: Request) -> Any:
        body = validation.checked(validation.EXEC_START, req.json_object("exec start config"))
        if body.get("Detach"):
            execs.start_detached(req.args["id"])
            req.send_raw(200, {})  # dockerd: 200 and no body at all
            return HANDLED
        target = execs.prepare_attached(req.args["id"])
        reader, sock = req.hijack()
        try:
            target.run(reader, stream_sender(sock, target.tty))
        finally:
            _close(sock)
        return HANDLED

    def exec_resize(req: Request) -> Any:
        execs.resize(req.args["id"], req.int_param("h", 0) or 0, req.int_param("w", 0) or 0)
        return Json("", 200)

    def exec_inspect(req: Request) -> Any:
        return execs.inspect(req.args["id"])

    return [
        ("POST", "/containers/create", create),
        ("GET", "/containers/json", list_),
        ("POST", "/containers/prune", prune),
        ("GET", "/containers/{id}/json", inspect),
        ("POST", "/containers/{id}/start", start),
        ("POST", "/containers/{id}/stop", stop),
        ("POST", "/containers/{id}/restart", restart),
        ("POST", "/containers/{id}/kill", kill),
        ("POST", "/containers/{id}/wait", wait),
        ("POST", "/containers/{id}/attach", attach),
        ("GET", "/containers/{id}/logs", logs),
        ("GET", "/containers/{id}/stats", stats),
        ("GET", "/containers/{id}/top", top),
        ("POST", "/containers/{id}/rename", rename),
        ("POST", "/containers/{id}/update", update),
        ("POST", "/containers/{id}/pause", pause),
        ("POST", "/containers/{id}/unpause", unpause),
        ("POST", "/containers/{id}/resize", resize),
        ("DELETE", "/containers/{id}", remove),
        ("POST", "/containers/{id}/exec", exec_create),
        ("POST", "/exec/{id}/start", exec_start),
        ("POST", "/exec/{id}/resize", exec_resize),
        ("GET", "/exec/{id}/json", exec_inspect),
    ]


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
