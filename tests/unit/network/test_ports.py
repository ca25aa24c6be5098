"""``ExposedPorts``/``PortBindings``/``PublishAllPorts`` read and checked as dockerd does.

The ``invalid port specification`` messages were checked against dockerd 20.10 (POST
/containers/create); where dockerd takes a binding it can never honour (an unknown
protocol, port 0, a host address that isn't one), Cove refuses it at create."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from cove.runtime import errors
from cove.runtime.network.ports import (
    ContainerPort,
    HostPorts,
    PortRequest,
    Publication,
    network_settings_ports,
    port_requests,
    validate,
)


def test_bindings_become_requests_with_tcp_by_default_and_ranges_kept() -> None:
    requests = port_requests(
        {
            "80": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "", "HostPort": ""}],
            "443/tcp": [{"HostPort": "8000-8010"}, {"HostIp": "127.0.0.1", "HostPort": "9443"}],
        }
    )
    assert requests == [
        PortRequest(ContainerPort(53, "udp"), HostPorts(dual=True)),
        PortRequest(ContainerPort(80), HostPorts(IPv4Address("127.0.0.1"), 8080, 8080)),
        PortRequest(ContainerPort(443), HostPorts(IPv4Address("0.0.0.0"), 8000, 8010, dual=True)),
        PortRequest(ContainerPort(443), HostPorts(IPv4Address("127.0.0.1"), 9443, 9443)),
    ]
    assert requests[0].host.random


def test_publish_all_gives_a_random_port_to_each_exposed_port_not_bound() -> None:
    requests = port_requests(
        {"80/tcp": [{"HostPort": "8080"}]},
        {"80/tcp": {}, "6379/tcp": {}, "53/udp": {}},
        publish_all=True,
    )
    assert [(str(r.container), r.host.random) for r in requests] == [
        ("53/udp", True),
        ("80/tcp", False),
        ("6379/tcp", True),
    ]
    assert port_requests(None, {"80/tcp": {}}) == []  # exposed alone publishes nothing


@pytest.mark.parametrize(
    "bindings, message",
    [
        # dockerd 20.10's own answers
        ({"abc/tcp": [{"HostPort": "80"}]}, 'invalid port specification: "abc"'),
        ({"80-90/tcp": [{"HostPort": "80"}]}, 'invalid port specification: "80-90"'),
        ({"70000/tcp": [{"HostPort": "8080"}]}, 'invalid port specification: "70000"'),
        ({"80/tcp": [{"HostPort": "abc"}]}, 'invalid port specification: "abc"'),
        ({"80/tcp": [{"HostPort": "70000"}]}, 'invalid port specification: "70000"'),
        ({"80/tcp": [{"HostPort": "8010-8000"}]}, 'invalid port specification: "8010-8000"'),
        ({"80/tcp": [{"HostPort": "-1"}]}, 'invalid port specification: "-1"'),
        # dockerd takes these at create and fails or drops them later; Cove says so at once
        ({"80/foo": [{"HostPort": "8080"}]}, "invalid proto: foo"),
        ({"0/tcp": [{"HostPort": "8080"}]}, 'invalid port specification: "0"'),
        ({"/tcp": [{"HostPort": "8080"}]}, 'invalid port specification: ""'),
        ({"80/tcp": [{"HostPort": "8080/udp"}]}, 'invalid port specification: "8080/udp"'),
        ({"80/tcp": [{"HostIp": "1.2.3", "HostPort": "8080"}]}, "invalid host IP address: '1.2.3'"),
    ],
)
def test_bad_bindings_are_refused_with_dockerds_words(
    bindings: dict[str, object], message: str
) -> None:
    with pytest.raises(errors.InvalidParameter) as refused:
        validate({}, {"PortBindings": bindings})
    assert message in refused.value.message


def test_a_bad_exposed_port_is_refused_too() -> None:
    with pytest.raises(errors.InvalidParameter, match='invalid port specification: "abc"'):
        validate({"ExposedPorts": {"abc/tcp": {}}}, {})


def test_inspect_lists_exposed_ports_as_null_and_published_ones_with_their_host_side() -> None:
    published = [
        Publication("tcp", IPv4Address("0.0.0.0"), 32768, 80),
        Publication("tcp", IPv4Address("127.0.0.1"), 8080, 80),
    ]
    assert network_settings_ports(["80/tcp", "6379"], published) == {
        "80/tcp": [
            {"HostIp": "0.0.0.0", "HostPort": "32768"},
            {"HostIp": "127.0.0.1", "HostPort": "8080"},
        ],
        "6379/tcp": None,
    }


def test_bindings_of_the_wrong_json_type_get_gos_decoder_words_as_dockerd() -> None:
    with pytest.raises(errors.InvalidParameter) as info:
        validate({}, {"PortBindings": {"80/tcp": 5}})
    assert info.value.message == (
        "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.PortBindings "
        "of type []nat.PortBinding"
    )
    with pytest.raises(errors.InvalidParameter) as info:
        validate({}, {"PortBindings": {"80/tcp": [{"HostPort": 5}]}})
    assert info.value.message == (
        "json: cannot unmarshal number into Go struct field "
        "PortBinding.HostConfig.PortBindings.HostPort of type string"
    )
