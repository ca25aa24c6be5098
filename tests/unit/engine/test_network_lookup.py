"""The engine-side name lookup the embedded DNS answers from: names, aliases and short ids
of the containers sharing a user network, never the default bridge's."""

from __future__ import annotations

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
