""".dockerignore rules as Docker's patternmatcher applies them (MatchesOrParentMatches)."""

from __future__ import annotations

import pytest

from cove.common.dockerignore import (
    DockerignoreError,
    is_excluded,
    parse_dockerignore,
)


@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    # plain names match the path or any parent directory
    ("node_modules", "node_modules", True),
    ("node_modules", "node_modules/pkg/index.js", True),
    ("node_modules", "src/node_modules", False),
    ("/secret", "secret/key", True),
    ("./build", "build/out.o", True),
    ("a/../b", "b/file", True),
    # * and ? stay within one path element
    ("*.md", "README.md", True),
    ("*.md", "docs/README.md", False),
    ("*/*.md", "docs/README.md", True),
    ("temp?", "temp1", True),
    ("temp?", "temp12", False),
    ("temp?", "temp/", False),
    ("[ab].txt", "a.txt", True),
    ("[ab].txt", "c.txt", False),
    ("[^ab].txt", "c.txt", True),
    # ** spans directories
    ("**/*.go", "main.go", True),
    ("**/*.go", "pkg/sub/x.go", True),
    ("**/foo", "foo", True),
    ("**/foo", "a/b/foo", True),
    ("**/foo", "a/barfoo", False),
    ("docs/**", "docs/a/b.md", True),
    ("docs/**", "docsx", False),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/x/y/c", False),
    ("**", "anything/at/all", True),
    # regex characters are literal
    ("file.(1)", "file.(1)", True),
    ("file.txt", "filextxt", False),
    ("a+b", "a+b", True),
    # escaping
    ("\\*star", "*star", True),
    ("\\*star", "xstar", False),
    # comments and blank lines
    ("# *.md\n\n", "README.md", False),
    (" # not a comment", "# not a comment", True),
    # ! exceptions: the last matching line wins
    ("*.md\n!README.md", "README.md", False),
    ("*.md\n!README.md", "CHANGES.md", True),
    ("*.md\n!README*.md\nREADME-secret.md", "README-secret.md", True),
    ("*.md\n!README*.md\nREADME-secret.md", "README-public.md", False),
    ("docs\n!docs/keep.md", "docs/keep.md", False),
    ("docs\n!docs/keep.md", "docs/other.md", True),
    ("!keep\n*", "keep", True),
    ("*\n!src\n", "src/main.py", False),
    ("*\n!src\n", "other", True),
    ("*\n!src\nsrc/*.log", "src/debug.log", True),
    ("/build/", "build/out", True),
    ("\ufeff*.md", "README.md", True),  # a BOM on the first line is not the pattern
    ("[^a-c].txt", "b.txt", False),  # Go's regexp negates with ^
    # the context root is never excluded
    ("*", ".", False),
])
def test_dockerignore_table(patterns: str, path: str, excluded: bool) -> None:
    assert is_excluded(path, parse_dockerignore(patterns)) is excluded


def test_patterns_are_cleaned_like_docker() -> None:
    patterns = parse_dockerignore("\ufeff/a//b/\n! ./c\n#x\n  d/ \n")
    assert [(p.text, p.exclusion) for p in patterns] == [("a/b", False), ("c", True),
                                                          ("d", False)]


def test_paths_are_cleaned_before_matching() -> None:
    patterns = parse_dockerignore("build")
    assert is_excluded("./build/x", patterns)
    assert is_excluded("/build", patterns)


@pytest.mark.parametrize(("text", "message"), [
    ("!", 'illegal exclusion pattern: "!"'),
    ("[abc", "syntax error in pattern"),
    ("trailing\\", "syntax error in pattern"),
])
def test_malformed_patterns_are_refused(text: str, message: str) -> None:
    with pytest.raises(DockerignoreError) as caught:
        parse_dockerignore(text)
    assert caught.value.message == message
