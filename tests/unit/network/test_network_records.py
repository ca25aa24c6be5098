"""Network records, create requests and filters: pure logic, as dockerd 20.10 has it."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from cove.runtime import errors
from cove.runtime.network import create_request, filters
from cove.runtime.network.pools import DEFAULT_POOLS, choose_subnet
from cove.runtime.network.records import IpamPool, NetworkRecord, NetworkStore
from cove.runtime.network.ruleset import BridgeNetwork, ruleset


def _record(name: str, created: str = "2026-01-01T00:00:00.123456789Z", **kw: object) -> \
        NetworkRecord:
    return NetworkRecord(id=name * 8, name=name, driver=str(kw.pop("driver", "bridge")),
                         created=created, **kw)  # type: ignore[arg-type]


def test_records_round_trip_and_keep_the_predefined_ids(tmp_path: Path) -> None:
    store = NetworkStore(tmp_path / "networks.json")
    store.ensure_predefined("2026-01-01T00:00:00Z")
    ids = {r.name: r.id for r in store.all()}
    assert set(ids) == {"bridge", "host", "none"}
    record = NetworkRecord(
        "a" * 64, "front", "bridge", "2026-01-02T00:00:00Z", internal=True, attachable=True,
        labels={"team": "a"}, options={"com.docker.network.bridge.name": "front0"},
        ipam_options={}, pools=(IpamPool(IPv4Network("10.7.0.0/24"), IPv4Address("10.7.0.254"),
                                         IPv4Network("10.7.0.128/25"),
                                         (("db", IPv4Address("10.7.0.9")),)),),
        user_subnet=True)
    store.add(record)
    again = NetworkStore(tmp_path / "networks.json")
    again.ensure_predefined("2026-02-01T00:00:00Z")
    assert {r.name: r.id for r in again.all() if r.predefined} == ids
    assert again.find("front") == record and again.find("a" * 6) == record
    assert record.link == "front0"
    shown = record.inspect()
    assert shown["IPAM"] == {"Driver": "default", "Options": {}, "Config": [{
        "Subnet": "10.7.0.0/24", "IPRange": "10.7.0.128/25", "Gateway": "10.7.0.254",
        "AuxiliaryAddresses": {"db": "10.7.0.9"}}]}
    assert again.find(ids["host"]).inspect()["IPAM"] == \
        {"Driver": "default", "Options": None, "Config": []}
    with pytest.raises(errors.NotFound, match="^network nosuch not found$"):
        again.find("nosuch")


def test_create_requests_are_checked_with_dockerds_words() -> None:
    def refused(body: object) -> str:
        with pytest.raises(errors.EngineError) as caught:
            create_request.parse(body)
        return caught.value.message

    assert refused({}) == "invalid name: "
    assert refused({"Name": "host"}) == "operation is not permitted on predefined host network "
    assert refused({"Name": "n", "Driver": "nosuch"}) == 'plugin "nosuch" not found'
    assert "not supported by Cove" in refused({"Name": "n", "Driver": "overlay"})
    assert "IPv6" in refused({"Name": "n", "EnableIPv6": True})
    assert "not supported by Cove" in refused(
        {"Name": "n", "Options": {"com.docker.network.bridge.enable_icc": "false"}})
    assert refused({"Name": "n", "IPAM": {"Config": [
        {"Subnet": "10.1.0.0/16", "Gateway": "10.2.0.1"}]}}) == \
        "no matching subnet for gateway 10.2.0.1"
    assert refused({"Name": "n", "IPAM": {"Config": [{"Subnet": "bad"}]}}) == \
        "invalid CIDR address: bad"
    asked = create_request.parse({"Name": "n", "Internal": True, "Labels": {"a": "b"},
                                  "IPAM": {"Config": [{"Subnet": "10.1.0.0/16"}]}})
    assert asked.internal and asked.labels == {"a": "b"}
    # dockerd shows no gateway for a subnet given without one
    pool = create_request.pools(asked.pool, IPv4Network("10.1.0.0/16"))[0]
    assert pool.gateway == IPv4Address("10.1.0.1")
    assert pool.to_json() == {"Subnet": "10.1.0.0/16"}
    assert IpamPool.from_record(pool.to_record()) == pool


def test_a_subnet_is_chosen_clear_of_routes_and_other_networks() -> None:
    taken = [IPv4Network("172.17.0.0/16"), IPv4Network("172.18.0.0/16"),
             IPv4Network("172.19.5.0/24")]
    assert choose_subnet(DEFAULT_POOLS, taken) == IPv4Network("172.20.0.0/16")


def test_list_filters_as_dockerd() -> None:
    records = [_record("bridge"), _record("host", driver="host"), _record("none", driver="null"),
               _record("front", labels={"team": "a"}), _record("back")]
    used = {"front"}

    def names(f: dict[str, list[str]]) -> list[str]:
        return [r.name for r in filters.select(records, f, lambda r: r.name in used)]

    assert names({"type": ["custom"]}) == ["front", "back"]
    assert names({"type": ["builtin"]}) == ["bridge", "host", "none"]
    assert names({"name": ["^b"]}) == ["bridge", "back"]
    assert names({"id": ["frontfront"]}) == ["front"]
    assert names({"driver": ["null"]}) == ["none"]
    assert names({"label": ["team=a"]}) == ["front"]
    assert names({"dangling": ["true"]}) == ["back"]
    assert names({"dangling": ["0"]}) == ["bridge", "host", "none", "front"]
    with pytest.raises(errors.InvalidParameter, match="^Invalid filter 'bogus'$"):
        names({"bogus": ["x"]})
    with pytest.raises(errors.SystemError_, match="^invalid filter: 'type'='x'$"):
        names({"type": ["x"]})
    with pytest.raises(errors.InvalidParameter, match="more than one value"):
        names({"dangling": ["true", "false"]})


def test_prune_filters_until_and_labels() -> None:
    old = _record("old", labels={"keep": "no"}, created="2026-01-01T00:00:00.5Z")
    new = _record("new", created="2026-03-01T00:00:00Z")
    now = datetime(2026, 3, 1, 1, tzinfo=UTC)
    cutoff = filters.until_cutoff({"until": ["24h"]}, now)
    assert filters.prunable(old, {}, cutoff) and not filters.prunable(new, {}, cutoff)
    assert not filters.prunable(old, {"label!": ["keep"]}, None)
    assert filters.prunable(old, {"label": ["keep=no"]}, None)
    assert not filters.prunable(_record("bridge"), {}, None)
    with pytest.raises(errors.SystemError_, match="failed to parse value as time or duration"):
        filters.until_cutoff({"until": ["zz"]})


def test_networks_are_isolated_and_internal_ones_have_no_way_out() -> None:
    table = ruleset([BridgeNetwork("cove0", IPv4Network("172.17.0.0/16")),
                     BridgeNetwork("br-a", IPv4Network("172.18.0.0/16"), (), True)]).render()
    assert 'iifname "cove0" oifname { "br-a" } drop' in table
    assert 'iifname "br-a" oifname != "br-a" drop' in table
    assert 'ip saddr 172.18.0.0/16 oifname != "br-a" masquerade' not in table
    assert 'ip saddr 172.17.0.0/16 oifname != "cove0" masquerade' in table
