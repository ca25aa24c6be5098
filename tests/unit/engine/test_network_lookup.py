"""The engine-side name lookup the embedded DNS answers from (names, aliases and short ids
of the containers sharing a user network, never the default bridge's), and the endpoints
a container's record keeps, an older coved's single one included."""

from __future__ import annotations

import hashlib
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from cove.runtime.engine.container_network import ContainerNetworks
from cove.runtime.network.bridge import Endpoint
from cove.runtime.network.records import NetworkRecord
from cove.runtime.store.layout import Layout


class FakeDriver:
    def __init__(self, endpoints: list[Endpoint]) -> None:
        self._endpoints = endpoints

    def all_endpoints(self) -> list[Endpoint]:
        return list(self._endpoints)


def _endpoint(owner: str, network: str, address: str, *names: str) -> Endpoint:
    return Endpoint(owner, IPv4Interface(address + "/24"), None, (), network, names=names)


def test_lookup_answers_within_shared_user_networks(tmp_path: Path) -> None:
    networks = ContainerNetworks(Layout(tmp_path / "data", tmp_path / "exec"))
    networks.store.add(NetworkRecord("n1" * 32, "app", "bridge", "2026-01-01T00:00:00Z"))
    networks._bridge = FakeDriver([  # type: ignore[assignment]
        _endpoint("web", "n1" * 32, "10.0.0.2", "web", "www", "web0123456789"),
        _endpoint("client", "n1" * 32, "10.0.0.3", "client", "client01234"),
        _endpoint("other", "n2" * 32, "10.0.1.2", "other"),
        _endpoint("web", "bridge", "172.17.0.2"),
        _endpoint("plain", "bridge", "172.17.0.3"),
    ])
    assert networks.lookup("client", "web") == [IPv4Address("10.0.0.2")]
    assert networks.lookup("client", "WWW.") == [IPv4Address("10.0.0.2")]
    assert networks.lookup("client", "web0123456789") == [IPv4Address("10.0.0.2")]
    assert networks.lookup("client", "other") == []  # not on a shared network
    assert networks.lookup("plain", "web") == []  # the default bridge has no names
    assert networks.reverse_lookup("client", IPv4Address("10.0.0.2")) == "web.app"
    assert networks.reverse_lookup("plain", IPv4Address("10.0.0.2")) is None
    # a renamed container resolves by its new name only
    networks.name_of = lambda owner: "site" if owner == "web" else None
    assert networks.lookup("client", "site") == [IPv4Address("10.0.0.2")]
    assert networks.lookup("client", "web") == []
    assert networks.lookup("client", "www") == [IPv4Address("10.0.0.2")]
    assert networks.reverse_lookup("client", IPv4Address("10.0.0.2")) == "site.app"


def test_an_older_coveds_single_endpoint_is_read_as_the_default_bridges(
        tmp_path: Path) -> None:
    from cove.runtime.containers.record import Container
    from cove.runtime.engine.container_endpoints import ENDPOINTS_KEY, recorded_endpoints

    layout = Layout(tmp_path / "data", tmp_path / "exec")
    old = {"Owner": "c1", "Address": "172.17.0.2/16", "Gateway": "172.17.0.1",
           "Ports": [{"Proto": "tcp", "HostIp": "0.0.0.0", "HostPort": 8080,
                      "ContainerPort": 80}]}
    container = Container(layout, {"Id": "c1", "Name": "/c1", "_cove": {"endpoint": old}})
    found = recorded_endpoints(container)
    assert list(found) == ["bridge"]
    endpoint = found["bridge"]
    assert (endpoint.network, endpoint.interface, endpoint.mac_address) == \
        ("bridge", "eth0", "02:42:ac:11:00:02")
    assert endpoint.host_link == "cove-" + hashlib.sha256(b"c1").hexdigest()[:10]
    assert endpoint.publications[0].host_port == 8080
    # and a newer one's endpoints, by network
    user = _endpoint("c1", "n1" * 32, "10.0.0.2", "c1")
    container.private[ENDPOINTS_KEY] = {user.network: user.to_json()}
    assert set(recorded_endpoints(container)) == {"bridge", "n1" * 32}
