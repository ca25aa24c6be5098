""".dockerignore: which context paths the build never sees, by Docker's rules.

Follows moby's ``dockerignore.ReadAll`` and ``patternmatcher`` (``MatchesOrParentMatches``):
``#`` comments, ``!`` exceptions where the last matching pattern wins, ``*``/``?``/``[..]``
within one path element, ``**`` across elements, patterns cleaned like Go's
``filepath.Clean`` with a leading ``/`` dropped, and a path excluded when it or any of
its parent directories matches. Callers keep the Dockerfile and ``.dockerignore``
readable even when excluded: the builder needs them (Docker does the same).

Both sides use it: ``cove build`` leaves excluded files out of the context it sends (so
secrets and ``node_modules`` never cross the socket), and the daemon applies the file
again to the context it receives (a client such as docker-py may not have).
"""

from __future__ import annotations

import posixpath
import re
import warnings
from dataclasses import dataclass, field

_REGEX_SPECIAL = frozenset(".+()|{}$")
EXACT, PREFIX, SUFFIX, REGEX = "exact", "prefix", "suffix", "regex"


class DockerignoreError(ValueError):
    """A pattern Docker refuses (``!`` alone, a malformed ``[`` class); ``str()`` is the text."""

    @property
    def message(self) -> str:
        return str(self)


@dataclass
class Pattern:
    """One cleaned pattern; ``exclusion`` is True for ``!`` (re-include) lines."""

    text: str
    exclusion: bool = False
    kind: str = EXACT
    regex: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, path: str) -> bool:
        if self.kind == EXACT:
            return path == self.text
        if self.kind == PREFIX:
            return path.startswith(self.text[:-2])
        if self.kind == SUFFIX:
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix[:1] == "/" and path == suffix[1:])
        assert self.regex is not None
        return self.regex.match(path) is not None


def go_clean(path: str) -> str:
    """Go's path.Clean (posixpath.normpath keeps a leading ``//``; Go does not)."""
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def parse_dockerignore(text: str) -> list[Pattern]:
    """The patterns of a .dockerignore file, in order; DockerignoreError when malformed."""
    patterns: list[Pattern] = []
    for number, raw in enumerate(text.splitlines()):
        if number == 0:
            raw = raw.removeprefix("\ufeff")
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if line:
            line = go_clean(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        patterns.append(compile_pattern(("!" if exclusion else "") + line))
    return patterns


def compile_pattern(spec: str) -> Pattern:
    """One pattern as patternmatcher.New takes it (``!`` prefix for an exception)."""
    spec = go_clean(spec.strip())
    exclusion = spec.startswith("!")
    if exclusion:
        if len(spec) == 1:
            raise DockerignoreError('illegal exclusion pattern: "!"')
        spec = spec[1:]
    _check_syntax(spec)
    pattern = Pattern(text=spec, exclusion=exclusion)
    _compile(pattern)
    return pattern


def _check_syntax(spec: str) -> None:
    """What Go's filepath.Match rejects: an unclosed ``[`` class or a trailing ``\\``."""
    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch == "\\":
            if i + 1 == len(spec):
                raise DockerignoreError("syntax error in pattern")
            i += 2
            continue
        if ch == "[":
            end = i + 1
            if end < len(spec) and spec[end] == "^":
                end += 1
            start = end
            while end < len(spec) and (spec[end] != "]" or end == start):
                end += 2 if spec[end] == "\\" else 1
            if end >= len(spec):
                raise DockerignoreError("syntax error in pattern")
            i = end
        i += 1


def _compile(pattern: Pattern) -> None:
    regex = "^"
    kind = EXACT
    text = pattern.text
    i = 0
    position = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if ch == "*":
            if i < len(text) and text[i] == "*":
                i += 1
                if i < len(text) and text[i] == "/":
                    i += 1
                if i >= len(text):
                    if kind == EXACT:
                        kind = PREFIX
                    else:
                        regex += ".*"
                        kind = REGEX
                else:
                    regex += "(.*/)?"
                    kind = REGEX
                if position == 0:
                    kind = SUFFIX
            else:
                regex += "[^/]*"
                kind = REGEX
        elif ch == "?":
            regex += "[^/]"
            kind = REGEX
        elif ch in _REGEX_SPECIAL:
            regex += "\\" + ch
        elif ch == "\\":
            if i < len(text):
                regex += "\\" + text[i]
                i += 1
                kind = REGEX
            else:
                regex += "\\\\"
        elif ch in "[]":
            regex += ch
            kind = REGEX
        else:
            regex += ch
        position += 1
    pattern.kind = kind
    if kind == REGEX:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pattern.regex = re.compile(regex + "$", re.DOTALL)
        except re.error as exc:
            raise DockerignoreError("syntax error in pattern") from exc


def is_excluded(path: str, patterns: list[Pattern]) -> bool:
    """Whether ``path`` (relative to the context, ``/``-separated) is left out of the build.

    The context root itself is never excluded.
    """
    path = go_clean(path.lstrip("/")) if path.lstrip("/") else "."
    if path == ".":
        return False
    parent = posixpath.dirname(path) or "."
    parents = parent.split("/") if parent != "." else []
    matched = False
    for pattern in patterns:
        if pattern.exclusion != matched:
            continue
        match = pattern.matches(path)
        if not match:
            for depth in range(1, len(parents) + 1):
                if pattern.matches("/".join(parents[:depth])):
                    match = True
                    break
        if match:
            matched = not pattern.exclusion
    return matched
