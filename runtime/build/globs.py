"""COPY and ADD source patterns as dockerd matches them: Go's ``filepath.Match`` on the
whole relative path, so ``*``, ``?`` and ``[...]`` never match a ``/`` and ``*.txt``
names only top-level files; a malformed pattern matches nothing, as dockerd ignores
Match's error. Matches come in ``filepath.Walk`` order (depth first, names sorted),
which decides which of two flattened files of the same name is copied last."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator


def has_wildcards(pattern: str) -> bool:
    """dockerd's ``containsWildcards``: an unescaped ``*``, ``?`` or ``[``."""
    escaped = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "*?[":
            return True
    return False


def source_pattern(source: str) -> str:
    """A COPY source as dockerd matches it: one leading ``/`` and then one ``./`` taken
    off, nothing else cleaned (``a/../*.txt`` or a trailing ``/`` match nothing)."""
    if source.startswith("/") and len(source) > 1:
        source = source[1:]
    return source.removeprefix("./")


def _class(pattern: str, start: int) -> tuple[str, int]:
    """The regex of the class opening at ``pattern[start]`` and the index after it."""
    i = start + 1
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        i += 1
    parts: list[str] = []
    while True:
        if i >= len(pattern):
            raise ValueError("unterminated class")
        if pattern[i] == "]" and parts:
            break
        lo, i = _class_char(pattern, i)
        if i < len(pattern) and pattern[i] == "-":
            hi, i = _class_char(pattern, i + 1)
            if hi < lo:
                raise ValueError("bad range")
            parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
        else:
            parts.append(re.escape(lo))
    body = "".join(parts)
    return (f"(?:(?!/)[^{body}])" if negated else f"(?:(?!/)[{body}])"), i + 1


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    """One character of a class (Go's ``getEsc``): an unescaped ``-`` or ``]`` is bad."""
    if i >= len(pattern) or pattern[i] in "-]":
        raise ValueError("bad class")
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise ValueError("bad escape")
    return pattern[i], i + 1


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str] | None:
    out: list[str] = []
    i = 0
    try:
        while i < len(pattern):
            ch = pattern[i]
            if ch == "*":
                out.append("[^/]*")
                i += 1
            elif ch == "?":
                out.append("[^/]")
                i += 1
            elif ch == "[":
                regex, i = _class(pattern, i)
                out.append(regex)
            elif ch == "\\":
                if i + 1 >= len(pattern):
                    return None
                out.append(re.escape(pattern[i + 1]))
                i += 2
            else:
                out.append(re.escape(ch))
                i += 1
    except ValueError:
        return None
    return re.compile("".join(out), re.DOTALL)


def match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match(pattern, name)`` on Linux (False for a malformed pattern)."""
    compiled = _compile(pattern)
    return compiled is not None and compiled.fullmatch(name) is not None


def walk_matches(root: str, pattern: str) -> Iterator[str]:
    """The paths under ``root`` (relative, without ``./``) that ``pattern`` matches."""
    depth = pattern.count("/")

    def visit(directory: str, rel_dir: str, level: int) -> Iterator[str]:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            full = os.path.join(directory, name)
            if level == depth:
                if match(pattern, rel):
                    yield rel
            elif os.path.isdir(full) and not os.path.islink(full):
                yield from visit(full, rel, level + 1)

    yield from visit(root, "", 0)
