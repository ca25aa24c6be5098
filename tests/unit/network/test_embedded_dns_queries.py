"""The embedded resolver's replies, from a fake lookup and a fake upstream on 127.0.0.1:
what a container's client would get for each kind of query."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from cove.runtime.network.embedded_dns.answers import Asker, LocalAnswers
from cove.runtime.network.embedded_dns.queries import ClientSettings, QueryHandler
from cove.runtime.network.embedded_dns.upstream import HostResolvers
from tests.support.fake_dns import FakeUpstream, dead_server

NAMES = {
    "web": ["10.5.0.2"],
    "db": ["10.5.0.3"],
    "cache-alias": ["10.5.0.3"],
    "web.appnet": ["10.5.0.2"],
    "many": [f"10.5.1.{i}" for i in range(1, 101)],
}


def lookup(owner: str, name: str) -> list[IPv4Address]:
    assert owner == "c1"
    assert name == name.lower() and not name.endswith(".")
    return [IPv4Address(a) for a in NAMES.get(name, [])]


def reverse(owner: str, address: IPv4Address) -> str | None:
    return {"10.5.0.2": "web.appnet"}.get(str(address))


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream({"example.org": "192.0.2.80"}) as server:
        yield server


def handler(timeout: float = 0.5) -> QueryHandler:
    """Every test names its upstreams: the host's (Google's, with no file) are never used."""
    return QueryHandler(LocalAnswers(lookup, reverse), HostResolvers("/nonexistent"), timeout)


def settings(upstream: FakeUpstream | None = None, **kwargs: object) -> ClientSettings:
    asker = Asker("c1", tuple(kwargs.pop("search", ())), bool(kwargs.pop("ndots_set", False)))  # type: ignore[arg-type]
    ups = (upstream.server,) if upstream is not None else (dead_server(),)
    return ClientSettings(asker, ups, **kwargs)  # type: ignore[arg-type]


def ask(h: QueryHandler, s: ClientSettings, name: str, qtype: str = "A", tcp: bool = False) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    data = h.reply(s, query.pack(), tcp)
    assert data is not None
    reply = DNSRecord.parse(data)
    assert reply.header.id == query.header.id
    assert reply.questions == query.questions
    return reply


def addresses(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A)


def test_a_container_name_is_answered_with_its_address_whatever_the_case_or_trailing_dot(
    upstream: FakeUpstream,
) -> None:
    h, s = handler(), settings(upstream)
    for name in ("web", "web.", "WEB", "Web."):
        reply = ask(h, s, name)
        assert reply.header.rcode == RCODE.NOERROR
        assert addresses(reply) == ["10.5.0.2"]
        assert reply.rr[0].ttl == 600
        assert str(reply.rr[0].rname) == (name if name.endswith(".") else name + ".")
        assert reply.header.ra == 1 and reply.header.aa == 0
    assert upstream.asked == []


def test_aliases_and_name_dot_network_are_answered(upstream: FakeUpstream) -> None:
    h, s = handler(), settings(upstream)
    assert addresses(ask(h, s, "cache-alias")) == ["10.5.0.3"]
    assert addresses(ask(h, s, "web.appnet")) == ["10.5.0.2"]
    assert upstream.asked == []


def test_aaaa_for_a_container_name_is_an_empty_answer_that_never_goes_out(
    upstream: FakeUpstream,
) -> None:
    reply = ask(handler(), settings(upstream), "db", "AAAA")
    assert reply.header.rcode == RCODE.NOERROR and reply.rr == []
    assert upstream.asked == []


def test_a_container_address_reverses_to_name_dot_network(upstream: FakeUpstream) -> None:
    reply = ask(handler(), settings(upstream), "2.0.5.10.in-addr.arpa", "PTR")
    assert [str(rr.rdata) for rr in reply.rr] == ["web.appnet."]
    assert upstream.asked == []


def test_other_names_and_addresses_go_to_the_upstream(upstream: FakeUpstream) -> None:
    h, s = handler(), settings(upstream)
    assert addresses(ask(h, s, "example.org")) == ["192.0.2.80"]
    assert ask(h, s, "nothing.example").header.rcode == RCODE.NXDOMAIN
    ask(h, s, "9.9.9.9.in-addr.arpa", "PTR")
    ask(h, s, "example.org", "MX")
    assert upstream.asked == [
        ("example.org", "udp"),
        ("nothing.example", "udp"),
        ("9.9.9.9.in-addr.arpa", "udp"),
        ("example.org", "udp"),
    ]


def test_a_name_with_a_search_domain_appended_is_answered_here_not_upstream(
    upstream: FakeUpstream,
) -> None:
    s = settings(upstream, search=("corp.example",))
    assert addresses(ask(handler(), s, "web.corp.example")) == ["10.5.0.2"]
    assert upstream.asked == []


def test_with_ndots_set_an_unknown_single_label_name_is_not_sent_out(
    upstream: FakeUpstream,
) -> None:
    h = handler()
    reply = ask(h, settings(upstream, ndots_set=True), "printer")
    assert reply.header.rcode == RCODE.NOERROR and reply.rr == []
    assert upstream.asked == []
    ask(h, settings(upstream), "printer")
    assert upstream.asked == [("printer", "udp")]


def test_servfail_when_no_upstream_answers_and_servers_are_tried_in_order(
    upstream: FakeUpstream,
) -> None:
    h = handler(timeout=0.3)
    s = settings(None)
    assert ask(h, s, "example.org").header.rcode == RCODE.SERVFAIL
    upstream.silent = True
    silent_first = ClientSettings(Asker("c1"), (upstream.server, dead_server()))
    assert ask(h, silent_first, "example.org").header.rcode == RCODE.SERVFAIL
    upstream.silent = False
    with FakeUpstream({"example.org": "192.0.2.81"}) as second:
        upstream.silent = True
        both = ClientSettings(Asker("c1"), (upstream.server, second.server))
        assert addresses(ask(h, both, "example.org")) == ["192.0.2.81"]


def test_an_internal_container_s_queries_never_go_out(upstream: FakeUpstream) -> None:
    s = ClientSettings(Asker("c1"), (upstream.server,), forward=False)
    assert ask(handler(), s, "example.org").header.rcode == RCODE.SERVFAIL
    assert addresses(ask(handler(), s, "web")) == ["10.5.0.2"]
    assert upstream.asked == []


def test_a_truncated_upstream_reply_is_passed_on_and_the_tcp_retry_goes_over_tcp(
    upstream: FakeUpstream,
) -> None:
    h, s = handler(), settings(upstream)
    upstream.truncate_udp = True
    assert ask(h, s, "example.org").header.tc == 1
    reply = ask(h, s, "example.org", tcp=True)
    assert addresses(reply) == ["192.0.2.80"] and reply.header.tc == 0
    assert upstream.asked == [("example.org", "udp"), ("example.org", "tcp")]


def test_a_long_local_answer_is_cut_to_512_bytes_over_udp_but_not_over_tcp() -> None:
    h, s = handler(), settings(None)
    query = DNSRecord.question("many")
    data = h.reply(s, query.pack(), False)
    assert data is not None and len(data) <= 512
    assert DNSRecord.parse(data).header.tc == 1
    full = ask(h, s, "many", tcp=True)
    assert len(addresses(full)) == 100 and full.header.tc == 0


def test_malformed_packets_get_formerr_or_nothing() -> None:
    h, s = handler(), settings(None)
    garbage = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x05abc"
    data = h.reply(s, garbage, False)
    assert data is not None
    reply = DNSRecord.parse(data)
    assert reply.header.id == 0x1234 and reply.header.rcode == RCODE.FORMERR
    assert h.reply(s, b"\x00", False) is None
    assert h.reply(s, os.urandom(3), False) is None
    answer = DNSRecord.question("web").reply().pack()  # a reply, not a query
    assert h.reply(s, answer, False) is None
    no_question = struct.pack("!HHHHHH", 7, 0x0100, 0, 0, 0, 0)
    assert h.reply(s, no_question, False) is None


def test_the_host_s_servers_follow_resolv_conf_when_it_changes(
    upstream: FakeUpstream, tmp_path: os.PathLike[str]
) -> None:
    path = os.path.join(tmp_path, "resolv.conf")
    port = int(upstream.server.split(":")[1])
    with open(path, "w") as f:
        f.write("nameserver 127.0.0.2\n")  # the fake listens on 127.0.0.1 only
    resolvers = HostResolvers(path, interval=0, port=port)
    h = QueryHandler(LocalAnswers(lookup, reverse), resolvers, 0.3)
    s = ClientSettings(Asker("c1"), None)
    assert ask(h, s, "example.org").header.rcode == RCODE.SERVFAIL
    with open(path + ".new", "w") as f:
        f.write("# rewritten by a VPN\nnameserver 127.0.0.1\n")
    os.rename(path + ".new", path)
    assert addresses(ask(h, s, "example.org")) == ["192.0.2.80"]


def test_a_failing_lookup_is_servfail_not_silence(upstream: FakeUpstream) -> None:
    def broken(owner: str, name: str) -> list[IPv4Address]:
        raise RuntimeError("the engine's lock is gone")

    h = QueryHandler(LocalAnswers(broken), HostResolvers("/nonexistent"), 0.5)
    assert ask(h, settings(upstream), "web").header.rcode == RCODE.SERVFAIL
