"""COPY source globs as Go's filepath.Match, which dockerd's classic builder uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from cove.runtime.build.globs import has_wildcards, match, source_pattern, walk_matches


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("*.txt", "a.txt", True),
    ("*.txt", "sub/a.txt", False),
    ("sub/*.txt", "sub/a.txt", True),
    ("sub/*.txt", "sub/deeper/a.txt", False),
    ("*", "a/b", False),
    ("?.txt", "a.txt", True),
    ("a?b", "a/b", False),
    ("[a-c].txt", "b.txt", True),
    ("[^a-c].txt", "b.txt", False),
    ("[^a-c].txt", "d.txt", True),
    ("[!a]", "!", True),          # Go negates with ^ only
    ("a[/]b", "a/b", False),      # a class never matches the separator
    ("a\\*", "a*", True),
    ("a\\*", "ab", False),
    ("[", "[", False),            # malformed: matches nothing, as dockerd ignores the error
    ("[]a]", "a", False),
    ("[a-]", "a", False),
])
def test_match_is_go_filepath_match(pattern: str, name: str, expected: bool) -> None:
    assert match(pattern, name) is expected


def test_wildcards_escaped_with_a_backslash_do_not_count() -> None:
    assert has_wildcards("*.txt") and has_wildcards("a[bc]") and has_wildcards("a?")
    assert not has_wildcards("plain/name.txt") and not has_wildcards("a\\*b")


def test_walk_yields_matches_at_the_patterns_depth_in_walk_order(tmp_path: Path) -> None:
    for name in ("top.txt", "b.txt", "sub/s.txt", "sub/deeper/dd.txt", "sub2/t.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    assert list(walk_matches(str(tmp_path), "*.txt")) == ["b.txt", "top.txt"]
    assert list(walk_matches(str(tmp_path), "sub/*.txt")) == ["sub/s.txt"]
    assert list(walk_matches(str(tmp_path), "*/*.txt")) == ["sub/s.txt", "sub2/t.txt"]
    assert list(walk_matches(str(tmp_path), "su*")) == ["sub", "sub2"]


@pytest.mark.parametrize(("source", "pattern"), [
    ("/from/*.txt", "from/*.txt"), ("./sub/*.txt", "sub/*.txt"), ("sub/../*.txt", "sub/../*.txt"),
    ("/bin/*/", "bin/*/"), ("/", "/"),
])
def test_sources_lose_one_leading_slash_and_dot_slash_only(source: str, pattern: str) -> None:
    assert source_pattern(source) == pattern
