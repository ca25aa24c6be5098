"""Go's fmt spellings that dockerd's classic builder writes into image history."""

from __future__ import annotations

import pytest

from cove.runtime.build.history_text import (
    go_duration,
    go_list,
    go_quote,
    go_quote_rune,
    healthcheck_text,
    nop_command,
)


@pytest.mark.parametrize(("nanoseconds", "text"), [
    (0, "0s"), (1, "1ns"), (1_500, "1.5µs"), (500_000_000, "500ms"), (1_500_000_000, "1.5s"),
    (30_000_000_000, "30s"), (60_000_000_000, "1m0s"), (90_000_000_000, "1m30s"),
    (3_600_000_000_000, "1h0m0s"), (3_661_500_000_000, "1h1m1.5s"), (-2_000_000_000, "-2s"),
])
def test_durations_read_as_gos_duration_string(nanoseconds: int, text: str) -> None:
    assert go_duration(nanoseconds) == text


@pytest.mark.parametrize(("value", "text"), [
    (0, "'\\x00'"), (2, "'\\x02'"), (7, "'\\a'"), (9, "'\\t'"), (10, "'\\n'"), (13, "'\\r'"),
    (39, "'\\''"), (65, "'A'"), (92, "'\\\\'"), (127, "'\\x7f'"), (233, "'é'"),
    (0x85, "'\\u0085'"),
])
def test_an_integer_quoted_with_q_is_its_character(value: int, text: str) -> None:
    assert go_quote_rune(value) == text


def test_strings_and_lists_as_go_quotes_them() -> None:
    assert go_quote('say "hi"\n\t\x01') == '"say \\"hi\\"\\n\\t\\x01"'
    assert go_quote("it's") == '"it\'s"'
    assert go_list(["CMD-SHELL", "echo hi"], quoted=True) == '["CMD-SHELL" "echo hi"]'
    assert go_list(["/bin/sh", "-c"], quoted=False) == "[/bin/sh -c]"


def test_healthcheck_text_is_the_q_of_the_struct() -> None:
    check = {"Test": ["CMD-SHELL", "echo hi"], "Interval": 5_000_000_000,
             "Timeout": 3_000_000_000, "Retries": 2}
    assert healthcheck_text(check) == (
        """HEALTHCHECK &{["CMD-SHELL" "echo hi"] "5s" "3s" "0s" '\\x02'}""")
    assert healthcheck_text({"Test": ["NONE"]}) == (
        """HEALTHCHECK &{["NONE"] "0s" "0s" "0s" '\\x00'}""")


def test_nop_commands_start_with_the_stages_shell() -> None:
    assert nop_command({}, "ENV A=1") == ["/bin/sh", "-c", "#(nop) ", "ENV A=1"]
    assert nop_command({"Shell": ["/bin/ash", "-xc"]}, "WORKDIR /w", one_word=True) == [
        "/bin/ash", "-xc", "#(nop) WORKDIR /w"]
