"""The Dockerfile parser: text -> stages of instructions, with Docker's grammar and errors.

It follows buildkit's ``frontend/dockerfile/parser`` (lines, directives, continuations,
heredocs, JSON vs shell form) and ``instructions`` (per-instruction checks, flags,
stages), because users' Dockerfiles are written against Docker's behaviour, quirks
included. Variables are not expanded here: ``expand_instruction`` does that once the
builder knows the environment of the step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cove.runtime.build import shell_words
from cove.runtime.errors import InvalidParameter

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_LEADING_TABS = re.compile(r"(?m)^\t+")
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})

STRING, BOOL, STRINGS = "string", "bool", "strings"
_FLAGS: dict[str, dict[str, str]] = {
    "FROM": {"platform": STRING},
    "COPY": {"from": STRING, "chown": STRING, "chmod": STRING, "link": BOOL,
             "parents": BOOL, "exclude": STRINGS},
    "ADD": {"chown": STRING, "chmod": STRING, "link": BOOL, "checksum": STRING,
            "keep-git-dir": BOOL, "exclude": STRINGS, "unpack": BOOL},
    "RUN": {"mount": STRINGS, "network": STRING, "security": STRING},
    "HEALTHCHECK": {"interval": STRING, "timeout": STRING, "start-period": STRING,
                    "start-interval": STRING, "retries": STRING},
}
KEYWORDS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
    "WORKDIR"})
# The instructions whose words the builder expands (Docker's SupportsSingleWordExpansion).
EXPANDED = frozenset({"ADD", "ARG", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL",
                      "USER", "VOLUME", "WORKDIR"})


class DockerfileError(InvalidParameter):
    """A malformed Dockerfile; ``line`` is the 1-based line of the instruction (or None)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        full = f"dockerfile parse error on line {line}: {message}" if line else message
        super().__init__(full)
        self.reason = message
        self.line = line


@dataclass
class Heredoc:
    """A ``<<NAME`` body. ``content`` ends with a newline and, for ``<<-``, has its lines'
    leading tabs already removed; ``expand`` is False when the name was quoted."""

    name: str
    content: str
    expand: bool = True
    chomp: bool = False


@dataclass
class Instruction:
    """One instruction. ``args`` by keyword:

    RUN CMD ENTRYPOINT SHELL: list (exec/JSON form, ``json_form``) or str (shell form);
    COPY ADD VOLUME EXPOSE: list of words; ENV LABEL: [key, value, key, value, ...] with
    values as written (quotes kept until ``expand_instruction``); ARG: ["name" or
    "name=value", ...]; WORKDIR USER STOPSIGNAL MAINTAINER: str; ONBUILD: the trigger
    text (``onbuild`` holds it parsed); HEALTHCHECK: Docker's Test list (["NONE"],
    ["CMD", ...] or ["CMD-SHELL", "cmd"]) with ``healthcheck`` the whole config.
    """

    keyword: str
    args: list[str] | str
    json_form: bool = False
    flags: dict[str, str | list[str]] = field(default_factory=dict)
    heredocs: list[Heredoc] = field(default_factory=list)
    line: int = 0
    original: str = ""
    end_line: int = 0
    healthcheck: dict[str, object] | None = None
    onbuild: Instruction | None = None

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """ENV/LABEL arguments as (key, value) pairs; [] for other keywords."""
        if self.keyword not in ("ENV", "LABEL"):
            return []
        return env_pairs(self)


@dataclass
class Stage:
    base: str
    name: str | None
    platform: str | None
    instructions: list[Instruction]
    from_line: int
    original: str = ""


@dataclass
class Dockerfile:
    directives: dict[str, str]
    stages: list[Stage]
    global_args: list[Instruction]
    escape: str = "\\"


# ---------------------------------------------------------------- lines


@dataclass
class _Node:
    keyword: str  # as written
    rest: str
    flags: list[str]
    original: str
    line: int
    end_line: int = 0
    heredocs: list[Heredoc] = field(default_factory=list)


class _Directives:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.escape = "\\"
        self.done = False
        self._continuation = _continuation_regex("\\")

    def feed(self, line: str, number: int) -> None:
        if self.done:
            return
        if not line.startswith("#"):
            self.done = True
            return
        match = _DIRECTIVE.match(line[1:].lstrip())
        key = match.group(1).lower() if match else ""
        if key not in _KNOWN_DIRECTIVES:
            self.done = True
            return
        assert match is not None
        if key in self.values:
            raise DockerfileError(f"only one {key} parser directive can be used", number)
        value = match.group(2)
        if key == "escape":
            if value not in ("`", "\\"):
                raise DockerfileError(
                    f"invalid escape token '{value}' does not match ` or \\", number)
            self.escape = value
            self._continuation = _continuation_regex(value)
        self.values[key] = value

    def continues(self, line: str) -> tuple[str, bool]:
        """The line without its trailing escape, and whether the next line continues it."""
        stripped, count = self._continuation.subn(r"\1", line)
        return stripped, count > 0


def _continuation_regex(escape: str) -> re.Pattern[str]:
    """A trailing escape (and blanks) that is not itself escaped: ``a\\`` does not continue."""
    esc = re.escape(escape)
    return re.compile(f"(^|[^{esc}]){esc}[ \t]*$")


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _split_lines(text: str) -> list[str]:
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _nodes(text: str, directives: _Directives) -> list[_Node]:
    lines = _split_lines(text)
    nodes: list[_Node] = []
    i = 0
    while i < len(lines):
        raw = lines[i].lstrip()
        directives.feed(raw, i + 1)
        i += 1
        start = i
        if raw.startswith("#"):
            continue
        line, more = directives.continues(raw)
        if not more and line == "":
            continue
        while more and i < len(lines):
            raw = lines[i]
            directives.feed(raw, i + 1)
            i += 1
            if _is_comment(raw) or raw.strip() == "":
                continue
            piece, more = directives.continues(raw)
            line += piece
        node = _split_command(line, start, directives.escape)
        node.end_line = i
        if (node.keyword.upper() in _HEREDOC_KEYWORDS and "<<" in line
                and not _looks_json(node.rest)):
            for doc in _heredocs_in(line):
                i = _read_heredoc(doc, lines, i, node, start)
            if node.heredocs:
                node.original += "\n"
            node.end_line = i
        nodes.append(node)
    return nodes


def _looks_json(rest: str) -> bool:
    try:
        _parse_json(rest)
    except ValueError:
        return False
    except DockerfileError:
        return True
    return True


def _read_heredoc(doc: Heredoc, lines: list[str], i: int, node: _Node, start: int) -> int:
    body: list[str] = []
    while i < len(lines):
        raw = lines[i]
        i += 1
        candidate = raw.lstrip("\t") if doc.chomp else raw
        if candidate == doc.name:
            content = "".join(part + "\n" for part in body)
            node.original += "\n" + content + doc.name
            doc.content = _LEADING_TABS.sub("", content) if doc.chomp else content
            node.heredocs.append(doc)
            return i
        body.append(raw)
    raise DockerfileError("unterminated heredoc", start)


def _heredocs_in(line: str) -> list[Heredoc]:
    try:
        _, words = shell_words.expand_raw(line, {}, "\\", raw_quotes=True, raw_escapes=True)
    except shell_words.ShellWordError:
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
        _, plain = shell_words.expand_raw(rest, {}, "\\", skip_unset=True)
        _, quoted = shell_words.expand_raw(rest, {}, "\\", raw_quotes=True, skip_unset=True)
    except shell_words.ShellWordError:
        return None
    if len(plain) != 1 or len(quoted) != 1:
        return None

    def quotes(text: str) -> int:
        return text.count("'") + text.count('"')

    return Heredoc(name=plain[0], content="", expand=quotes(plain[0]) == quotes(quoted[0]),
                   chomp=match.group(2) == "-")


def _split_command(line: str, number: int, escape: str) -> _Node:
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    rest, flags = "", list[str]()
    if len(parts) == 2:
        rest, flags = _extract_flags(parts[1])
    return _Node(keyword=parts[0], rest=rest.strip(), flags=flags, original=line, line=number)


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


def _parse_json(rest: str) -> list[str]:
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
        if quote:
            if ch == quote:
                quote = ""
            elif ch == escape and quote != "'":
                if i + 1 == n:
                    i += 1
                    continue
                word += ch
                i += 1
                ch = rest[i]
            word += ch
            i += 1
            continue
        if ch.isspace():
            if blank_ok or word:
                words.append(word)
            word, in_word, blank_ok = "", False, False
            i += 1
            continue
        if ch in "'\"":
            quote, blank_ok = ch, True
        if ch == escape:
            if i + 1 == n:
                i += 1
                continue
            word += ch
            i += 1
            ch = rest[i]
        word += ch
        i += 1
    if in_word and (blank_ok or word):
        words.append(word)
    return words


# ---------------------------------------------------------------- the public entry


def parse(text: str, name: str = "Dockerfile") -> Dockerfile:
    """Parse a Dockerfile; raises DockerfileError with Docker's wording and the line."""
    if text == "":
        raise DockerfileError(f"the Dockerfile ({name}) cannot be empty")
    directives = _Directives()
    nodes = _nodes(text, directives)
    if not nodes:
        raise DockerfileError("file with no instructions")
    from cove.runtime.build import parser_instructions as build

    result = Dockerfile(directives=dict(directives.values), stages=[], global_args=[],
                        escape=directives.escape)
    for node in nodes:
        inst = build.instruction(node, directives.escape)
        if inst.keyword == "FROM":
            result.stages.append(build.stage(inst))
        elif not result.stages and inst.keyword == "ARG":
            result.global_args.append(inst)
        elif not result.stages:
            raise DockerfileError("no build stage in current context", inst.line)
        else:
            result.stages[-1].instructions.append(inst)
    return result


def parse_instruction(line: str, escape: str = "\\") -> Instruction:
    """One instruction's text (an ONBUILD trigger, say) parsed alone."""
    from cove.runtime.build import parser_instructions as build

    node = _split_command(line, 1, escape)
    node.end_line = 1
    return build.instruction(node, escape)


# ---------------------------------------------------------------- expansion


def expand_instruction(inst: Instruction, env: Mapping[str, str],
                       escape: str = "\\") -> Instruction:
    """See ``shell_words.expand_instruction`` (kept here for callers of the parser)."""
    return shell_words.expand_instruction(inst, env, escape)


def env_pairs(inst: Instruction) -> list[tuple[str, str]]:
    """ENV/LABEL (after ``expand_instruction``) as (key, value) pairs in order."""
    args = list(inst.args)
    return [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]


def arg_pairs(inst: Instruction) -> list[tuple[str, str | None]]:
    """ARG (after ``expand_instruction``) as (name, default or None) pairs."""
    pairs: list[tuple[str, str | None]] = []
    for item in inst.args:
        key, sep, value = item.partition("=")
        pairs.append((key, value if sep else None))
    return pairs
