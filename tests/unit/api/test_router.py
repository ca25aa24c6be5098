"""The API layer on fake backends: routing, versioned paths, query parsing, error mapping.

A real ``APIServer`` on a temporary Unix socket, with every backend a recording fake, so
these tests see exactly what a client sees (status, headers, body) and exactly what the
engine would be asked, without an engine.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cove.runtime import errors
from cove.runtime.api.backend import Backends
from cove.runtime.api.routes import make_router
from cove.runtime.api.server import APIServer
from cove.runtime.api.status import http_status
from cove.runtime.registry.client import registry_error


class Recorder:
    """Answers every call with ``answers[name]`` (raising it if it is an exception) and
    records the call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.answers: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            answer = self.answers.get(name)
            if isinstance(answer, BaseException):
                raise answer
            return answer() if callable(answer) else answer

        return call

    def called(self, name: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
        found = [(args, kwargs) for called, args, kwargs in self.calls if called == name]
        assert found, f"{name} was not called; calls: {self.calls}"
        return found[-1]


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self._path)


class Api:
    def __init__(self, path: str, fakes: dict[str, Recorder]) -> None:
        self.path = path
        self.fakes = fakes

    def request(self, method: str, url: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = UnixConnection(self.path)
        try:
            conn.request(method, url, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def json(self, method: str, url: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        status, _headers, raw = self.request(method, url, data, headers)
        return status, (json.loads(raw) if raw.strip() else None)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    names = ("containers", "container_updates", "monitor", "execs", "container_files",
             "images", "builds", "volumes", "system", "networks")
    fakes = {name: Recorder() for name in names}
    path = str(tmp_path / "api.sock")
    server = APIServer(path, make_router(Backends(**fakes)))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield Api(path, fakes)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_routes_call_their_backend_with_parsed_query(api: Api) -> None:
    api.fakes["containers"].answers["list"] = [{"Id": "abc"}]
    status, body = api.json("GET", '/containers/json?all=1&limit=3&size=0'
                                   '&filters={"label":["a=b"],"status":{"running":true}}')
    assert (status, body) == (200, [{"Id": "abc"}])
    args, _ = api.fakes["containers"].called("list")
    assert args == (True, 3, False, {"label": ["a=b"], "status": ["running"]})


def test_versioned_paths_reach_the_same_route_and_bad_versions_are_refused(api: Api) -> None:
    api.fakes["containers"].answers["inspect"] = {"Id": "x"}
    assert api.json("GET", "/v1.41/containers/x/json") == (200, {"Id": "x"})
    assert api.json("GET", "/v1.24/containers/x/json") == (200, {"Id": "x"})
    status, body = api.json("GET", "/v1.99/containers/x/json")
    assert status == 400 and "is too new. Maximum supported API version is 1.41" in \
        body["message"]
    # versions before 1.24 had no JSON errors: dockerd answers them in plain text
    status, headers, raw = api.request("GET", "/v1.11/containers/x/json")
    assert (status, headers["content-type"]) == (400, "text/plain; charset=utf-8")
    assert raw == (b"client version 1.11 is too old. Minimum supported API version is 1.12, "
                   b"please upgrade your client to a newer version\n")
    # routing comes first: no version error for a path no route takes
    assert api.json("GET", "/v1.99/nothing/here") == (404, {"message": "page not found"})


def test_unknown_paths_and_methods_are_dockerds_404(api: Api) -> None:
    assert api.json("GET", "/nothing/here") == (404, {"message": "page not found"})
    assert api.json("PUT", "/containers/json") == (404, {"message": "page not found"})
    assert api.json("PATCH", "/containers/json") == (404, {"message": "page not found"})
    assert api.request("OPTIONS", "/anything")[::2] == (200, b"")


def test_an_unrouted_body_is_drained_before_the_next_request_on_the_connection(
        api: Api) -> None:
    api.fakes["system"].answers["info"] = {"ID": "x"}
    conn = UnixConnection(api.path)
    try:
        for url in ("/nothing/there", "/nothing/here", "/v1.99/info"):
            body = json.dumps({"Name": "n", "Pad": "x" * 100_000}).encode()
            conn.request("POST", url, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            assert resp.status in (400, 404) and "message" in json.loads(resp.read())
            assert resp.getheader("Connection") != "close"
            conn.request("GET", "/info")  # the same connection, parsed from its own bytes
            resp = conn.getresponse()
            assert (resp.status, json.loads(resp.read())) == (200, {"ID": "x"})
    finally:
        conn.close()


def test_a_chunked_unrouted_body_is_drained_too(api: Api) -> None:
    api.fakes["system"].answers["info"] = {"ID": "x"}
    conn = UnixConnection(api.path)
    try:
        conn.request("POST", "/plugins/nosuch/set", body=iter([b'["a=1",', b'"b=2"]']),
                     headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())) == \
            (404, {"message": 'plugin "nosuch" not found'})
        conn.request("GET", "/info")
        assert json.loads(conn.getresponse().read()) == {"ID": "x"}
    finally:
        conn.close()


def test_a_request_http_cannot_parse_gets_json_not_html(api: Api) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(api.path)
        sock.sendall(b"GET /_ping HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"Content-Type: application/json" in head and b"Connection: close" in head
    assert "message" in json.loads(body)


def test_a_load_that_fails_answers_200_and_ends_its_stream_with_the_error(api: Api) -> None:
    api.fakes["images"].answers["load"] = errors.InvalidParameter("archive/tar: bad")
    status, headers, raw = api.request("POST", "/images/load?quiet=1", body=b"x" * 300_000)
    assert (status, headers["content-type"]) == (200, "application/json")
    assert [json.loads(line) for line in raw.splitlines()] == [
        {"errorDetail": {"message": "archive/tar: bad"}, "error": "archive/tar: bad"}]


@pytest.mark.parametrize(("method", "url", "status", "message"), [
    ("GET", "/swarm", 503, "This node is not a swarm manager."),
    ("GET", "/v1.41/services", 503, "This node is not a swarm manager."),
    ("DELETE", "/nodes/n1", 503, "This node is not a swarm manager."),
    ("POST", "/secrets/create", 503, "This node is not a swarm manager."),
    ("POST", "/swarm/leave", 503, "This node is not part of a swarm"),
    ("POST", "/swarm/update", 400, "invalid swarm version '': strconv.ParseUint"),
    ("POST", "/configs/c/update?version=x", 400, "invalid config version"),
    ("POST", "/configs/c/update?version=3", 503, "This node is not a swarm manager."),
    ("POST", "/swarm/init", 501, "swarm mode is not supported by Cove"),
    ("GET", "/plugins/vendor/p:1/json", 404, 'plugin "vendor/p:1" not found'),
    ("DELETE", "/plugins/p", 404, 'plugin "p" not found'),
    ("POST", "/plugins/p/enable?timeout=x", 500, 'strconv.Atoi: parsing "x"'),
    ("POST", "/plugins/pull?remote=p", 501, "plugins are not supported by Cove"),
    ("GET", '/plugins?filters={"bad":["x"]}', 400, "Invalid filter 'bad'"),
])
def test_swarm_and_plugin_routes_answer_as_dockerd_without_them(
        api: Api, method: str, url: str, status: int, message: str) -> None:
    got, body = api.json(method, url)
    assert got == status and body["message"].startswith(message)


def test_the_plugin_list_is_empty(api: Api) -> None:
    assert api.json("GET", '/plugins?filters={"capability":["x"],"enabled":["true"]}') == \
        (200, [])


def test_bad_query_values_are_400s(api: Api) -> None:
    status, body = api.json("GET", "/containers/json?limit=many")
    assert status == 400 and body["message"] == "invalid value for limit: 'many'"
    status, body = api.json("GET", "/containers/json?filters=[1]")
    assert status == 400 and body["message"] == "invalid filter: not an object"
    assert api.fakes["containers"].calls == []


@pytest.mark.parametrize(("error", "status"), [
    (errors.NotFound("No such container: x"), 404),
    (errors.InvalidParameter("bad"), 400),
    (errors.Conflict("in use"), 409),
    (errors.Unauthorized("who"), 401),
    (errors.Forbidden("no"), 403),
    (errors.Unavailable("later"), 503),
    (errors.NotImplementedByEngine("not here"), 501),
    (errors.SystemError_("disk"), 500),
    (errors.start_failed("exec: \"nope\": executable file not found in $PATH", 127), 400),
    (errors.start_failed("no such file or directory: /w", 128), 500),
    (registry_error("manifest unknown", 404), 404),
    (registry_error("denied", 403), 403),
    (registry_error("upstream broke", 502), 500),
    (RuntimeError("a bug"), 500),
])
def test_error_kinds_map_to_statuses_with_docker_messages(
        api: Api, error: BaseException, status: int) -> None:
    api.fakes["containers"].answers["start"] = error
    got, body = api.json("POST", "/containers/x/start")
    assert got == status == http_status(error)
    assert body == {"message": getattr(error, "message", str(error))}


def test_not_modified_is_an_empty_304(api: Api) -> None:
    api.fakes["containers"].answers["start"] = errors.NotModified("already started")
    status, _headers, raw = api.request("POST", "/containers/x/start")
    assert (status, raw) == (304, b"")


def test_bodies_that_are_not_json_objects_are_refused_before_the_engine(api: Api) -> None:
    for url, what in (("/containers/create", "container config"),
                      ("/containers/x/exec", "exec config"),
                      ("/containers/x/update", "update config"),
                      ("/volumes/create", "volume config")):
        status, body = api.json("POST", url, [1, 2])
        assert status == 400, url
        assert body == {"message": f"invalid JSON: {what} must be an object"}
    status, body = api.json("POST", "/containers/create")
    assert (status, body["message"]) == (400, "invalid JSON: request body is empty")
    assert api.fakes["containers"].calls == [] and api.fakes["volumes"].calls == []


def test_create_answers_201_with_the_name_from_the_query(api: Api) -> None:
    api.fakes["containers"].answers["create"] = {"Id": "c1", "Warnings": []}
    assert api.json("POST", "/containers/create?name=web", {"Image": "busybox"}) == \
        (201, {"Id": "c1", "Warnings": []})
    assert api.fakes["containers"].called("create")[0] == ({"Image": "busybox"}, "web", None)
    api.json("POST", "/containers/create?platform=linux/arm64", {"Image": "busybox"})
    assert api.fakes["containers"].called("create")[0] == ({"Image": "busybox"}, None,
                                                           "linux/arm64")


def test_registry_auth_header_reaches_the_engine_as_plain_values(api: Api) -> None:
    api.fakes["images"].answers["push"] = lambda: iter([{"status": "pushed"}])
    auth = base64.urlsafe_b64encode(json.dumps({"username": "u", "password": "p"}).encode())
    status, _headers, raw = api.request("POST", "/images/reg/app/push?tag=v1",
                                        headers={"X-Registry-Auth": auth.decode().rstrip("=")})
    assert status == 200 and json.loads(raw) == {"status": "pushed"}
    args, _ = api.fakes["images"].called("push")
    assert args == ("reg/app", "v1", {"username": "u", "password": "p"})


def test_an_error_after_the_stream_began_is_an_error_detail_line(api: Api) -> None:
    def pull() -> Iterator[dict[str, Any]]:
        yield {"status": "Pulling from library/x"}
        raise registry_error("blob unknown", 404)

    api.fakes["images"].answers["pull"] = pull
    status, _headers, raw = api.request("POST", "/images/create?fromImage=x&tag=1")
    lines = [json.loads(line) for line in raw.splitlines()]
    assert status == 200
    assert lines == [{"status": "Pulling from library/x"},
                     {"errorDetail": {"message": "blob unknown"}, "error": "blob unknown"}]


def test_an_error_before_the_stream_began_is_an_http_error(api: Api) -> None:
    def pull() -> Iterator[dict[str, Any]]:
        raise errors.NotFound("pull access denied for x")
        yield {}

    api.fakes["images"].answers["pull"] = pull
    assert api.json("POST", "/images/create?fromImage=x") == \
        (404, {"message": "pull access denied for x"})


def test_a_failed_build_step_ends_the_stream_with_its_exit_code(api: Api) -> None:
    from cove.runtime.build.run_step import BuildFailed

    class Job:
        def run(self, context: Any, emit: Any, client_gone: Any) -> str:
            emit({"stream": "Step 1/1 : RUN false\n"})
            raise BuildFailed("The command '/bin/sh -c false' returned a non-zero code: 1", 1)

    api.fakes["builds"].answers["prepare"] = Job
    status, _headers, raw = api.request("POST", "/build?t=app:1&buildargs={\"A\":\"1\"}",
                                        body=b"tar")
    lines = [json.loads(line) for line in raw.splitlines()]
    assert status == 200
    assert lines[-1]["errorDetail"] == {
        "message": "The command '/bin/sh -c false' returned a non-zero code: 1", "code": 1}
    _args, options = api.fakes["builds"].called("prepare")
    assert options["tags"] == ["app:1"] and options["build_args"] == {"A": "1"}
    assert options["registry_auths"] == {} and options["remove"] is True


def test_a_build_that_fails_before_any_output_is_an_http_error(api: Api) -> None:
    class Job:
        def run(self, context: Any, emit: Any, client_gone: Any) -> str:
            raise errors.InvalidParameter("dockerfile parse error line 2: unknown instruction")

    api.fakes["builds"].answers["prepare"] = Job
    status, headers, raw = api.request("POST", "/build", body=b"tar" * 100_000)
    assert (status, headers["content-type"]) == (400, "application/json")
    assert json.loads(raw) == {"message": "dockerfile parse error line 2: unknown instruction"}


def test_ping_and_version_carry_the_api_version(api: Api) -> None:
    status, headers, raw = api.request("GET", "/_ping")
    assert (status, raw, headers["api-version"]) == (200, b"OK", "1.41")
    api.fakes["system"].answers["version"] = {"Version": "0.1.0"}
    assert api.json("GET", "/version") == (200, {"Version": "0.1.0"})
    assert api.fakes["system"].called("version")[0] == ("1.41", "1.12")


def test_json_query_parameters_must_be_objects(api: Api) -> None:
    status, body = api.json("POST", "/build?buildargs=[1]")
    assert (status, body) == (400, {"message": "invalid buildargs: not an object"})
    status, body = api.json("GET", "/images/json?filters={bad")
    assert status == 400 and body["message"].startswith("invalid filter: ")
    assert api.fakes["builds"].calls == [] and api.fakes["images"].calls == []


def test_network_routes_call_the_network_backend(api: Api) -> None:
    fake = api.fakes["networks"]
    fake.answers.update(create={"Id": "n" * 64, "Warning": ""}, list=[], inspect={"Name": "a"},
                        prune={"NetworksDeleted": None})
    assert api.json("POST", "/v1.41/networks/create", {"Name": "a"}) == \
        (201, {"Id": "n" * 64, "Warning": ""})
    assert fake.called("create")[0] == ({"Name": "a"},)
    assert api.json("GET", "/networks?filters=" + '{"type":["custom"]}') == (200, [])
    assert fake.called("list")[0] == ({"type": ["custom"]},)
    assert api.json("GET", "/networks/a?verbose=true") == (200, {"Name": "a"})
    assert fake.called("inspect")[0] == ("a", True, None)
    assert api.json("DELETE", "/networks/a")[0] == 204
    status, _, body = api.request("POST", "/networks/a/connect", b'{"Container": "c"}',
                                  {"Content-Type": "application/json"})
    assert (status, body) == (200, b"")
    assert fake.called("connect")[0] == ("a", {"Container": "c"})
    assert api.json("POST", "/networks/prune") == (200, {"NetworksDeleted": None})
