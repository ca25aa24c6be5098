"""``-p`` and ``--expose`` read as the docker CLI reads them (nat.ParsePortSpec)."""

from __future__ import annotations

import pytest

from cove.desktop.cli.errors import InvalidOption
from cove.desktop.cli.publish_options import parse_expose, parse_publish


@pytest.mark.parametrize(
    ("spec", "bindings"),
    [
        ("80", {"80/tcp": [{"HostIp": "", "HostPort": ""}]}),
        ("8080:80", {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}),
        ("127.0.0.1:8080:80/udp", {"80/udp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}),
        ("127.0.0.1::80", {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}),
        (
            "8000-8001:80-81",
            {
                "80/tcp": [{"HostIp": "", "HostPort": "8000"}],
                "81/tcp": [{"HostIp": "", "HostPort": "8001"}],
            },
        ),
        ("8000-8010:80", {"80/tcp": [{"HostIp": "", "HostPort": "8000-8010"}]}),
        ("[::1]:8080:80", {"80/tcp": [{"HostIp": "::1", "HostPort": "8080"}]}),
        ("published=8080,target=80,protocol=udp", {"80/udp": [{"HostIp": "", "HostPort": "8080"}]}),
    ],
)
def test_each_publish_form_gives_dockers_bindings(spec: str, bindings: dict) -> None:
    exposed, found = parse_publish([spec])
    assert found == bindings
    assert exposed == {key: {} for key in bindings}


def test_two_bindings_of_one_port_are_both_kept() -> None:
    _, found = parse_publish(["127.0.0.1:8080:80", "8081:80"])
    assert found == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}, {"HostIp": "", "HostPort": "8081"}]
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("8080:", "No port specified: 8080:<empty>"),
        ("8080:abc", "Invalid containerPort: abc"),
        ("x:80", "Invalid hostPort: x"),
        ("1.2.3:80:80", "Invalid ip address: 1.2.3"),
        (
            "8000-8002:80-81",
            "Invalid ranges specified for container and host Ports: 80-81 and 8000-8002",
        ),
        ("80/icmp", "Invalid proto: icmp"),
    ],
)
def test_bad_publish_values_get_dockers_messages(spec: str, message: str) -> None:
    with pytest.raises(InvalidOption) as info:
        parse_publish([spec])
    assert str(info.value) == message


def test_expose_takes_ports_and_ranges() -> None:
    assert parse_expose(["80", "53/udp", "9000-9001"]) == {
        "80/tcp": {},
        "53/udp": {},
        "9000/tcp": {},
        "9001/tcp": {},
    }
