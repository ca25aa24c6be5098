"""One query in, one reply out: the container's own names first, then its upstreams.

Kept apart from the sockets (``server.py``) so the whole decision can be tested with a
fake lookup and a fake upstream.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass

from dnslib import RCODE

from cove.runtime.network.embedded_dns.answers import (
    Asker,
    LocalAnswers,
    error_reply,
    packed_reply,
    parse_query,
    reply_limit,
)
from cove.runtime.network.embedded_dns.upstream import HostResolvers, forward

_HEADER = struct.Struct("!HHHHHH")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientSettings:
    """How one container's queries are answered."""

    asker: Asker
    upstreams: tuple[str, ...] | None = None
    """Its ``--dns`` servers; None for the host's."""
    forward: bool = True
    """False for a container only on internal networks: nothing goes out (SERVFAIL)."""


class QueryHandler:
    """Replies to raw queries; thread-safe."""

    def __init__(self, answers: LocalAnswers, host: HostResolvers, timeout: float) -> None:
        self._answers = answers
        self._host = host
        self._timeout = timeout

    def reply(self, settings: ClientSettings, data: bytes, tcp: bool) -> bytes | None:
        """The reply to ``data`` (one query as received), or None to say nothing (no
        question, or not a query at all). Local answers are cut to the client's size;
        forwarded ones come back as the upstream sent them (same id, same question);
        SERVFAIL when no upstream answered."""
        request = parse_query(data)
        if request is None:
            return formerr(data)
        if not request.questions:
            return None
        try:
            local = self._answers.answer(settings.asker, request)
        except Exception:  # the engine's lookup failed: say so rather than time out
            log.exception("embedded DNS: looking up %s failed", request.q.qname)
            failed_lookup: bytes = error_reply(request, RCODE.SERVFAIL).pack()
            return failed_lookup
        if local is not None:
            return packed_reply(local, reply_limit(request, tcp), tcp)
        if settings.forward:
            servers = settings.upstreams
            if servers is None:
                servers = self._host.servers()
            answer = forward(data, servers, tcp, self._timeout)
            if answer is not None:
                return answer
        failed: bytes = error_reply(request, RCODE.SERVFAIL).pack()
        return failed


def formerr(data: bytes) -> bytes | None:
    """A header-only FORMERR for bytes that start like a query, else None."""
    if len(data) < _HEADER.size or data[2] & 0x80:
        return None
    query_id, flags = struct.unpack("!HH", data[:4])
    opcode_rd = flags & 0x7900  # the query's opcode and RD bit
    return _HEADER.pack(query_id, 0x8000 | 0x0080 | opcode_rd | RCODE.FORMERR, 0, 0, 0, 0)
