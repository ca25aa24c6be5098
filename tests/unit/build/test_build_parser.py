"""The Dockerfile parser against a corpus, Docker's own parser (the PyPI ``dockerfile``
package wraps buildkit's Go parser) and Docker's error messages."""

from __future__ import annotations

import pytest

from cove.runtime.api.status import http_status
from cove.runtime.build import parser
from cove.runtime.build.dockerfile import (
    Dockerfile,
    DockerfileError,
    Heredoc,
    Instruction,
    arg_pairs,
)
from cove.runtime.build.expansion import expand_instruction
from cove.runtime.build.instruction_parsers import parse_duration
from cove.runtime.build.parser import parse
from cove.runtime.errors import InvalidParameter

CORPUS = {
    "redis": """\
FROM busybox
RUN echo redis > /redis
CMD ["redis-server"]
""",
    "directives_and_comments": """\
# syntax=docker/dockerfile:1
# check=skip=all
# a comment after the directives

FROM busybox AS base
# comment between instructions
  # indented comment
run echo lower-case keyword
""",
    "continuations": """\
FROM busybox
RUN echo one \\
    two \\
# a comment inside the continuation
    three \\

    four
ENV A=1 \\
    B=2
""",
    "escape_backtick": """\
# escape=`
FROM busybox
RUN echo c:\\windows `
    next
COPY a `
     b /dst/
""",
    "json_and_shell": """\
FROM busybox
CMD ["sh", "-c", "echo hi"]
ENTRYPOINT ["/bin/echo"]
CMD echo [not json
RUN ["echo", "a b"]
RUN [ "spaced" ,  "json" ]
SHELL ["/bin/sh", "-c"]
VOLUME ["/data", "/logs"]
VOLUME /a /b
""",
    "flags": """\
FROM --platform=linux/amd64 busybox AS build
COPY --from=build --chown=1:2 --chmod=644 a b /dst/
ADD --link --chown=root src /dst
RUN --mount=type=cache,target=/root/.cache --mount=type=tmpfs,target=/t echo hi
COPY ["a b", "/d e/"]
""",
    "env_label_arg": """\
ARG VERSION=1.0
ARG BASE
FROM busybox:${VERSION}
ENV A=1 B="two words" C='single $x'
ENV LEGACY some value with spaces
LABEL org.example="x y" other=z
ARG USER=app OTHER
EXPOSE 80 443/udp
WORKDIR /app
USER app:app
STOPSIGNAL SIGTERM
MAINTAINER someone <a@b.c>
""",
    "healthcheck_onbuild": """\
FROM busybox
HEALTHCHECK --interval=5s --timeout=3s --start-period=1m --retries=3 CMD wget -q localhost
HEALTHCHECK CMD ["true"]
HEALTHCHECK NONE
ONBUILD RUN echo triggered
ONBUILD COPY . /app
""",
    "heredocs": """\
FROM busybox
RUN <<EOF
echo hello
echo $HOME
EOF
RUN <<-"EOT" sh
\techo tabs stripped
\tEOT
RUN cat <<A <<B > /out
a line
A
b line
B
COPY <<EOF /etc/conf
key=value
EOF
RUN echo no heredoc here
""",
    "escaped_escape": """\
FROM busybox
RUN echo a\\\\
RUN echo \\
    b
""",
    "multi_stage": """\
ARG IMG=busybox
FROM ${IMG} AS builder
RUN echo build > /artifact
FROM busybox
COPY --from=builder /artifact /artifact
""",
}


def _instructions(df: Dockerfile) -> list[Instruction]:
    stage_insts: list[Instruction] = list(df.global_args)
    for stage in df.stages:
        stage_insts.append(parser.parse_instruction(stage.original))
        stage_insts[-1].line = stage.from_line
        stage_insts.extend(stage.instructions)
    return stage_insts


def _oracle_value(inst: Instruction) -> tuple[str, ...]:
    if inst.keyword == "HEALTHCHECK":
        test = list(inst.args)
        if test[0] == "CMD-SHELL":
            return ("CMD", test[1])
        return tuple(test)
    if isinstance(inst.args, str):
        return (inst.args,)
    return tuple(inst.args)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_parse_matches_dockers_own_parser(name: str) -> None:
    dockerfile = pytest.importorskip("dockerfile")
    text = CORPUS[name]
    ours = parse(text)
    theirs = dockerfile.parse_string(text)
    mine = sorted(_instructions(ours), key=lambda i: i.line)
    assert len(mine) == len(theirs)
    for inst, cmd in zip(mine, theirs, strict=True):
        assert inst.keyword == cmd.cmd.upper()
        assert inst.line == cmd.start_line, inst
        if inst.keyword == "ONBUILD":
            assert inst.onbuild is not None
            assert inst.onbuild.keyword == cmd.sub_cmd.upper()
            assert _oracle_value(inst.onbuild) == cmd.value
            continue
        assert inst.original.strip() == cmd.original.strip()
        if inst.keyword != "FROM":
            assert inst.end_line == cmd.end_line
        assert inst.json_form == cmd.json
        assert _oracle_value(inst) == cmd.value
        assert sorted(inst.flags) == sorted({f[2:].split("=")[0] for f in cmd.flags})
        docs = [(d.name, d.content) for d in inst.heredocs]
        expected = [(d.name, d.content) for d in cmd.heredocs]
        for i, doc in enumerate(inst.heredocs):
            if doc.chomp:
                expected[i] = (expected[i][0], "".join(
                    line.lstrip("\t") for line in expected[i][1].splitlines(True)))
        assert docs == expected


def test_redis_shape_gives_one_stage_with_exec_form_cmd() -> None:
    df = parse(CORPUS["redis"])
    assert df.global_args == [] and len(df.stages) == 1
    stage = df.stages[0]
    assert (stage.base, stage.name, stage.from_line) == ("busybox", None, 1)
    run, cmd = stage.instructions
    assert (run.keyword, run.args, run.json_form, run.line) == (
        "RUN", "echo redis > /redis", False, 2)
    assert (cmd.keyword, cmd.args, cmd.json_form, cmd.original) == (
        "CMD", ["redis-server"], True, 'CMD ["redis-server"]')


def test_directives_are_read_only_at_the_top() -> None:
    df = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\n# escape=\\\n")
    assert df.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert df.escape == "`"
    late = parse("FROM busybox\n# escape=`\nRUN a \\\n  b\n")
    assert late.directives == {} and late.stages[0].instructions[0].args == "a   b"


def test_continuation_skips_comments_and_blank_lines_and_keeps_indentation() -> None:
    inst = parse(CORPUS["continuations"]).stages[0].instructions[0]
    assert inst.args == "echo one     two     three     four"
    assert (inst.line, inst.end_line) == (2, 7)


def test_backtick_escape_continues_lines_and_leaves_backslashes() -> None:
    run, copy = parse(CORPUS["escape_backtick"]).stages[0].instructions
    assert run.args == "echo c:\\windows     next"
    assert copy.args == ["a", "b", "/dst/"]


def test_malformed_json_falls_back_to_shell_form() -> None:
    insts = parse(CORPUS["json_and_shell"]).stages[0].instructions
    assert [(i.keyword, i.json_form) for i in insts] == [
        ("CMD", True), ("ENTRYPOINT", True), ("CMD", False), ("RUN", True), ("RUN", True),
        ("SHELL", True), ("VOLUME", True), ("VOLUME", False)]
    assert insts[2].args == "echo [not json"
    assert insts[4].args == ["spaced", "json"]
    assert insts[7].args == ["/a", "/b"]


def test_flags_are_parsed_by_kind() -> None:
    df = parse(CORPUS["flags"])
    stage = df.stages[0]
    assert (stage.platform, stage.name) == ("linux/amd64", "build")
    copy, add, run, copy_json = stage.instructions
    assert copy.flags == {"from": "build", "chown": "1:2", "chmod": "644"}
    assert copy.args == ["a", "b", "/dst/"]
    assert add.flags == {"link": "true", "chown": "root"}
    assert run.flags == {"mount": ["type=cache,target=/root/.cache", "type=tmpfs,target=/t"]}
    assert run.args == "echo hi"
    assert copy_json.args == ["a b", "/d e/"] and copy_json.json_form


def test_env_label_arg_keep_quotes_until_expansion() -> None:
    df = parse(CORPUS["env_label_arg"])
    assert [a.args for a in df.global_args] == [["VERSION=1.0"], ["BASE"]]
    assert df.stages[0].base == "busybox:${VERSION}"
    env, legacy, label, arg = df.stages[0].instructions[:4]
    assert env.args == ["A", "1", "B", '"two words"', "C", "'single $x'"]
    assert legacy.args == ["LEGACY", "some value with spaces"]
    assert label.pairs == [("org.example", '"x y"'), ("other", "z")]
    assert arg_pairs(arg) == [("USER", "app"), ("OTHER", None)]
    expanded = expand_instruction(env, {"x": "unused"})
    assert expanded.pairs == [("A", "1"), ("B", "two words"), ("C", "single $x")]
    assert env.args[3] == '"two words"'  # the parsed instruction is not modified


def test_healthcheck_builds_dockers_config() -> None:
    full, exec_form, none = parse(CORPUS["healthcheck_onbuild"]).stages[0].instructions[:3]
    assert full.healthcheck == {
        "Test": ["CMD-SHELL", "wget -q localhost"], "Interval": 5_000_000_000,
        "Timeout": 3_000_000_000, "StartPeriod": 60_000_000_000, "Retries": 3}
    assert exec_form.healthcheck == {"Test": ["CMD", "true"]} and exec_form.json_form
    assert none.args == ["NONE"] and none.healthcheck == {"Test": ["NONE"]}


def test_onbuild_keeps_the_trigger_text_and_parses_it() -> None:
    run, copy = parse(CORPUS["healthcheck_onbuild"]).stages[0].instructions[3:]
    assert run.args == "RUN echo triggered"
    assert run.onbuild is not None and run.onbuild.keyword == "RUN"
    assert copy.onbuild is not None and copy.onbuild.args == [".", "/app"]


def test_heredocs_bodies_chomp_and_quoting() -> None:
    plain, chomped, two, copy, after = parse(CORPUS["heredocs"]).stages[0].instructions
    assert plain.args == "<<EOF"
    assert plain.heredocs == [Heredoc("EOF", "echo hello\necho $HOME\n", True, False)]
    assert chomped.heredocs == [Heredoc("EOT", "echo tabs stripped\n", False, True)]
    assert [(d.name, d.content) for d in two.heredocs] == [("A", "a line\n"),
                                                          ("B", "b line\n")]
    assert copy.args == ["<<EOF", "/etc/conf"]
    assert copy.heredocs[0].content == "key=value\n"
    assert (after.line, after.args, after.heredocs) == (17, "echo no heredoc here", [])


def test_copy_heredoc_content_is_expanded_unless_quoted() -> None:
    df = parse("FROM busybox\nCOPY <<EOF <<'RAW' /d/\nv=$V \"q\"\nEOF\nv=$V\nRAW\n")
    expanded = expand_instruction(df.stages[0].instructions[0], {"V": "1"})
    assert [d.content for d in expanded.heredocs] == ['v=1 "q"\n', "v=$V\n"]


def test_multi_stage_names_are_lowercased_and_global_args_separate() -> None:
    df = parse(CORPUS["multi_stage"] + "FROM builder AS Final\n")
    assert [s.name for s in df.stages] == ["builder", None, "final"]
    assert [a.line for a in df.global_args] == [1]
    assert df.stages[1].instructions[0].flags == {"from": "builder"}


def test_expand_instruction_expands_only_what_docker_expands() -> None:
    df = parse("FROM busybox\nWORKDIR $DIR/sub\nRUN echo $DIR\nCOPY --chown=$U ${SRC:-a} /x/\n"
               "EXPOSE ${PORT}\nUSER \"$U\"\n")
    env = {"DIR": "/srv", "U": "app", "PORT": "8080"}
    workdir, run, copy, expose, user = (expand_instruction(i, env)
                                        for i in df.stages[0].instructions)
    assert workdir.args == "/srv/sub"
    assert run.args == "echo $DIR"
    assert (copy.args, copy.flags) == (["a", "/x/"], {"chown": "app"})
    assert expose.args == ["8080"]
    assert user.args == "app"


@pytest.mark.parametrize(("text", "message"), [
    ("", "the Dockerfile (Dockerfile) cannot be empty"),
    ("# only a comment\n\n", "file with no instructions"),
    ("FROM busybox\nRUN ok\nFOO bar\n", "dockerfile parse error line 3: unknown instruction: FOO"),
    ("RUN echo before\nFROM busybox\n", "no build stage in current context"),
    ("FROM busybox\nRUN <<EOF\necho\n", "dockerfile parse error line 2: unterminated heredoc"),
    ("FROM busybox\nENV =x\n", "dockerfile parse error line 2: ENV names can not be blank"),
    ("FROM busybox\nENV lonely\n", "dockerfile parse error line 2: ENV must have two arguments"),
    ("FROM busybox\nLABEL a=b c\n", 'dockerfile parse error line 2: Syntax error - can\'t find = in "c". Must be of the form: name=value'),
    ("# escape=x\nFROM busybox\n", "dockerfile parse error line 1: invalid escape token 'x' does not match ` or \\"),
    ("# escape=`\n# escape=\\\nFROM a\n", "dockerfile parse error line 2: only one escape parser directive can be used"),
    ("FROM busybox\nHEALTHCHECK --interval=1x CMD true\n", 'dockerfile parse error line 2: time: invalid duration "1x"'),
    ("FROM busybox\nHEALTHCHECK --retries=-1 CMD true\n", "dockerfile parse error line 2: --retries cannot be negative (-1)"),
    ("FROM busybox\nHEALTHCHECK --interval=1us CMD true\n", 'dockerfile parse error line 2: Interval "interval" cannot be less than 1ms'),
    ("FROM busybox\nHEALTHCHECK NONE extra\n", "dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments"),
    ("FROM busybox\nHEALTHCHECK FOO x\n", 'dockerfile parse error line 2: Unknown type "FOO" in HEALTHCHECK (try CMD)'),
    ("FROM busybox\nHEALTHCHECK CMD\n", "dockerfile parse error line 2: Missing command after HEALTHCHECK CMD"),
    ("FROM busybox\nSHELL /bin/sh -c\n", "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form"),
    ("FROM busybox\nRUN [\"a\", 1]\n", "dockerfile parse error line 2: when using JSON array syntax, arrays must be comprised of strings only"),
    ("FROM busybox\nCOPY onlyone\n", "dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined."),
    ("FROM busybox\nCOPY --foo=1 a b\n", "dockerfile parse error line 2: unknown flag: foo"),
    ("FROM busybox\nCOPY --from a b\n", "dockerfile parse error line 2: missing a value on flag: from"),
    ("FROM busybox\nENV --x=1 a=b\n", "dockerfile parse error line 2: unknown flag: x"),
    ("FROM a b\n", "dockerfile parse error line 1: FROM requires either one or three arguments"),
    ("FROM a AS 1x\n", 'dockerfile parse error line 1: invalid name for build stage: "1x", name can\'t start with a number or contain symbols'),
    ("FROM a\nONBUILD ONBUILD RUN x\n", "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM a\nONBUILD FROM b\n", "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nWORKDIR\n", "dockerfile parse error line 2: WORKDIR requires exactly one argument"),
    ("FROM a\nEXPOSE\n", "dockerfile parse error line 2: EXPOSE requires at least one argument"),
    ("FROM a\nCOPY a <<EOF\nx\nEOF\n", "dockerfile parse error line 2: COPY cannot accept a heredoc as a destination"),
])
def test_malformed_dockerfiles_fail_with_dockers_words(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse(text)
    assert caught.value.message == message
    assert isinstance(caught.value, InvalidParameter) and http_status(caught.value) == 400


def test_error_line_points_at_the_instruction_start_in_a_continuation() -> None:
    with pytest.raises(DockerfileError) as caught:
        parse("FROM a\n\nBAD \\\n  x\n")
    assert caught.value.line == 3 and caught.value.reason == "unknown instruction: BAD"


def test_crlf_and_bom_are_accepted() -> None:
    df = parse("\ufeffFROM busybox\r\nRUN a \\\r\n  b\r\n")
    assert df.stages[0].instructions[0].args == "a   b"


def test_parse_duration_follows_go() -> None:
    assert parse_duration("1m30s") == 90_000_000_000
    assert parse_duration("1.5h") == 5_400_000_000_000
    assert parse_duration("250ms") == 250_000_000
    assert parse_duration("0") == 0


def test_escaped_escape_at_end_of_line_does_not_continue() -> None:
    insts = parse("FROM a\nRUN a\\\\\nRUN b\n").stages[0].instructions
    assert [i.args for i in insts] == ["a\\\\", "b"]


def test_unknown_directive_ends_the_directive_block_as_docker_documents() -> None:
    df = parse("# foo=bar\n# escape=`\nFROM a\nRUN a \\\n b\n")
    assert df.directives == {} and df.stages[0].instructions[0].args == "a  b"
