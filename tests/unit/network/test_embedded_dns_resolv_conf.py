"""resolv.conf for a container on a user network: the files are the ones the reference
dockerd 20.10 wrote for the same flags (checked in a lab dockerd), and the upstreams the
embedded resolver forwards to."""

from __future__ import annotations

import pytest

from cove.runtime.network.embedded_dns import container_dns, parse_resolv_conf
from cove.runtime.network.embedded_dns.resolv_conf import host_upstreams

HOST = parse_resolv_conf("# made by a VPN\nnameserver 10.255.255.53\n")


def test_a_container_without_flags_asks_127_0_0_11_with_ndots_0_and_the_host_s_servers() -> None:
    dns = container_dns(HOST)
    assert dns.resolv_conf == "nameserver 127.0.0.11\noptions ndots:0\n"
    assert dns.upstreams is None  # the host's, read live
    assert not dns.ndots_set


def test_a_user_ndots_option_is_kept_instead_of_ndots_0() -> None:
    for option in ("ndots:2", "ndots:0"):
        dns = container_dns(HOST, dns_options=[option])
        assert dns.resolv_conf == f"nameserver 127.0.0.11\noptions {option}\n"
        assert dns.ndots_set


def test_dns_search_and_options_come_first_and_last() -> None:
    dns = container_dns(HOST, dns_search=["a.example"], dns_options=["timeout:3"])
    assert dns.resolv_conf == (
        "search a.example\nnameserver 127.0.0.11\noptions timeout:3 ndots:0\n"
    )
    assert dns.search == ("a.example",)


def test_dns_servers_become_upstreams_and_ipv6_ones_stay_in_the_file() -> None:
    dns = container_dns(HOST, dns=["198.18.0.2", "fd00::1"])
    assert dns.resolv_conf == "nameserver 127.0.0.11\nnameserver fd00::1\noptions ndots:0\n"
    assert dns.upstreams == ("198.18.0.2",)


def test_the_host_s_search_and_options_are_kept() -> None:
    host = parse_resolv_conf(
        "search old.example\nsearch corp.example lan\nnameserver 127.0.0.53\n"
        "options edns0 trust-ad\n"
    )
    dns = container_dns(host)
    assert dns.resolv_conf == (
        "search corp.example lan\nnameserver 127.0.0.11\noptions edns0 trust-ad ndots:0\n"
    )


def test_a_malformed_ndots_option_is_refused_with_dockerd_s_words() -> None:
    with pytest.raises(ValueError, match="invalid ndots option ndots"):
        container_dns(HOST, dns_options=["ndots"])
    with pytest.raises(ValueError, match="invalid number for ndots option: x"):
        container_dns(HOST, dns_options=["ndots:x"])


def test_host_upstreams_keep_loopback_servers_and_default_to_google_s() -> None:
    assert host_upstreams(parse_resolv_conf("nameserver 127.0.0.53\n")) == ("127.0.0.53",)
    assert host_upstreams(parse_resolv_conf("")) == ("8.8.8.8", "8.8.4.4")
    four = "".join(f"nameserver 10.0.0.{i}\n" for i in range(1, 5))
    assert host_upstreams(parse_resolv_conf(four)) == ("10.0.0.1", "10.0.0.2", "10.0.0.3")
