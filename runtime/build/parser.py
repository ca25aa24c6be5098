"""The Dockerfile parser: text -> stages of instructions, with Docker's grammar and errors.

It follows buildkit's ``frontend/dockerfile/parser``: parser directives, line
continuations, comments, heredoc bodies, and the split into stages. Each line is cut
into words by ``words`` and made an Instruction by ``instruction_parsers``, because
users' Dockerfiles are written against Docker's behaviour, quirks included. Variables
are not expanded here: ``expansion.expand_instruction`` does that once the builder
knows the environment of the step.
"""

from __future__ import annotations

import re

from cove.runtime.build import instruction_parsers
from cove.runtime.build.dockerfile import Dockerfile, DockerfileError, Heredoc, Instruction
from cove.runtime.build.words import Node, heredocs_in, looks_json, split_command

_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_LEADING_TABS = re.compile(r"(?m)^\t+")
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})


def parse(text: str, name: str = "Dockerfile") -> Dockerfile:
    """Parse a Dockerfile; raises DockerfileError with Docker's wording and the line."""
    if text == "":
        raise DockerfileError(f"the Dockerfile ({name}) cannot be empty")
    directives = _Directives()
    nodes = _nodes(text, directives)
    if not nodes:
        raise DockerfileError("file with no instructions")
    result = Dockerfile(directives=dict(directives.values), stages=[], global_args=[],
                        escape=directives.escape)
    for node in nodes:
        inst = instruction_parsers.instruction(node, directives.escape)
        if inst.keyword == "FROM":
            result.stages.append(instruction_parsers.stage(inst))
        elif not result.stages and inst.keyword == "ARG":
            result.global_args.append(inst)
        elif not result.stages:
            # dockerd 20.10 says this one without the line
            raise DockerfileError("no build stage in current context")
        else:
            result.stages[-1].instructions.append(inst)
    return result


def parse_instruction(line: str, escape: str = "\\") -> Instruction:
    """One instruction's text (an ONBUILD trigger, say) parsed alone."""
    node = split_command(line, 1, escape)
    node.end_line = 1
    return instruction_parsers.instruction(node, escape)


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


def _nodes(text: str, directives: _Directives) -> list[Node]:
    lines = _split_lines(text)
    nodes: list[Node] = []
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
        node = split_command(line, start, directives.escape)
        node.end_line = i
        if (node.keyword.upper() in _HEREDOC_KEYWORDS and "<<" in line
                and not looks_json(node.rest)):
            for doc in heredocs_in(line):
                i = _read_heredoc(doc, lines, i, node, start)
            if node.heredocs:
                node.original += "\n"
            node.end_line = i
        nodes.append(node)
    return nodes


def _read_heredoc(doc: Heredoc, lines: list[str], i: int, node: Node, start: int) -> int:
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
