"""Docker's build-time substitution applied to a parsed instruction.

Which words Docker expands depends on the keyword (and on a heredoc's quoting), so the
rule lives beside the parsed types rather than in the substitution lexer itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from cove.runtime.build.dockerfile import EXPANDED, DockerfileError, Instruction
from cove.runtime.build.substitution import ShellWordError, expand, expand_raw
from cove.runtime.build.words import parse_heredoc_word

_EXPANDED_FLAGS = ("from", "chown", "chmod", "platform", "checksum")


def expand_instruction(inst: Instruction, env: Mapping[str, str],
                       escape: str = "\\") -> Instruction:
    """A copy of ``inst`` with Docker's build-time substitution applied to the words
    Docker expands (quotes removed from them); RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK/
    ONBUILD/MAINTAINER come back unchanged (their shell does the expansion). Heredoc
    bodies of COPY/ADD are expanded unless their name was quoted."""
    if inst.keyword not in EXPANDED:
        return inst

    def word(text: str) -> str:
        try:
            return expand(text, env, escape)
        except ShellWordError as exc:
            raise DockerfileError(exc.message, inst.line) from exc

    flags: dict[str, str | list[str]] = dict(inst.flags)
    for key in _EXPANDED_FLAGS:
        value = flags.get(key)
        if isinstance(value, str):
            flags[key] = word(value)
    args: list[str] | str
    heredocs = inst.heredocs
    if isinstance(inst.args, str):
        args = word(inst.args)
    elif inst.keyword == "ARG":
        args = []
        for item in inst.args:
            key, sep, value = item.partition("=")
            args.append(word(key) + (sep + word(value) if sep else ""))
    elif inst.keyword in ("COPY", "ADD"):
        args = [item if parse_heredoc_word(item) else word(item) for item in inst.args]
        try:
            heredocs = [dataclasses.replace(doc, content=expand_raw(
                doc.content, env, escape, raw_quotes=True, raw_escapes=True)[0])
                if doc.expand else doc for doc in inst.heredocs]
        except ShellWordError as exc:
            raise DockerfileError(exc.message, inst.line) from exc
    else:
        args = [word(item) for item in inst.args]
    return dataclasses.replace(inst, args=args, flags=flags, heredocs=heredocs)
