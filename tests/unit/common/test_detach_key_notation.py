"""Detach keys in docker's notation, and finding them in input read in any chunking."""

from __future__ import annotations

import pytest

from cove.common.detach_keys import DEFAULT_DETACH_KEYS, EscapeScanner, parse_detach_keys


def test_keys_parse_as_docker_reads_them() -> None:
    assert parse_detach_keys(DEFAULT_DETACH_KEYS) == b"\x10\x11"
    assert parse_detach_keys("ctrl-a,x") == b"\x01x"
    assert parse_detach_keys("Ctrl-@,ctrl-[,ctrl-_") == b"\x00\x1b\x1f"


@pytest.mark.parametrize("keys", ["ctrl-zz", "bad,keys", "", "ctrl-1", "a,,b"])
def test_unknown_keys_are_refused_in_dockers_words(keys: str) -> None:
    with pytest.raises(ValueError, match="^Unknown character: '"):
        parse_detach_keys(keys)


def test_the_sequence_is_found_across_reads() -> None:
    scanner = EscapeScanner(b"\x10\x11")
    assert scanner.feed(b"ls\x10") == (b"ls", False)
    assert scanner.feed(b"\x11") == (b"", True)


def test_a_partial_sequence_is_passed_on_once_the_next_key_differs() -> None:
    scanner = EscapeScanner(b"\x10\x11")
    assert scanner.feed(b"\x10") == (b"", False)
    assert scanner.feed(b"a") == (b"\x10a", False)
    assert scanner.feed(b"b\x10") == (b"b", False)
    assert scanner.flush() == b"\x10"


def test_bytes_before_the_sequence_in_the_same_read_go_through() -> None:
    assert EscapeScanner(b"xy").feed(b"abcxyz") == (b"abc", True)
