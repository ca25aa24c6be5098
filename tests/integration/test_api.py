"""The Engine API itself: shapes checked against Docker's swagger for 1.41, and bad input."""

from __future__ import annotations

import functools
import io
import tarfile

import jsonschema
import pytest
import yaml

SWAGGER = "/usr/share/gocode/src/github.com/docker/docker/api/swagger.yaml"


@functools.lru_cache(maxsize=1)
def swagger() -> dict:
    with open(SWAGGER) as f:
        return _nullable(yaml.safe_load(f))


_GO_POINTERS = ("MemorySwappiness", "OomKillDisable", "Init")
"""HostConfig fields that are pointers in moby's Go types (nil: unset) though the swagger
does not mark them x-nullable: dockerd 20.10 answers null for them when unset."""


def _nullable(node, name=""):
    """Objects, arrays and strings also admit null, as Go's encoder writes nil maps,
    slices and pointers (dockerd's own answers are full of them)."""
    if isinstance(node, dict):
        node = {k: _nullable(v, k) for k, v in node.items()}
        if node.get("type") in ("object", "array", "string") or "type" in node and (
                node.get("x-nullable") is True or name in _GO_POINTERS):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


def check(instance, schema_ref: str | dict) -> None:
    spec = swagger()
    schema = {"$ref": f"#/definitions/{schema_ref}"} if isinstance(schema_ref, str) else schema_ref
    schema = {**schema, "definitions": spec["definitions"]}
    jsonschema.validate(instance, schema, cls=jsonschema.Draft4Validator)


def response_schema(path: str, method: str, status: int = 200) -> dict:
    return swagger()["paths"][path][method]["responses"][status]["schema"]


def test_ping_headers_let_clients_negotiate(coved):
    conn_status, body = coved.request("GET", "/_ping")
    assert (conn_status, body) == (200, b"OK")
    from tests.support.coved import UnixHTTPConnection

    conn = UnixHTTPConnection(coved.socket)
    conn.request("HEAD", "/_ping")
    resp = conn.getresponse()
    assert resp.getheader("API-Version") == "1.41"
    assert resp.getheader("OSType") == "linux"
    assert resp.getheader("Docker-Experimental") == "false"
    conn.close()


def test_version_and_info_match_the_swagger(coved):
    status, version = coved.request("GET", "/v1.41/version")
    assert status == 200
    check(version, response_schema("/version", "get"))
    assert version["ApiVersion"] == "1.41" and version["Os"] == "linux"
    status, info = coved.request("GET", "/info")
    assert status == 200
    check(info, "SystemInfo")


def test_versions_above_141_are_refused_and_old_ones_accepted(coved):
    status, body = coved.request("GET", "/v1.99/version")
    assert status == 400
    assert body["message"] == "client version 1.99 is too new. Maximum supported API version is 1.41"
    assert coved.request("GET", "/v1.24/version")[0] == 200
    assert coved.request("GET", "/v1.11/version")[0] == 400


def test_container_shapes_match_the_swagger(coved):
    status, created = coved.request("POST", "/containers/create?name=shape",
                                    {"Image": "busybox", "Cmd": ["true"], "Labels": {"a": "b"}})
    assert status == 201
    check(created, response_schema("/containers/create", "post", 201))
    try:
        status, listing = coved.request("GET", "/containers/json?all=1")
        assert status == 200
        check(listing, response_schema("/containers/json", "get"))
        status, inspect = coved.request("GET", "/containers/shape/json")
        assert status == 200
        check(inspect, response_schema("/containers/{id}/json", "get"))
        assert inspect["Config"]["Labels"] == {"a": "b"}
    finally:
        coved.request("DELETE", "/containers/shape?force=1")


def test_image_shapes_match_the_swagger(coved):
    status, images = coved.request("GET", "/images/json")
    assert status == 200 and images
    check(images, response_schema("/images/json", "get"))
    status, image = coved.request("GET", "/images/busybox/json")
    assert status == 200 and image["Id"].startswith("sha256:")
    check(image, "Image")
    status, history = coved.request("GET", "/images/busybox/history")
    assert status == 200 and history
    check(history, response_schema("/images/{name}/history", "get"))


@pytest.fixture(params=["coved", "dockerd"])
def api(request, coved):
    """``request(method, path, ...)`` against coved, or against the reference dockerd."""
    from tests.support.coved import api_request

    if request.param == "coved":
        return coved.request
    socket_path = request.getfixturevalue("reference_dockerd")["DOCKER_HOST"][len("unix://"):]
    return lambda *args, **kwargs: api_request(socket_path, *args, **kwargs)


@pytest.mark.parametrize("raw, message", [
    (b'{"Image": "busybox", "HostConfig": {"Memory": 1024}}',
     "Minimum memory limit allowed is 6MB"),
    (b'{"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}',
     "invalid restart policy 'sometimes'"),
    (b'{"Image": "Bad Name!"}', "invalid reference format: repository name must be lowercase"),
])
def test_invalid_create_requests_get_dockerds_400(api, raw, message):
    status, body = api("POST", "/containers/create", raw=raw)
    assert (status, body) == (400, {"message": message})
    assert api("GET", "/_ping")[0] == 200  # still serving


@pytest.mark.parametrize("raw, fragment", [
    (b"{not json", "invalid JSON"),
    (b'{"Image": "busybox", "Env": "A=1"}', "Config.Env"),
    (b'{"Image": "busybox", "HostConfig": {"Memory": "lots"}}', "HostConfig.Memory"),
])
def test_undecodable_create_bodies_are_400s_as_newer_dockerd_answers_not_500s_as_20_10(
        coved, raw, fragment):
    """dockerd 20.10 answers these with 500 and Go's decoder text; later releases (and Cove,
    on purpose) say 400: the client sent them."""
    status, body = coved.request("POST", "/containers/create", raw=raw)
    assert status == 400, body
    assert fragment in body["message"]
    assert coved.request("GET", "/_ping")[0] == 200  # still serving


def test_unknown_objects_get_404_in_dockers_words(api):
    assert api("GET", "/containers/ghost/json") == (404, {"message": "No such container: ghost"})
    status, body = api("GET", "/images/ghost:1/json")
    # dockerd 20.10 says it twice ("no such image: ghost:1: No such image: ghost:1")
    assert status == 404 and "No such image: ghost:1" in body["message"]
    assert api("GET", "/exec/ghost/json") == (404, {"message": "No such exec instance: ghost"})
    status, body = api("POST", "/containers/create", {"Image": "ghost"})
    assert (status, body) == (404, {"message": "No such image: ghost:latest"})


def test_huge_body_is_refused_without_harm(coved):
    status, body = coved.request("POST", "/containers/create", raw=b"[" + b" " * (17 << 20) + b"]")
    assert status == 413 and "larger than" in body["message"]
    assert coved.request("GET", "/_ping")[0] == 200


def test_hostile_layer_is_refused_and_the_store_is_unchanged(coved):
    from tests.support.images import busybox_archive

    before = coved.request("GET", "/images/json?all=1")[1]
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        info = tarfile.TarInfo("../../escaped")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    archive = busybox_archive(tag="evil:latest", extra_layers=[{"placeholder": b"x"}])
    status, body = coved.request("POST", "/images/load",
                                 raw=_replace_last_layer(archive, evil.getvalue()),
                                 headers={"Content-Type": "application/x-tar"})
    assert status == 200, body  # dockerd's load answers 200 and ends its stream with the error
    assert "escaped" in body["error"] or ".." in body["error"]
    assert coved.request("GET", "/images/json?all=1")[1] == before
    assert coved.request("GET", "/images/evil/json")[0] == 404


def _replace_last_layer(archive: bytes, layer: bytes) -> bytes:
    """The same docker-archive with its last layer swapped for ``layer`` (config kept consistent)."""
    import hashlib
    import json

    src = tarfile.open(fileobj=io.BytesIO(archive))
    files = {m.name: (m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()}
    manifest = json.loads(files["manifest.json"][1])
    config = json.loads(files[manifest[0]["Config"]][1])
    config["rootfs"]["diff_ids"][-1] = "sha256:" + hashlib.sha256(layer).hexdigest()
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    del files[manifest[0]["Config"]]
    manifest[0]["Config"] = config_name
    files[config_name] = (tarfile.TarInfo(config_name), config_bytes)
    files[manifest[0]["Layers"][-1]] = (files[manifest[0]["Layers"][-1]][0], layer)
    files["manifest.json"] = (files["manifest.json"][0], json.dumps(manifest).encode())
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as dst:
        for member, data in files.values():
            if data is not None:
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def test_events_report_the_container_lifecycle(coved):
    import json as _json
    import time

    since = time.time()
    status, created = coved.request("POST", "/containers/create?name=evented",
                                    {"Image": "busybox", "Cmd": ["true"]})
    assert status == 201
    coved.request("POST", "/containers/evented/start")
    coved.request("POST", "/containers/evented/wait")
    coved.request("DELETE", "/containers/evented")
    status, body = coved.request(
        "GET", f"/events?since={since}&until={time.time() + 0.5}&filters="
               '{"container":["evented"]}')
    actions = [_json.loads(line)["Action"] for line in body.splitlines()]
    assert actions == ["create", "start", "die", "destroy"]


def test_a_client_vanishing_mid_stream_does_not_hurt_the_daemon(coved):
    import socket as _socket

    status, created = coved.request("POST", "/containers/create?name=chatty",
                                    {"Image": "busybox", "Cmd": ["sh", "-c", "while true; do echo x; done"]})
    coved.request("POST", "/containers/chatty/start")
    try:
        for path in ("/containers/chatty/logs?follow=1&stdout=1", "/events"):
            sock = _socket.socket(_socket.AF_UNIX)
            sock.connect(coved.socket)
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
            sock.close()
        sock = _socket.socket(_socket.AF_UNIX)
        sock.connect(coved.socket)
        sock.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"Ima")
        sock.close()
        assert coved.request("GET", "/_ping")[0] == 200
        assert coved.request("GET", "/containers/chatty/json")[1]["State"]["Running"] is True
    finally:
        coved.request("DELETE", "/containers/chatty?force=1")
