"""The daemon's network settings (dockerd's bridge, bip, default-address-pools, from flags
over daemon.json) and what create refuses about published ports, without a kernel."""

from __future__ import annotations

import json
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from cove.runtime import errors
from cove.runtime.engine.container_network import ContainerNetworks
from cove.runtime.engine.create_config import host_resolv_conf
from cove.runtime.engine.network_config import load_config
from cove.runtime.store.layout import Layout


def _config(tmp_path: Path, settings: dict | None = None, **flags: object):
    if settings is not None:
        (tmp_path / "daemon.json").write_text(json.dumps(settings))
    return load_config(tmp_path, None, flags.get("bridge"), flags.get("bip"),  # type: ignore[arg-type]
                       flags.get("pools") or [])  # type: ignore[arg-type]


def test_the_bridge_is_on_unless_none_is_asked_by_flag_or_daemon_json(tmp_path: Path) -> None:
    assert _config(tmp_path).enabled
    assert not _config(tmp_path, bridge="none").enabled
    assert not _config(tmp_path, {"bridge": "none"}).enabled
    assert _config(tmp_path, {"bridge": "none"}, bridge="").enabled  # the flag wins


def test_bip_and_pools_come_from_flags_over_daemon_json(tmp_path: Path) -> None:
    config = _config(tmp_path, {"bip": "10.9.0.1/24", "default-address-pools": [
        {"base": "10.10.0.0/16", "size": 24}]})
    assert config.bip == "10.9.0.1/24"
    assert config.pools is not None and config.pools[0].base == IPv4Network("10.10.0.0/16")
    flagged = _config(tmp_path, bip="10.8.0.1/24", pools=["base=10.11.0.0/16,size=20"])
    assert flagged.bip == "10.8.0.1/24" and flagged.pools is not None
    assert (flagged.pools[0].base, flagged.pools[0].size) == (IPv4Network("10.11.0.0/16"), 20)


@pytest.mark.parametrize(("settings", "flags", "message"), [
    ({"bip": "10.0.0.0/8"}, {}, "not a host address"),
    ({"bip": "nonsense"}, {}, "invalid bip"),
    ({}, {"bridge": "none", "bip": "10.9.0.1/24"}, "mutually exclusive"),
    ({"default-address-pools": [{"base": "10.0.0.0/8", "size": 4}]}, {}, "invalid pools size"),
])
def test_bad_settings_are_refused_at_start(tmp_path: Path, settings: dict, flags: dict,
                                           message: str) -> None:
    with pytest.raises(errors.InvalidParameter, match=message):
        _config(tmp_path, settings, **flags)


def test_publishing_without_a_bridge_or_on_none_is_refused(tmp_path: Path) -> None:
    networks = ContainerNetworks(Layout(tmp_path / "data", tmp_path / "exec"))
    bound = {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}
    with pytest.raises(errors.InvalidParameter, match="--bridge none"):
        networks.check_create({}, {"NetworkMode": "default", **bound})
    with pytest.raises(errors.InvalidParameter, match="port publishing"):
        networks.check_create({}, {"NetworkMode": "none", **bound})
    assert networks.check_create({}, {"NetworkMode": "host", **bound}) == [
        "Published ports are discarded when using host network mode"]
    # -P with nothing exposed asks for nothing
    assert networks.check_create({}, {"NetworkMode": "default", "PublishAllPorts": True}) == []


def test_systemd_resolveds_stub_gives_way_to_its_upstream_servers(tmp_path: Path) -> None:
    stub, upstream = tmp_path / "resolv.conf", tmp_path / "upstream.conf"
    stub.write_text("nameserver 127.0.0.53\noptions edns0\n")
    upstream.write_text("nameserver 192.0.2.53\n")
    assert host_resolv_conf(str(stub), str(upstream)) == "nameserver 192.0.2.53\n"
    stub.write_text("nameserver 192.0.2.1\n")
    assert host_resolv_conf(str(stub), str(upstream)) == "nameserver 192.0.2.1\n"


def test_a_bridge_that_cannot_be_made_leaves_loopback_and_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cove.runtime.engine.network_config import NetworkConfig
    from cove.runtime.network.bridge import DefaultBridge

    def refuse(self: DefaultBridge, live: object = None, networks: object = ()) -> None:
        raise errors.SystemError_("replace table ip cove: nft is not installed")

    monkeypatch.setattr(DefaultBridge, "setup", refuse)
    networks = ContainerNetworks(Layout(tmp_path / "data", tmp_path / "exec"), NetworkConfig())
    networks.setup([])
    assert not networks.enabled
    with pytest.raises(errors.InvalidParameter) as info:
        networks.check_create({}, {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}})
    assert info.value.message == ("the default bridge could not be set up: replace table ip "
                                  "cove: nft is not installed")
