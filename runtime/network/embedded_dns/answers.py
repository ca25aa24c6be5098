"""What the embedded resolver answers itself, from the names of a container's networks.

The rules are libnetwork's (``resolver.go``), as a user sees them from inside a container:
- A for a container's name, alias or short id: its addresses, TTL 600, in random order;
  names match whatever their case, with or without the trailing dot;
- AAAA for such a name: an empty NOERROR answer (the networks have no IPv6), so the
  client does not wait on an upstream for a name that is ours;
- PTR for an address of a container on the networks: ``name.network.``;
- a single-label name that is no container's, when the user (or the host) set an ndots
  option: an empty answer, never sent out (the client goes on with its search list);
- anything else is not ours: the caller forwards it upstream.

One departure, so container names do not leak upstream: a name that is a container's with
one of the container's search domains appended (what a client with ``ndots`` above 0 asks
first) is answered here too, instead of being forwarded to a server that might have a
wildcard for that domain.

Pure: no sockets here; ``server.py`` feeds packets in and sends replies out.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from dnslib import OPCODE, PTR, QTYPE, RR, A, DNSRecord

Lookup = Callable[[str, str], list[IPv4Address]]
"""``lookup(owner, name)``: the addresses of ``name`` (lower case, no trailing dot) for the
container ``owner`` (its networks' container names, aliases, short ids); empty when the
name is no container's."""

ReverseLookup = Callable[[str, IPv4Address], str | None]
"""``reverse(owner, address)``: ``"name.network"`` for a container address on one of
``owner``'s networks, else None."""

TTL = 600
UDP_REPLY_SIZE = 512
"""A UDP reply's limit when the query has no EDNS record (or a smaller one)."""
TCP_REPLY_SIZE = 65535
_IPV4_PTR = ".in-addr.arpa"


@dataclass(frozen=True)
class Asker:
    """The container a query comes from and its resolver settings."""

    owner: str
    search: tuple[str, ...] = ()
    ndots_set: bool = False


def normalised(name: str) -> str:
    """A query name as ``lookup`` takes it: lower case, no trailing dot."""
    return name.rstrip(".").lower()


def reply_limit(request: DNSRecord, tcp: bool) -> int:
    """How long a reply may be: TCP's 64 KiB, or UDP's 512 bytes raised by an EDNS
    record's payload size."""
    if tcp:
        return TCP_REPLY_SIZE
    sizes = [int(rr.rclass) for rr in request.ar if rr.rtype == QTYPE.OPT]
    return max([UDP_REPLY_SIZE, *sizes])


def empty_reply(request: DNSRecord) -> DNSRecord:
    """A NOERROR reply with the query's id and question and nothing in it; recursion
    available, not authoritative (as libnetwork's)."""
    reply = request.reply(ra=1, aa=0)
    reply.ar = []
    return reply


def error_reply(request: DNSRecord, rcode: int) -> DNSRecord:
    reply = empty_reply(request)
    reply.header.rcode = rcode
    return reply


class LocalAnswers:
    """The answers of the resolver's own names; thread-safe if the callbacks are."""

    def __init__(self, lookup: Lookup, reverse: ReverseLookup | None = None) -> None:
        self._lookup = lookup
        self._reverse = reverse

    def answer(self, asker: Asker, request: DNSRecord) -> DNSRecord | None:
        """The reply to ``request``, or None when it is not ours and must go upstream."""
        if request.header.opcode != OPCODE.QUERY or len(request.questions) != 1:
            return None
        question = request.q
        qtype = question.qtype
        qname = str(question.qname)
        if qtype in (QTYPE.A, QTYPE.AAAA):
            addresses = self._addresses(asker, normalised(qname))
            if addresses:
                reply = empty_reply(request)
                if qtype == QTYPE.A:
                    for address in random.sample(addresses, len(addresses)):
                        reply.add_answer(RR(qname, QTYPE.A, rdata=A(str(address)), ttl=TTL))
                return reply
            if asker.ndots_set and "." not in normalised(qname):
                return empty_reply(request)
            return None
        if qtype == QTYPE.PTR and self._reverse is not None:
            reversed_address = ptr_address(qname)
            if reversed_address is None:
                return None
            name = self._reverse(asker.owner, reversed_address)
            if not name:
                return None
            reply = empty_reply(request)
            reply.add_answer(RR(qname, QTYPE.PTR, rdata=PTR(name.rstrip(".") + "."), ttl=TTL))
            return reply
        return None

    def _addresses(self, asker: Asker, name: str) -> list[IPv4Address]:
        if not name:
            return []
        found = self._lookup(asker.owner, name)
        if found:
            return list(found)
        for domain in asker.search:
            suffix = "." + normalised(domain)
            if suffix != "." and name.endswith(suffix) and len(name) > len(suffix):
                found = self._lookup(asker.owner, name[: -len(suffix)])
                if found:
                    return list(found)
        return []


def ptr_address(qname: str) -> IPv4Address | None:
    """The address a reverse name (``4.3.2.1.in-addr.arpa.``) asks about, if it is a
    whole IPv4 one."""
    name = normalised(qname)
    if not name.endswith(_IPV4_PTR):
        return None
    labels = name[: -len(_IPV4_PTR)].split(".")
    if len(labels) != 4 or not all(label.isdigit() and len(label) <= 3 for label in labels):
        return None
    try:
        return IPv4Address(".".join(reversed(labels)))
    except ValueError:
        return None


def packed_reply(reply: DNSRecord, limit: int, tcp: bool) -> bytes:
    """``reply`` on the wire, answers dropped from the end until it fits ``limit`` (with
    the truncated bit set over UDP, so the client asks again over TCP)."""
    data: bytes = reply.pack()
    while len(data) > limit and reply.rr:
        reply.rr = reply.rr[:-1]
        if not tcp:
            reply.header.tc = 1
        data = reply.pack()
    return data


def parse_query(data: bytes) -> DNSRecord | None:
    """The query in ``data``, or None when it is no DNS query at all (a reply, or bytes
    dnslib cannot read)."""
    try:
        record = DNSRecord.parse(data)
    except Exception:  # dnslib raises DNSError, struct errors, UnicodeDecodeError...
        return None
    if record.header.qr:
        return None
    return record
