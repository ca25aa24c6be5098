"""Cove's nftables table on a real kernel, inside the lab's host namespace: it is
replaced whole and atomically, and another owner's table is never touched."""

from __future__ import annotations

import pytest

from cove.runtime.linux.nftables import (
    Chain,
    Hook,
    NftError,
    Rule,
    Table,
    apply_table,
    delete_table,
    list_table,
)
from tests.support.netlab import NetLab

FOREIGN = """table ip nat {
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.99.0.0/16 oifname != "docker9" counter masquerade
	}
}
"""


def _table(*rules: Rule) -> Table:
    return Table("cove", chains=(Chain("postrouting", rules, Hook("nat", "postrouting", 100)),))


def _foreign(netlab: NetLab) -> str:
    return netlab.run(netlab.host, ["nft", "list", "table", "ip", "nat"]).stdout


def test_cove_replaces_its_table_and_leaves_a_foreign_one_alone(netlab: NetLab) -> None:
    assert netlab.run(netlab.host, ["nft", "-f", "-"], input=FOREIGN).returncode == 0
    before = _foreign(netlab)
    apply_table(
        _table(Rule('ip saddr 172.17.0.0/16 oifname != "cove0" masquerade', "cove0 out")),
        netlab.host_path,
    )
    apply_table(
        _table(Rule('ip saddr 172.18.0.0/16 oifname != "cove1" masquerade')), netlab.host_path
    )
    shown = list_table("cove", netns=netlab.host_path)
    assert shown is not None
    assert "172.18.0.0/16" in shown and "172.17.0.0/16" not in shown  # replaced, not added
    assert _foreign(netlab) == before
    delete_table("cove", netns=netlab.host_path)
    delete_table("cove", netns=netlab.host_path)  # a missing table is not an error
    assert list_table("cove", netns=netlab.host_path) is None
    assert _foreign(netlab) == before


def test_a_bad_ruleset_changes_nothing(netlab: NetLab) -> None:
    good = _table(Rule('ip saddr 172.17.0.0/16 oifname != "cove0" masquerade'))
    apply_table(good, netlab.host_path)
    before = list_table("cove", netns=netlab.host_path)
    with pytest.raises(NftError) as refused:
        apply_table(
            _table(Rule("ip saddr 172.17.0.0/16 masquerade"), Rule("ip frobnicate 1 accept")),
            netlab.host_path,
        )
    assert "frobnicate" in str(refused.value)
    assert list_table("cove", netns=netlab.host_path) == before


def test_the_table_lives_in_the_lab_not_on_the_machine(netlab: NetLab) -> None:
    apply_table(Table("cove_lab_only"), netlab.host_path)
    assert list_table("cove_lab_only", netns=netlab.host_path) is not None
    assert list_table("cove_lab_only") is None
