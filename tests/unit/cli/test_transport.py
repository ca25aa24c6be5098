"""The client's own HTTP/1.1: response framing, request bodies, query strings, typed errors."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from cove.desktop.client.api import APIClient
from cove.desktop.client.errors import DaemonUnreachable, NotFound, ServerError
from cove.desktop.client.transport import Response, parse_host
from cove.desktop.client.wire import query_string, quote
from tests.support.socket_daemon import replying


def _response(wire: list[bytes], method: str = "GET") -> tuple[Response, socket.socket]:
    """A Response reading ``wire`` (sent piece by piece) from the other end of a socketpair."""
    client, server = socket.socketpair()

    def send() -> None:
        for piece in wire:
            server.sendall(piece)
        server.close()

    sender = threading.Thread(target=send)
    sender.start()
    response = Response(client, method)
    sender.join()
    return response, client


def test_content_length_body_stops_at_its_length() -> None:
    response, sock = _response([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", b"\r\nhelloEXTRA"])
    assert (response.status, response.reason) == (200, "OK")
    assert response.read() == b"hello"
    assert response.read() == b""
    sock.close()


def test_chunked_body_split_at_every_byte() -> None:
    body = b"4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: y\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    wire = [head] + [body[i:i + 1] for i in range(len(body))]
    response, sock = _response(wire)
    assert response.read() == b"Wikipedia in \r\n\r\nchunks."
    sock.close()


def test_body_without_length_reads_until_close() -> None:
    response, sock = _response([b"HTTP/1.0 200 OK\r\n\r\nfirst ", b"second"])
    assert response.read() == b"first second"
    sock.close()


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_do_not_block(status: int) -> None:
    client, server = socket.socketpair()
    server.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: 10\r\n\r\n".encode())
    response = Response(client, "GET")  # the server keeps the socket open: reading would hang
    assert response.read() == b""
    client.close()
    server.close()


def test_read1_returns_what_has_arrived_without_waiting_for_more() -> None:
    client, server = socket.socketpair()
    server.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
    response = Response(client, "GET")
    client.settimeout(5)
    assert response.read1() == b"first"  # the second chunk has not been sent yet
    server.sendall(b"6\r\nsecond\r\n0\r\n\r\n")
    assert response.read1() == b"second"
    assert response.read1() == b""
    client.close()
    server.close()


def test_headers_are_lower_cased() -> None:
    response, sock = _response([b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 0\r\n\r\n"])
    assert response.headers["api-version"] == "1.41"
    sock.close()


def _json_reply(status: str, payload: object) -> Callable[[bytes, bytes], bytes]:
    body = json.dumps(payload).encode()
    return lambda _head, _body: (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                                 f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_json_body_goes_out_with_length_and_type(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    server = socket_daemon(replying(_json_reply("201 Created", {"Id": "abc", "Warnings": []})))
    client = APIClient("unix://" + server.path)
    assert client.create_container({"Image": "busybox"}, name="x y") == {"Id": "abc", "Warnings": []}
    head, body = server.requests[0]
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1.41/containers/create?name=x+y HTTP/1.1"
    assert "Content-Type: application/json" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {"Image": "busybox"}


def test_file_body_is_uploaded_chunked(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    reply = b'{"stream":"Loaded image: busybox:latest\\n"}\r\n'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(reply), reply)
    server = socket_daemon(replying(
        lambda _h, _b: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked))
    payload = os.urandom(200_000)
    messages = list(APIClient("unix://" + server.path).load(io.BytesIO(payload)))
    assert messages == [{"stream": "Loaded image: busybox:latest\n"}]
    head, body = server.requests[0]
    assert b"Transfer-Encoding: chunked" in head and b"Content-Type: application/x-tar" in head
    assert body == payload


def test_chunked_error_body_becomes_the_typed_message(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    message = json.dumps({"message": "No such container: nope"}).encode()
    server = socket_daemon(replying(
        lambda _h, _b: b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(message), message)))
    with pytest.raises(NotFound) as info:
        APIClient("unix://" + server.path).inspect_container("nope")
    assert str(info.value) == "Error response from daemon: No such container: nope"


def test_plain_text_error_and_5xx(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    server = socket_daemon(replying(
        lambda _h, _b: b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy"))
    with pytest.raises(ServerError) as info:
        APIClient("unix://" + server.path).ping()
    assert (info.value.status, info.value.message) == (503, "busy")


def test_daemon_closing_without_answer_is_unreachable(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    server = socket_daemon(replying(lambda _h, _b: b""))
    with pytest.raises(DaemonUnreachable) as info:
        APIClient("unix://" + server.path).ping()
    assert "Cannot connect to the Cove daemon" in str(info.value)


def test_streaming_logs_arrive_in_pieces(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    server = socket_daemon(replying(
        lambda _h, _b: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"))
    stream = APIClient("unix://" + server.path).logs("c", follow=True, tail="5")
    assert b"".join(stream) == b"0123456789"
    stream.close()
    head = server.requests[0][0].decode()
    assert head.startswith("GET /v1.41/containers/c/logs?follow=1&stdout=1&stderr=1&tail=5 ")


def test_query_string_matches_urlencode() -> None:
    values = {"name": "a b/c+&=%~é", "filters": {"label": ["k=v w"]}, "names": ["x:1", "y"],
              "all": True, "size": False, "stdin": False, "skip": None}
    expected = [("name", "a b/c+&=%~é"), ("filters", '{"label":{"k=v w":true}}'),
                ("names", "x:1"), ("names", "y"), ("all", "1"), ("stdin", "0")]
    assert query_string(values) == "?" + urlencode(expected)
    assert quote("sha256:ab/c d") == "sha256%3Aab%2Fc%20d"


def test_tcp_host_parsing() -> None:
    host = parse_host("tcp://[::1]:2376")
    assert (host.scheme, host.address, host.port) == ("tcp", "::1", 2376)
    assert parse_host("http://example").port == 2375


def test_run_path_imports_no_heavy_modules() -> None:
    """``cove run``'s modules must not pull in http.client/ssl/email/argparse/dataclasses."""
    code = (
        "import sys; before = set(sys.modules);"
        "import cove.desktop.cli.main, cove.desktop.cli.container_run, cove.desktop.client.api,"
        " cove.desktop.client.streams;"
        "from cove.desktop.cli.command import parse;"
        "parse(cove.desktop.cli.container_run.COMMANDS['run'], 'run', ['--rm', '-e', 'A=1', 'busybox']);"
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    heavy = {"http.client", "ssl", "email.parser", "argparse", "dataclasses", "inspect",
             "socket", "urllib.parse", "typing", "threading", "datetime", "signal"}
    assert "cove.desktop.client.transport" in loaded
    assert not loaded & heavy
