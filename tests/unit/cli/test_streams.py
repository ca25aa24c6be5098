"""Copying demultiplexed output, and the hijack path against a fake daemon on a Unix socket."""

from __future__ import annotations

import io
import json
import socket

import pytest

from cove.common.stdcopy import FrameDemuxer, encode_frame
from cove.desktop.client.api import APIClient
from cove.desktop.client.errors import Conflict, DaemonUnreachable, NotFound
from cove.desktop.client.streams import write_frames
from cove.desktop.client.wire import iter_json_lines


def test_write_frames_splits_stdout_and_stderr() -> None:
    out, err = io.BytesIO(), io.BytesIO()
    write_frames([encode_frame(1, b"a"), encode_frame(2, b"b")], out, err, tty=False)
    assert (out.getvalue(), err.getvalue()) == (b"a", b"b")


def test_iter_json_lines_joins_split_objects() -> None:
    chunks = [b'{"a":', b'1}\n{"b"', b':2}{"c":3}\n']
    assert list(iter_json_lines(iter(chunks))) == [{"a": 1}, {"b": 2}, {"c": 3}]


def test_hijack_returns_bytes_buffered_after_101(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    def handler(conn: socket.socket, _head: bytes, _body: bytes) -> None:
        # headers and the first frame in a single send: the client must not lose the frame
        conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                     b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + encode_frame(1, b"early"))
        received = conn.recv(100)
        conn.sendall(encode_frame(2, b"echo:" + received))

    daemon = socket_daemon(handler)
    client = APIClient("unix://" + daemon.path)
    conn = client.attach("abc", stdin=True)
    first = conn.recv(4096)
    assert list(FrameDemuxer().feed(first)) == [(1, b"early")]
    conn.sendall(b"in")
    conn.close_write()
    out, err = io.BytesIO(), io.BytesIO()
    rest = []
    while True:
        data = conn.recv(4096)
        if not data:
            break
        rest.append(data)
    conn.close()
    write_frames(rest, out, err, tty=False)
    assert err.getvalue() == b"echo:in"
    request = daemon.requests[0][0].decode()
    assert request.startswith("POST /v1.41/containers/abc/attach?stream=1&stdin=1&stdout=1&stderr=1 ")
    assert "Upgrade: tcp" in request and "Connection: Upgrade" in request


def test_hijack_refusal_raises_typed_error(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    def handler(conn: socket.socket, _head: bytes, _body: bytes) -> None:
        body = json.dumps({"message": "No such container: abc"}).encode()
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    client = APIClient("unix://" + socket_daemon(handler).path)
    with pytest.raises(NotFound) as info:
        client.attach("abc")
    assert str(info.value) == "Error response from daemon: No such container: abc"


def test_json_errors_become_typed_exceptions(socket_daemon) -> None:  # type: ignore[no-untyped-def]
    def handler(conn: socket.socket, _head: bytes, _body: bytes) -> None:
        body = b'{"message":"Conflict. The container name \\"/x\\" is already in use"}'
        conn.sendall(b"HTTP/1.1 409 Conflict\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\n\r\n" + body)

    client = APIClient("unix://" + socket_daemon(handler).path)
    with pytest.raises(Conflict, match="already in use") as info:
        client.create_container({"Image": "busybox"}, name="x")
    assert info.value.status == 409


def test_missing_socket_reads_like_docker() -> None:
    client = APIClient("unix:///nonexistent/cove.sock")
    with pytest.raises(DaemonUnreachable, match="Cannot connect to the Cove daemon at unix:///nonexistent/cove.sock"):
        client.ping()
