"""Per-instruction rules of the Dockerfile parser: argument shapes, flags, Docker's errors.

``parser`` reads the lines and hands each one here, as buildkit's ``parser`` hands its
nodes to ``instructions``: each keyword's checks and messages follow buildkit's
``instructions/parse.go`` so a bad Dockerfile fails with the words Docker users know.
"""

from __future__ import annotations

import re

from cove.runtime.build.dockerfile import KEYWORDS, DockerfileError, Instruction, Stage
from cove.runtime.build.words import (
    WHITESPACE,
    Node,
    parse_heredoc_word,
    parse_json,
    split_command,
    split_words,
)

_STRING, _BOOL, _STRINGS = "string", "bool", "strings"
_FLAGS: dict[str, dict[str, str]] = {
    "FROM": {"platform": _STRING},
    "COPY": {"from": _STRING, "chown": _STRING, "chmod": _STRING, "link": _BOOL,
             "parents": _BOOL, "exclude": _STRINGS},
    "ADD": {"chown": _STRING, "chmod": _STRING, "link": _BOOL, "checksum": _STRING,
            "keep-git-dir": _BOOL, "exclude": _STRINGS, "unpack": _BOOL},
    "RUN": {"mount": _STRINGS, "network": _STRING, "security": _STRING},
    "HEALTHCHECK": {"interval": _STRING, "timeout": _STRING, "start-period": _STRING,
                    "start-interval": _STRING, "retries": _STRING},
}
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_ONBUILD_PREFIX = re.compile(r"(?i)^\s*ONBUILD\s*")
_DURATION_PART = re.compile(r"(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
            "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_MINIMUM_DURATION_NS = 1_000_000


def instruction(node: Node, escape: str) -> Instruction:
    """The Instruction for one parsed line, or DockerfileError at the node's line."""
    try:
        return _build(node, escape)
    except DockerfileError as exc:
        if exc.line is None:
            raise DockerfileError(exc.reason, node.line) from None
        raise


def stage(inst: Instruction) -> Stage:
    args = list(inst.args)
    name = None
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise DockerfileError(
                f'invalid name for build stage: "{args[2]}", name can\'t start with a number '
                "or contain symbols", inst.line)
    elif len(args) != 1:
        raise DockerfileError("FROM requires either one or three arguments", inst.line)
    platform = inst.flags.get("platform")
    return Stage(base=args[0], name=name, platform=platform if isinstance(platform, str)
                 and platform else None, instructions=[], from_line=inst.line,
                 original=inst.original)


def _build(node: Node, escape: str) -> Instruction:
    keyword = node.keyword.upper()
    if keyword not in KEYWORDS:
        raise DockerfileError(f"unknown instruction: {keyword}")
    inst = Instruction(keyword=keyword, args=[], line=node.line, end_line=node.end_line,
                       original=node.original.strip() if not node.heredocs
                       else node.original.lstrip(), heredocs=list(node.heredocs))
    rest = node.rest
    if keyword == "HEALTHCHECK":
        return _healthcheck(inst, node, rest)
    inst.flags = parse_flags(keyword, node.flags)
    if keyword in ("RUN", "CMD", "ENTRYPOINT", "SHELL"):
        inst.args, inst.json_form = _maybe_json(rest)
        if keyword == "SHELL":
            if not inst.args:
                raise DockerfileError("SHELL requires at least one argument")
            if not inst.json_form:
                raise DockerfileError("SHELL requires the arguments to be in JSON form")
    elif keyword in ("COPY", "ADD", "VOLUME"):
        inst.args, inst.json_form = _maybe_json_list(rest)
        _check_list(keyword, inst.args)
    elif keyword in ("EXPOSE", "FROM"):
        inst.args = WHITESPACE.split(rest) if rest else []
        if keyword == "EXPOSE" and not inst.args:
            raise DockerfileError("EXPOSE requires at least one argument")
    elif keyword in ("ENV", "LABEL"):
        inst.args = _name_values(keyword, rest, escape)
    elif keyword == "ARG":
        inst.args = split_words(rest, escape)
        if not inst.args:
            raise DockerfileError("ARG requires at least one argument")
    elif keyword == "ONBUILD":
        _onbuild(inst, rest, escape)
    else:  # WORKDIR USER STOPSIGNAL MAINTAINER
        if not rest:
            raise DockerfileError(f"{keyword} requires exactly one argument")
        inst.args = rest
    return inst


def parse_flags(keyword: str, words: list[str]) -> dict[str, str | list[str]]:
    """``--name=value`` words checked against the keyword's flags (buildkit's BFlags)."""
    allowed = _FLAGS.get(keyword, {})
    flags: dict[str, str | list[str]] = {}
    for word in words:
        if not word.startswith("--"):
            raise DockerfileError(f"arg should start with -- : {word}")
        if word == "--":
            break
        name, has_value, value = word[2:].partition("=")
        kind = allowed.get(name)
        if kind is None:
            raise DockerfileError(f"unknown flag: {name}")
        if name in flags and kind != _STRINGS:
            raise DockerfileError(f"duplicate flag specified: {name}")
        if kind == _BOOL:
            if has_value and value == "":
                raise DockerfileError(f"missing a value on flag: {name}")
            if value.lower() not in ("", "true", "false"):
                raise DockerfileError(
                    f"expecting boolean value for flag {name}, not: {value}")
            flags[name] = "false" if value.lower() == "false" else "true"
            continue
        if not has_value:
            raise DockerfileError(f"missing a value on flag: {name}")
        if kind == _STRINGS:
            existing = flags.setdefault(name, [])
            assert isinstance(existing, list)
            existing.append(value)
        else:
            flags[name] = value
    return flags


def _maybe_json(rest: str) -> tuple[list[str] | str, bool]:
    try:
        return parse_json(rest), True
    except ValueError:
        return rest, False


def _maybe_json_list(rest: str) -> tuple[list[str], bool]:
    try:
        return parse_json(rest), True
    except ValueError:
        return (WHITESPACE.split(rest) if rest else []), False


def _check_list(keyword: str, args: list[str]) -> None:
    if keyword == "VOLUME":
        if not args:
            raise DockerfileError("VOLUME requires at least one argument")
        if any(not arg.strip() for arg in args):
            raise DockerfileError("VOLUME specified can not be an empty string")
        return
    if len(args) < 2:
        raise DockerfileError(
            f"{keyword} requires at least two arguments, but only one was provided. "
            "Destination could not be determined.")
    if parse_heredoc_word(args[-1]) is not None:
        raise DockerfileError(f"{keyword} cannot accept a heredoc as a destination")


def _name_values(keyword: str, rest: str, escape: str) -> list[str]:
    """``K=V K2="v 2"`` or legacy ``K value with spaces`` -> [K, V, K2, '"v 2"']."""
    words = split_words(rest, escape)
    if not words:
        raise DockerfileError(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        parts = WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise DockerfileError(f"{keyword} must have two arguments")
        pairs = parts
    else:
        pairs = []
        for word in words:
            if "=" not in word:
                raise DockerfileError(
                    f'Syntax error - can\'t find = in "{word}". Must be of the form: '
                    "name=value")
            key, _, value = word.partition("=")
            pairs += [key, value]
    if any(not pairs[i] for i in range(0, len(pairs), 2)):
        raise DockerfileError(f"{keyword} names can not be blank")
    return pairs


def _healthcheck(inst: Instruction, node: Node, rest: str) -> Instruction:
    parts = rest.split(None, 1)
    if not parts:
        raise DockerfileError("HEALTHCHECK requires at least one argument")
    kind = parts[0].upper()
    command = parts[1] if len(parts) > 1 else ""
    if kind == "NONE":
        if command:
            raise DockerfileError("HEALTHCHECK NONE takes no arguments")
        inst.args = ["NONE"]
        inst.healthcheck = {"Test": ["NONE"]}
        return inst
    inst.flags = parse_flags("HEALTHCHECK", node.flags)
    if kind != "CMD":
        raise DockerfileError(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    args, inst.json_form = _maybe_json(command)
    if not args:
        raise DockerfileError("Missing command after HEALTHCHECK CMD")
    test = ["CMD", *args] if isinstance(args, list) else ["CMD-SHELL", args]
    config: dict[str, object] = {"Test": test}
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"),
                      ("start-period", "StartPeriod"), ("start-interval", "StartInterval")):
        value = inst.flags.get(flag)
        if isinstance(value, str) and value:
            config[key] = _interval(flag, value)
    retries = inst.flags.get("retries")
    if isinstance(retries, str) and retries:
        try:
            count = int(retries, 10)
        except ValueError:
            raise DockerfileError(
                f'strconv.ParseInt: parsing "{retries}": invalid syntax') from None
        if count < 0:
            raise DockerfileError(f"--retries cannot be negative ({count})")
        config["Retries"] = count
    inst.args = test
    inst.healthcheck = config
    return inst


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds (``1m30s``, ``500ms``, ``1.5h``)."""
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if body == "0":
        return 0
    total, pos = 0.0, 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if not match or match.group(1) in ("", "."):
            raise DockerfileError(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _UNIT_NS[match.group(2)]
        pos = match.end()
    if not body:
        raise DockerfileError(f'time: invalid duration "{text}"')
    return sign * int(round(total))


def _interval(flag: str, value: str) -> int:
    duration = parse_duration(value)
    if duration != 0 and duration < _MINIMUM_DURATION_NS:
        raise DockerfileError(f'Interval "{flag}" cannot be less than 1ms')
    return duration


def _onbuild(inst: Instruction, rest: str, escape: str) -> None:
    if not rest:
        raise DockerfileError("ONBUILD requires at least one argument")
    trigger = rest.split(None, 1)[0].upper()
    if trigger == "ONBUILD":
        raise DockerfileError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise DockerfileError(f"{trigger} isn't allowed as an ONBUILD trigger")
    sub = split_command(rest, inst.line, escape)
    sub.end_line = inst.end_line
    inst.onbuild = _build(sub, escape)
    inst.args = _ONBUILD_PREFIX.sub("", inst.original)
