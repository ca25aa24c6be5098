"""Cove's nftables table as data, rendered to the script ``nft -f -`` reads (no kernel)."""

from __future__ import annotations

import pytest

from cove.runtime.linux.nftables import Chain, Hook, Rule, Table, quoted


def test_a_table_renders_its_base_chains_and_rules_in_order() -> None:
    table = Table(
        "cove",
        chains=(
            Chain(
                "prerouting",
                (Rule("fib daddr type local jump published"),),
                Hook("nat", "prerouting", -100),
            ),
            Chain("published", (Rule("tcp dport 8080 dnat to 172.17.0.2:80", "web"),)),
        ),
    )
    assert table.render() == (
        "table ip cove {\n"
        "\tchain prerouting {\n"
        "\t\ttype nat hook prerouting priority -100; policy accept;\n"
        "\t\tfib daddr type local jump published\n"
        "\t}\n"
        "\tchain published {\n"
        '\t\ttcp dport 8080 dnat to 172.17.0.2:80 comment "web"\n'
        "\t}\n"
        "}\n"
    )


def test_the_replacement_is_one_script_that_names_only_covestable() -> None:
    script = Table("cove").replacement_script()
    assert script == "table ip cove {}\ndelete table ip cove\ntable ip cove {\n}\n"
    assert "flush ruleset" not in script


@pytest.mark.parametrize(
    "bad",
    [
        Table("cove; flush ruleset"),
        Table("cove", family="ipx"),
        Table("cove", chains=(Chain("a b"),)),
        Table("cove", chains=(Chain("c", (Rule("accept\nflush ruleset"),)),)),
        Table("cove", chains=(Chain("c", (Rule("accept; flush ruleset"),)),)),
    ],
)
def test_names_and_rules_that_could_reach_beyond_the_table_are_refused(bad: Table) -> None:
    with pytest.raises(ValueError):
        bad.replacement_script()


def test_a_quoted_string_cannot_break_out_of_its_quotes() -> None:
    assert quoted("cove0") == '"cove0"'
    with pytest.raises(ValueError):
        quoted('x" accept')
