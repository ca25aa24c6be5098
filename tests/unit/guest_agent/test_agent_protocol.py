"""The guest agent's requests: the clock set when it drifted, status, clear refusals; and
the host's client of it, over a real socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from cove.common.relay import SocketStream, Stream
from cove.guest_agent import protocol
from cove.guest_agent.agent import answer, serve
from cove.vm import agent_client
from cove.vm.agent_client import AgentError


def test_a_clock_that_drifted_past_100_ms_is_set_to_the_hosts() -> None:
    set_to: list[int] = []
    late = answer(protocol.time_request(10_000_000_000), now_ns=lambda: 9_000_000_000,
                  set_clock=set_to.append)
    assert late == {"ok": True, "drift_ns": 1_000_000_000, "adjusted": True}
    assert set_to == [10_000_000_000]
    close = answer(protocol.time_request(10_050_000_000), now_ns=lambda: 10_000_000_000,
                   set_clock=set_to.append)
    assert close["adjusted"] is False and set_to == [10_000_000_000]


def test_status_names_the_guests_os_and_kernel() -> None:
    import os

    status = answer(protocol.status_request())
    assert status["ok"] and status["kernel"] == os.uname().release
    assert isinstance(status["os"], str) and status["uptime_s"] > 0


@pytest.mark.parametrize(("request_", "error"), [
    ({"op": "time", "host_ns": "soon"}, "time: host_ns must be an integer"),
    ({"op": "time", "host_ns": True}, "time: host_ns must be an integer"),
    ({"op": "reboot"}, "unknown op 'reboot'"),
])
def test_bad_requests_are_refused_with_a_reason(request_: dict[str, object],
                                                error: str) -> None:
    assert answer(request_) == {"ok": False, "error": error}


def test_lines_that_are_not_json_objects_are_protocol_errors() -> None:
    for line in (b"[1]\n", b"{\n", b"x" * (protocol.MAX_LINE + 1)):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode(line)


def _agent(set_clock: list[int]) -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = int(probe.getsockname()[1])
    ready = threading.Event()
    threading.Thread(target=serve, args=(port, ready, set_clock.append), daemon=True).start()
    assert ready.wait(5)
    return port


def _opener(port: int) -> Callable[[int], Stream]:
    def open_channel(_agent_port: int) -> Stream:
        return SocketStream(socket.create_connection(("127.0.0.1", port), timeout=5))
    return open_channel


def test_the_host_syncs_the_guest_clock_through_the_agent() -> None:
    set_clock: list[int] = []
    port = _agent(set_clock)
    before = time.time_ns()
    reply = agent_client.sync_clock(_opener(port))
    assert reply["ok"] and reply["adjusted"] is False and set_clock == []
    assert abs(reply["drift_ns"]) < 1_000_000_000
    with pytest.raises(AgentError, match="refused reboot: unknown op"):
        agent_client.request(_opener(port), {"op": "reboot"})
    assert time.time_ns() >= before
