"""Fuzzing coved's Engine API (issue 12): create, update and exec bodies of every wrong
type, range and enum, deep nesting, query parameters of the reading routes, raw framing
garbage on the socket, and hundreds of silent clients.

Whatever a client sends, coved must answer a client's mistake with a 4xx (or 501 for what
the engine refuses to do; never a 500), every error body is JSON with a "message" string,
it keeps answering ``/_ping``, the container listing (what ``docker ps -a`` decodes) keeps
Labels all strings, and when the fuzzing is over its RSS is within 40 MB of where it
started and its fds, threads and children are back to their count. ``rounds(bounded,
full)`` scales it: ``scripts/reliability -k fuzz`` runs the full one (10,000 cases).
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from cove.runtime.api import validation as v
from tests.reliability.process_state import Holdings, holdings, settle
from tests.reliability.scale import rounds
from tests.support.coved import Coved
from tests.support.images import busybox_archive

RSS_SLACK_KIB = 40 * 1024
HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="cove-hypothesis-")  # not .hypothesis/ in the tree
set_hypothesis_home_dir(HYPOTHESIS_HOME)
EDGE_INTS = [0, 1, -1, 6 * 1024 * 1024, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, -(2**63),
             -(2**63) - 1, 2**64 - 1, 2**64 + 1, 10**30]
EDGE_TEXT = ["", " ", "/", "..", "../../etc", "a:b", "a=b", "\x00", "\ud800", "é", "host",
             "none", "private", "container:x", "always", "on-failure", "json-file", "/tmp:/tmp",
             "x" * 300]


@dataclass
class Tally:
    """What the fuzzing saw; printed at the end of the module (``-s`` shows it)."""

    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def count(self, status: int) -> None:
        self.cases += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1


TALLY = Tally()


# --- the daemon and what it holds ------------------------------------------------------------

@dataclass
class Target:
    daemon: Coved
    running: str  # a container the update and exec bodies are sent to
    baseline: Holdings


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    daemon = Coved().start()
    try:
        daemon.load(busybox_archive())
        status, created = daemon.request("POST", f"/containers/create?name=fuzz-{_unique()}",
                                         {"Image": "busybox", "Cmd": ["sleep", "3600"]})
        assert status == 201, created
        assert daemon.request("POST", f"/containers/{created['Id']}/start")[0] == 204
        for _ in range(20):  # warm up: the threads and caches every request needs
            daemon.request("GET", "/containers/json?all=1")
        assert daemon.proc is not None
        yield Target(daemon, created["Id"], holdings(daemon.proc.pid))
    finally:
        daemon.stop()
        daemon.cleanup()
        shutil.rmtree(HYPOTHESIS_HOME, ignore_errors=True)
        _report()


def _report() -> None:
    print(f"\nAPI fuzz: {TALLY.cases} cases in {time.monotonic() - TALLY.started:.0f} s, "
          f"statuses {dict(sorted(TALLY.statuses.items()))}, "
          f"500s {len(TALLY.server_errors)}: {TALLY.server_errors[:5]}")


def _unique() -> str:
    return uuid.uuid4().hex[:12]


# --- what every answer must be ------------------------------------------------------------

def _judge(target: Target, status: int, body: Any, what: str) -> None:
    """A client's mistake is a 4xx; 501 is a clear refusal of what this engine cannot do
    (``NotImplementedByEngine``), 505 of an HTTP version it does not speak; any other 5xx is
    a bug."""
    TALLY.count(status)
    if status >= 500 and status not in (501, 505):
        TALLY.server_errors.append(f"{what}: {status} {body!r}"[:300])
    assert status < 500 or status in (501, 505), f"{what} -> {status} {body!r}"
    if status >= 400:
        assert isinstance(body, dict) and isinstance(body.get("message"), str), body
        assert "Traceback" not in body["message"]
    _still_sound(target)


def _still_sound(target: Target) -> None:
    daemon = target.daemon
    assert daemon.proc is not None and daemon.proc.poll() is None, "coved died"
    assert daemon.request("GET", "/_ping", timeout=30)[0] == 200
    status, listing = daemon.request("GET", "/containers/json?all=1", timeout=30)
    assert status == 200 and isinstance(listing, list)
    for container in listing:
        labels = container.get("Labels") or {}
        assert isinstance(labels, dict)
        assert all(isinstance(k, str) and isinstance(val, str) for k, val in labels.items())


# --- strategies -------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.sampled_from(EDGE_INTS)
           | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(EDGE_TEXT)
           | st.text(max_size=12))
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
TEXT = st.sampled_from(EDGE_TEXT) | st.text(max_size=12)


def for_shape(shape: v.Shape) -> st.SearchStrategy[Any]:
    """Values of the shape's type (edge cases included), or now and then anything at all."""
    typed: st.SearchStrategy[Any]
    if isinstance(shape, v.Enum):
        typed = st.sampled_from(shape.values) | TEXT
    elif isinstance(shape, v.Str):
        typed = TEXT
    elif isinstance(shape, v.Bool):
        typed = st.booleans()
    elif isinstance(shape, v.Int):
        low, high = shape._bounds()
        typed = st.sampled_from(EDGE_INTS) | st.integers(min_value=low, max_value=high) \
            | st.integers(min_value=-1, max_value=2**20)
    elif isinstance(shape, v.StrSlice):
        typed = TEXT | st.lists(TEXT, max_size=3)
    elif isinstance(shape, v.List):
        typed = st.lists(for_shape(shape.item), max_size=3)
    elif isinstance(shape, v.Map):
        typed = st.dictionaries(TEXT, for_shape(shape.value), max_size=3)
    elif isinstance(shape, v.Obj):
        typed = st.fixed_dictionaries({}, optional={
            name: st.deferred(lambda inner=inner: for_shape(inner))  # type: ignore[misc]
            for name, inner in shape.fields.items()})
    else:
        raise AssertionError(shape)
    return st.one_of(typed, typed, typed, st.none(), JUNK)


# SecurityOpt's strings are not fuzzed, only its type: a malformed option is dockerd's 500,
# kept on purpose ('invalid --security-opt 1|2: ...', create_config.no_new_privileges)
SECURITY_OPTS = st.sampled_from([None, [], ["no-new-privileges"], ["no-new-privileges=true"],
                                 ["seccomp=unconfined"], "no-new-privileges", [1], {"a": "b"},
                                 True])
HOST_CONFIGS = st.tuples(for_shape(v.HOST_CONFIG), SECURITY_OPTS).map(
    lambda pair: {**pair[0], "SecurityOpt": pair[1]}
    if isinstance(pair[0], dict) and "SecurityOpt" in pair[0] else pair[0])
CREATE_BODIES = st.fixed_dictionaries(
    {"Image": st.sampled_from(["busybox", "busybox", "busybox:latest", "ghost", "Bad Name"])},
    optional={**{name: for_shape(shape) for name, shape in v.CONFIG_FIELDS.items()
                 if name != "Image"},
              "HostConfig": HOST_CONFIGS | JUNK,
              "NetworkingConfig": for_shape(v.NETWORKING_CONFIG)})
UPDATE_BODIES = for_shape(v.CONTAINER_UPDATE).filter(lambda body: isinstance(body, dict))
EXEC_BODIES = for_shape(v.EXEC_CONFIG).filter(lambda body: isinstance(body, dict))
FUZZ_SETTINGS = dict(deadline=None, database=None, derandomize=False,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.filter_too_much,
                                            HealthCheck.function_scoped_fixture])


# --- the bodies -------------------------------------------------------------------------

@settings(max_examples=rounds(200, 4500), **FUZZ_SETTINGS)  # type: ignore[arg-type]
@given(body=CREATE_BODIES | JUNK)
def test_fuzzed_create_bodies_never_get_a_500_nor_store_a_bad_shape(
        target: Target, body: Any) -> None:
    status, answer = target.daemon.request(
        "POST", f"/containers/create?name=fuzz-{_unique()}",
        raw=json.dumps(body).encode(), timeout=60)
    try:
        _judge(target, status, answer, f"create {body!r}"[:2000])
    finally:
        if status == 201:
            target.daemon.request("DELETE", f"/containers/{answer['Id']}?force=1&v=1")


@settings(max_examples=rounds(60, 1300), **FUZZ_SETTINGS)  # type: ignore[arg-type]
@given(body=UPDATE_BODIES)
def test_fuzzed_update_bodies_never_get_a_500(target: Target, body: Any) -> None:
    # a high floor keeps the fuzzed limits from starving the target of memory or pids
    body = {**body, **({"Memory": 512 << 20} if isinstance(body.get("Memory"), int) else {})}
    status, answer = target.daemon.request("POST", f"/containers/{target.running}/update",
                                           body, timeout=60)
    _judge(target, status, answer, f"update {body!r}"[:2000])


@settings(max_examples=rounds(60, 1300), **FUZZ_SETTINGS)  # type: ignore[arg-type]
@given(body=EXEC_BODIES)
def test_fuzzed_exec_bodies_never_get_a_500(target: Target, body: Any) -> None:
    status, answer = target.daemon.request("POST", f"/containers/{target.running}/exec",
                                           body, timeout=60)
    _judge(target, status, answer, f"exec {body!r}"[:2000])


@settings(max_examples=rounds(20, 300), **FUZZ_SETTINGS)  # type: ignore[arg-type]
@given(depth=st.integers(min_value=500, max_value=200_000),
       opener=st.sampled_from([b"[", b'{"a":']), closed=st.booleans(),
       path=st.sampled_from(["/containers/create", "/volumes/create", "/exec/x/start"]))
def test_deeply_nested_json_is_a_client_error(target: Target, depth: int, opener: bytes,
                                              closed: bool, path: str) -> None:
    closer = b"]" if opener == b"[" else b"}"
    raw = opener * depth + (closer * depth if closed else b"")
    status, answer = target.daemon.request("POST", path, raw=raw, timeout=60)
    _judge(target, status, answer, f"depth {depth} {opener!r} to {path}")
    assert status in (400, 404, 413), answer


QUERY_VALUES = (st.sampled_from(["", "0", "1", "-1", "true", "all", "10m", "2006-01-02",
                                  "1e3", "9" * 30, "{}", "[]", "null", '{"label":["a"]}',
                                  '{"status":["running"]}', '{"bogus":["x"]}', '{"label":{"a":true}}',
                                  '{"dangling":["maybe"]}', '{"before":["ghost"]}', "%", "aux"])
                | st.text(max_size=12))
QUERIES = st.dictionaries(st.sampled_from(["all", "limit", "size", "filters", "since", "until",
                                           "tail", "timestamps", "stdout", "stderr", "follow",
                                           "ps_args", "stream", "one-shot", "digests", "dangling",
                                           "t", "signal"]), QUERY_VALUES, max_size=4)
READ_ROUTES = st.sampled_from(["/containers/json", "/images/json", "/volumes", "/info",
                               "/system/df", "/containers/{id}/logs", "/containers/{id}/top",
                               "/containers/{id}/stats", "/containers/{id}/json",
                               "/containers/{id}/changes", "/events", "/images/search"])


@settings(max_examples=rounds(60, 1000), **FUZZ_SETTINGS)  # type: ignore[arg-type]
@given(route=READ_ROUTES, query=QUERIES)
def test_fuzzed_query_parameters_never_get_a_500(target: Target, route: str,
                                                 query: dict[str, str]) -> None:
    """What the CLI's reading commands send (ps, images, logs, top, stats, events, df), with
    parameters of every wrong kind; streams are kept finite (no follow, one stats sample,
    events until now)."""
    query = {k: val for k, val in query.items() if k != "follow"}
    if route.endswith("/stats"):
        query["stream"] = "0"
    if route == "/events":
        query["until"] = str(int(time.time()))
    path = route.format(id=target.running) + "?" + urlencode(query)
    status, answer = target.daemon.request("GET", path, timeout=60)
    _judge(target, status, answer, f"GET {path}")


# --- framing garbage on a raw socket --------------------------------------------------------

METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "BREW", "G\x00T", "",
                           "GET GET", "\x16\x03\x01"]) | st.text(max_size=8)
TARGETS = st.sampled_from(["/_ping", "/containers/json", "/containers/create", "/v1.41/info",
                           "/v99999999999999.1/info", "*", "", "/%00", "/" + "a" * 70_000,
                           "http://[::1/x"]) | st.text(max_size=20)
VERSIONS = st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/1.1.1",
                            "HTTP/x", "", "http/1.1"])
HEADER_VALUES = st.sampled_from(["0", "-1", "abc", "1e3", "99999999999999999999", " 5",
                                 "chunked", "gzip, chunked", "chunked, gzip", "identity",
                                 "100-continue", "close", "a" * 70_000]) | st.text(max_size=10)
HEADERS = st.lists(st.tuples(st.sampled_from(["Content-Length", "Transfer-Encoding", "Expect",
                                              "Connection", "Content-Type", "Host", "X-Junk",
                                              "Bad Header", ""]), HEADER_VALUES), max_size=4)
BODIES = st.sampled_from([b"", b"{}", b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}\r\n0\r\n\r\n",
                          b"ffffffffffffffffff\r\n", b"-1\r\n", b"[" * 5000]) | st.binary(max_size=64)


@settings(max_examples=rounds(100, 1600), **FUZZ_SETTINGS)  # type: ignore[arg-type]
@given(method=METHODS, request_target=TARGETS, version=VERSIONS, headers=HEADERS,
       body=BODIES, garbage=st.binary(max_size=40), raw_line=st.booleans())
def test_framing_garbage_gets_a_status_line_and_json_never_a_500(
        target: Target, method: str, request_target: str, version: str,
        headers: list[tuple[str, str]], body: bytes, garbage: bytes, raw_line: bool) -> None:
    line = garbage if raw_line else f"{method} {request_target} {version}".encode(
        "utf-8", "surrogateescape")
    head = line.replace(b"\n", b" ") + b"\r\n" + b"".join(
        f"{k}: {val}\r\n".encode("utf-8", "surrogateescape") for k, val in headers)
    answer = _exchange(target.daemon.socket, head + b"\r\n" + body)
    what = f"raw {(head + body)[:300]!r}"
    if not answer:  # only a request that never was complete may go unanswered
        TALLY.count(0)
        assert not (head + b"\r\n").strip(), what
        _still_sound(target)
        return
    assert answer.startswith(b"HTTP/1.1 "), f"{what} -> {answer[:200]!r}"
    status = int(answer.split()[1])
    head_out, _, payload = answer.partition(b"\r\n\r\n")
    fields = dict(line.split(b":", 1) for line in head_out.lower().split(b"\r\n")[1:])
    parsed: Any = {"message": ""}
    if status >= 400:
        assert fields.get(b"content-type", b"").strip() == b"application/json", \
            f"{what} -> {answer!r}"
        if not line.startswith(b"HEAD "):  # an answer to HEAD has no body
            parsed = json.loads(payload[:int(fields[b"content-length"])])
    _judge(target, status, parsed, what)


def _exchange(path: str, data: bytes) -> bytes:
    """Send, half-close, read the first answer (HEAD's may have no body) to its end."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(path)
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
        return out


# --- slow clients ---------------------------------------------------------------------------

def test_hundreds_of_silent_clients_neither_starve_others_nor_stay(target: Target) -> None:
    """Clients that connect and send nothing hold a thread each, but others are still
    answered; the full run waits for coved to drop them itself (its header timeout,
    a minute), the bounded one hangs them up; either way coved's threads and fds return."""
    daemon = target.daemon
    assert daemon.proc is not None
    pid = daemon.proc.pid
    before = holdings(pid)
    silent: list[socket.socket] = []
    try:
        for _ in range(rounds(100, 400)):
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(120)
            sock.connect(daemon.socket)
            silent.append(sock)
        assert daemon.request("GET", "/_ping", timeout=30)[0] == 200
        status, listing = daemon.request("GET", "/containers/json?all=1", timeout=30)
        assert status == 200 and isinstance(listing, list)
        if rounds(0, 1):  # the full run: coved lets each of them go by itself
            assert all(sock.recv(1024) == b"" for sock in silent)
    finally:
        for sock in silent:
            sock.close()
    now = settle(lambda: holdings(pid), before, RSS_SLACK_KIB, timeout=60)
    assert now.fds <= before.fds and now.threads <= before.threads, (before, now)


# --- and afterwards -----------------------------------------------------------------------

def test_after_the_fuzzing_coved_holds_what_it_held_before(target: Target) -> None:
    """Last in the module: RSS within the slack, fds, threads and children back (polled)."""
    assert target.daemon.proc is not None
    pid = target.daemon.proc.pid
    now = settle(lambda: holdings(pid), target.baseline, RSS_SLACK_KIB, timeout=60)
    print(f"\ncoved before {target.baseline}, after {now}")
    assert now.rss_kib <= target.baseline.rss_kib + RSS_SLACK_KIB, (target.baseline, now)
    assert now.fds <= target.baseline.fds, (target.baseline, now)
    assert now.threads <= target.baseline.threads, (target.baseline, now)
    assert now.children <= target.baseline.children, (target.baseline, now)
    assert not TALLY.server_errors, TALLY.server_errors[:5]

