"""``port`` lists its lines in docker's natural order: digit runs by value."""

from __future__ import annotations

from functools import cmp_to_key

from cove.desktop.cli.container_port import natural_compare


def test_digit_runs_compare_as_numbers_and_the_rest_byte_by_byte() -> None:
    lines = ["8080/tcp -> 0.0.0.0:1", "80/tcp -> [::]:18999", "80/tcp -> [::1]:18998",
             "81/udp -> 0.0.0.0:9", "80/tcp -> 0.0.0.0:18999", "9/tcp -> 0.0.0.0:5"]
    assert sorted(lines, key=cmp_to_key(natural_compare)) == [
        "9/tcp -> 0.0.0.0:5", "80/tcp -> 0.0.0.0:18999", "80/tcp -> [::1]:18998",
        "80/tcp -> [::]:18999", "81/udp -> 0.0.0.0:9", "8080/tcp -> 0.0.0.0:1"]
    assert natural_compare("a01", "a1") == 1 and natural_compare("a", "a") == 0
