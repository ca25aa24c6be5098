"""A parsed Dockerfile: stages of instructions, and the error that its parser raises.

The types every part of the parser and the builder share, so none of them has to import
the module that produces them. Docker's keyword tables live here too.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from cove.runtime.errors import InvalidParameter

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
        full = f"dockerfile parse error line {line}: {message}" if line else message  # dockerd 20.10's words
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

    def words(self) -> list[str]:
        """The arguments as words: a list as it is, shell-form text split as sh would."""
        if isinstance(self.args, str):
            return shlex.split(self.args) if self.args else []
        return list(self.args)

    def text(self) -> str:
        """The arguments as one line: shell-form text as it is, a list joined by spaces."""
        return self.args if isinstance(self.args, str) else " ".join(self.args)


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
