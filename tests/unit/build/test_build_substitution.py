"""Docker's build-time substitution (buildkit's shell.Lex) as a table of words."""

from __future__ import annotations

import pytest

from cove.runtime.build.substitution import ShellWordError, expand, split_words

ENV = {"A": "alpha", "EMPTY": "", "SP": "x y", "PATH_": "/usr/local/bin.tar.gz", "N1": "one"}


@pytest.mark.parametrize(("word", "expected"), [
    ("plain", "plain"),
    ("$A", "alpha"),
    ("${A}", "alpha"),
    ("pre-${A}-post", "pre-alpha-post"),
    ("$A$A", "alphaalpha"),
    ("$UNSET", ""),
    ("${UNSET}", ""),
    ("$", "$"),
    ("$ A", "$ A"),
    ("$1x", "x"),
    ("$N1", "one"),
    ("${UNSET:-def}", "def"),
    ("${EMPTY:-def}", "def"),
    ("${EMPTY-def}", ""),
    ("${UNSET-def}", "def"),
    ("${A:-def}", "alpha"),
    ("${A:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${A:?err}", "alpha"),
    ("${UNSET:-$A}", "alpha"),
    ("${UNSET:-\"a b\"}", "a b"),
    ("'$A'", "$A"),
    ('"$A"', "alpha"),
    ('"a \\"b\\" c"', 'a "b" c'),
    ('"keep \\n"', "keep \\n"),
    ("\\$A", "$A"),
    ("a\\ b", "a b"),
    ("'it''s'", "its"),
    ('"$SP"', "x y"),
    ("${PATH_%.gz}", "/usr/local/bin.tar"),
    ("${PATH_%%.*}", "/usr/local/bin"),
    ("${PATH_#*/}", "usr/local/bin.tar.gz"),
    ("${PATH_##*/}", "bin.tar.gz"),
    ("${A/l/L}", "aLpha"),
    ("${SP//[xy]/z}", "z z"),
    ("trailing\\", "trailing"),
])
def test_expand_table(word: str, expected: str) -> None:
    assert expand(word, ENV) == expected


def test_backtick_escape() -> None:
    assert expand("`$A", ENV, "`") == "$A"
    assert expand("c:\\dir", ENV, "`") == "c:\\dir"


@pytest.mark.parametrize(("word", "expected"), [
    ("a b  c", ["a", "b", "c"]),
    ("$SP", ["x", "y"]),
    ('"$SP"', ["x y"]),
    ("'a b' c", ["a b", "c"]),
    ("pre$SP", ["prex", "y"]),
    ("a\\ b", ["a b"]),
    ("$EMPTY", []),
])
def test_split_words_table(word: str, expected: list[str]) -> None:
    assert split_words(word, ENV) == expected


@pytest.mark.parametrize(("word", "message"), [
    ("${UNSET:?must be set}", "UNSET: must be set"),
    ("${UNSET?}", "UNSET: is not allowed to be unset"),
    ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
    ("'open", "unexpected end of statement while looking for matching single-quote"),
    ('"open', "unexpected end of statement while looking for matching double-quote"),
    ("${A", "syntax error: missing '}'"),
    ("${}", "syntax error: bad substitution"),
    ("${A:-x", "syntax error: missing '}'"),
    ("${A!x}", "unsupported modifier (!) in substitution"),
])
def test_expand_errors(word: str, message: str) -> None:
    with pytest.raises(ShellWordError) as caught:
        expand(word, ENV)
    assert caught.value.message == message
