"""The host's side of the guest agent's protocol (``cove.guest_agent.protocol``): one
request and its answer over a channel of the machine's tunnel."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cove.common.relay import Stream
from cove.guest_agent import protocol
from cove.vm.errors import MachineError

CLOCK_PERIOD = 10.0  # seconds between clock checks, as Lima's host agent sends its time


class AgentError(MachineError):
    """The agent refused a request or did not answer it."""


def request(open_channel: Callable[[int], Stream], message: dict[str, Any]) -> dict[str, Any]:
    channel = open_channel(protocol.AGENT_PORT)
    try:
        channel.sendall(protocol.encode(message))
        line = b""
        while not line.endswith(b"\n"):
            chunk = channel.recv(4096)
            if not chunk:
                raise AgentError(f"the guest agent closed the connection ({message['op']})")
            line += chunk
            if len(line) > protocol.MAX_LINE:
                raise AgentError("the guest agent's answer is too long")
    except OSError as exc:
        raise AgentError(f"the guest agent did not answer: {exc}") from exc
    finally:
        channel.close()
    answer = protocol.decode(line)
    if not answer.get("ok"):
        raise AgentError(f"the guest agent refused {message['op']}: {answer.get('error')}")
    return answer


def sync_clock(open_channel: Callable[[int], Stream]) -> dict[str, Any]:
    """Send the host's time; the agent sets the guest's clock if it drifted."""
    return request(open_channel, protocol.time_request(time.time_ns()))


def status(open_channel: Callable[[int], Stream]) -> dict[str, Any]:
    """The guest's OS, kernel, uptime, whether its engine answers, and Cove's version there."""
    return request(open_channel, protocol.status_request())
