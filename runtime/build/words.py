"""The Dockerfile's lexical layer: how one instruction's text splits into words.

A line's keyword, its leading ``--flags`` and the rest; the JSON (exec) form; the
quoted words of ENV, LABEL and ARG; and ``<<NAME`` heredoc markers. Each follows
buildkit's ``frontend/dockerfile/parser`` so quoting behaves as users know from Docker.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from cove.runtime.build import substitution
from cove.runtime.build.dockerfile import DockerfileError, Heredoc

WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$")


@dataclass
class Node:
    """One instruction's text split up: the keyword as written, its flag words, the rest."""

    keyword: str
    rest: str
    flags: list[str]
    original: str
    line: int
    end_line: int = 0
    heredocs: list[Heredoc] = field(default_factory=list)


def split_command(line: str, number: int, escape: str) -> Node:
    """The Node of one logical line (continuations already joined) at line ``number``."""
    parts = WHITESPACE.split(line.strip(), maxsplit=1)
    rest, flags = "", list[str]()
    if len(parts) == 2:
        rest, flags = _extract_flags(parts[1])
    return Node(keyword=parts[0], rest=rest.strip(), flags=flags, original=line, line=number)


def _extract_flags(text: str) -> tuple[str, list[str]]:
    """Leading ``--name=value`` words (quotes and ``\\`` honoured), and what follows them."""
    words: list[str] = []
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            return "", words
        if not text.startswith("--", pos):
            return text[pos:], words
        word, blank_ok, quote = "", False, ""
        while pos < n:
            ch = text[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\":
                    if pos + 1 == n:
                        quote = ""
                    else:
                        pos += 1
                        word += text[pos]
                else:
                    word += ch
                pos += 1
                continue
            if ch.isspace():
                break
            if ch in "'\"":
                quote, blank_ok = ch, True
            elif ch == "\\":
                if pos + 1 < n:
                    pos += 1
                    word += text[pos]
            else:
                word += ch
            pos += 1
        if word == "--":
            return text[pos:], words
        if blank_ok or word:
            words.append(word)


def parse_json(rest: str) -> list[str]:
    """The exec form; ValueError when ``rest`` is not a JSON array (Docker then takes the
    shell form), DockerfileError when it is one of non-strings."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        raise ValueError("not a JSON array")

    def refuse(name: str) -> object:
        raise ValueError(name)

    value = json.loads(rest, parse_constant=refuse)
    if not isinstance(value, list):
        raise ValueError("not a JSON array")
    if not all(isinstance(item, str) for item in value):
        raise DockerfileError(
            "when using JSON array syntax, arrays must be comprised of strings only")
    return value


def looks_json(rest: str) -> bool:
    """Whether ``rest`` is written in the exec form (even one Docker then refuses)."""
    try:
        parse_json(rest)
    except ValueError:
        return False
    except DockerfileError:
        return True
    return True


def split_words(rest: str, escape: str = "\\") -> list[str]:
    """ENV/LABEL/ARG words: whitespace-separated, quotes and escapes kept (parseWords)."""
    words: list[str] = []
    word, quote, in_word, blank_ok = "", "", False, False
    i, n = 0, len(rest)
    while i < n:
        ch = rest[i]
        if not in_word:
            if ch.isspace():
                i += 1
                continue
            in_word = True
        if not quote and ch.isspace():
            if blank_ok or word:
                words.append(word)
            word, in_word, blank_ok = "", False, False
            i += 1
            continue
        if ch == escape and quote != "'":  # kept with the character it quotes
            word += rest[i:i + 2] if i + 1 < n else ""  # a trailing escape is dropped
            i += 2
            continue
        if ch == quote:
            quote = ""
        elif not quote and ch in "'\"":
            quote, blank_ok = ch, True
        word += ch
        i += 1
    if in_word and (blank_ok or word):
        words.append(word)
    return words


def heredocs_in(line: str) -> list[Heredoc]:
    """The heredoc markers among a line's words, without their content, in order."""
    try:
        _, words = substitution.expand_raw(line, {}, "\\", raw_quotes=True, raw_escapes=True)
    except substitution.ShellWordError:
        return []
    docs = []
    for word in words:
        doc = parse_heredoc_word(word)
        if doc is not None:
            docs.append(doc)
    return docs


def parse_heredoc_word(word: str) -> Heredoc | None:
    """``<<EOF``, ``<<-EOF``, ``<<"EOF"`` -> a Heredoc without content; else None."""
    match = _HEREDOC.match(word)
    if not match or not match.group(3):
        return None
    rest = match.group(3)
    try:
        _, plain = substitution.expand_raw(rest, {}, "\\", skip_unset=True)
        _, quoted = substitution.expand_raw(rest, {}, "\\", raw_quotes=True, skip_unset=True)
    except substitution.ShellWordError:
        return None
    if len(plain) != 1 or len(quoted) != 1:
        return None

    def quotes(text: str) -> int:
        return text.count("'") + text.count('"')

    return Heredoc(name=plain[0], content="", expand=quotes(plain[0]) == quotes(quoted[0]),
                   chomp=match.group(2) == "-")
