"""The resolv.conf a container on a user network gets, as the reference dockerd writes it:
``container_dns`` must give the same file for the same host file and flags (the host's
is what the lab dockerd reads: the real machine's /etc/resolv.conf)."""

from __future__ import annotations

import secrets

from cove.runtime.network.embedded_dns import container_dns, parse_resolv_conf
from tests.support.lab_dockerd import LabDockerd

FLAG_SETS: list[dict[str, list[str]]] = [
    {},
    {"dns_options": ["ndots:2"]},
    {"dns_options": ["ndots:0"]},
    {"dns_search": ["a.example"], "dns_options": ["timeout:3"]},
    {"dns": ["198.18.0.2", "fd00::1"]},
    {"dns_search": ["b.example", "c.example"]},
]


def _argv(flags: dict[str, list[str]]) -> list[str]:
    names = {"dns": "--dns", "dns_search": "--dns-search", "dns_options": "--dns-option"}
    return [arg for key, values in flags.items() for value in values for arg in (names[key], value)]


def test_a_user_network_container_s_resolv_conf_is_the_one_dockerd_writes(
    lab_dockerd: LabDockerd,
) -> None:
    with open("/etc/resolv.conf") as f:
        host = parse_resolv_conf(f.read())
    network = f"dnsrc-{secrets.token_hex(3)}"
    created = lab_dockerd.docker("network", "create", "--subnet", "10.233.0.0/24", network)
    assert created.returncode == 0, created.stderr
    try:
        for flags in FLAG_SETS:
            ran = lab_dockerd.docker(
                "run", "--rm", "--network", network, *_argv(flags),
                "busybox", "cat", "/etc/resolv.conf",
            )
            assert ran.returncode == 0, ran.stderr
            assert container_dns(host, **flags).resolv_conf == ran.stdout, flags
    finally:
        lab_dockerd.docker("network", "rm", network)
