"""Addresses in a network's subnet: lowest free first, ``--ip``, and kept on disk."""

from __future__ import annotations

import json
import os
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from cove.runtime import errors
from cove.runtime.network.ipam import Ipam

GATEWAY = IPv4Interface("172.17.0.1/16")


def test_addresses_are_the_lowest_free_ones_and_a_released_one_is_given_again(
    tmp_path: Path,
) -> None:
    ipam = Ipam(tmp_path / "ipam.json")
    ipam.add_network("bridge", GATEWAY)
    assert ipam.allocate("bridge", "a") == IPv4Interface("172.17.0.2/16")
    assert ipam.allocate("bridge", "b") == IPv4Interface("172.17.0.3/16")
    ipam.release("bridge", "a")
    assert ipam.allocate("bridge", "c") == IPv4Interface("172.17.0.2/16")


def test_the_gateway_network_and_broadcast_addresses_are_never_given(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path / "ipam.json")
    ipam.add_network("tiny", IPv4Interface("10.9.0.2/30"))  # hosts: .1 and .2 (gateway)
    assert ipam.allocate("tiny", "a") == IPv4Interface("10.9.0.1/30")
    with pytest.raises(errors.Unavailable, match="no available IPv4 addresses"):
        ipam.allocate("tiny", "b")
    with pytest.raises(errors.Conflict, match="Address already in use"):
        ipam.allocate("tiny", "b", IPv4Address("10.9.0.2"))


def test_a_requested_address_must_be_free_and_in_the_subnet(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path / "ipam.json")
    ipam.add_network("bridge", GATEWAY)
    assert ipam.allocate("bridge", "a", IPv4Address("172.17.9.9")) == IPv4Interface("172.17.9.9/16")
    with pytest.raises(errors.Conflict, match="Address already in use"):
        ipam.allocate("bridge", "b", IPv4Address("172.17.9.9"))
    with pytest.raises(errors.InvalidParameter, match="does not belong"):
        ipam.allocate("bridge", "b", IPv4Address("10.0.0.5"))


def test_a_new_ipam_on_the_same_file_keeps_every_address(tmp_path: Path) -> None:
    path = tmp_path / "network" / "ipam.json"
    ipam = Ipam(path)
    ipam.add_network("bridge", GATEWAY)
    ipam.allocate("bridge", "a")
    ipam.allocate("bridge", "b")
    ipam.release("bridge", "a")
    again = Ipam(path)
    again.add_network("bridge", GATEWAY)  # the daemon's restart: kept as it was
    assert again.owners("bridge") == {IPv4Address("172.17.0.3"): "b"}
    assert again.allocate("bridge", "c") == IPv4Interface("172.17.0.2/16")
    assert json.loads(path.read_text())["Networks"]["bridge"]["Gateway"] == "172.17.0.1/16"
    assert [p for p in os.listdir(path.parent) if p != "ipam.json"] == []  # no temp file left


def test_a_changed_bip_starts_the_network_afresh(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path / "ipam.json")
    ipam.add_network("bridge", GATEWAY)
    ipam.allocate("bridge", "a")
    ipam.add_network("bridge", IPv4Interface("10.5.0.1/24"))
    assert ipam.owners("bridge") == {}
    assert ipam.allocate("bridge", "a") == IPv4Interface("10.5.0.2/24")


def test_a_failed_write_gives_no_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ipam = Ipam(tmp_path / "ipam.json")
    ipam.add_network("bridge", GATEWAY)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("cove.runtime.network.ipam.atomic_write_json", full_disk)
    with pytest.raises(OSError):
        ipam.allocate("bridge", "a")
    assert ipam.owners("bridge") == {}


def test_an_unknown_network_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(errors.NotFound):
        Ipam(tmp_path / "ipam.json").allocate("nope", "a")
