"""How a command is declared, parsed and given its context.

Each command module exposes ``COMMANDS: dict[str, Command]``. Flags are parsed the way
docker's cobra does: flags may follow arguments unless the command stops at its first
argument (``run``, ``create``, ``exec``: everything after the image is the command).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TextIO

from .errors import UsageError

if TYPE_CHECKING:
    from ..client.api import APIClient

PROG = "cove"


@dataclass
class Command:
    name: str
    usage: str
    summary: str
    handler: Callable[[argparse.Namespace, Cli], int | None]
    configure: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    min_args: int = 0
    max_args: int | None = None
    interspersed: bool = True
    hostname_flag: bool = False  # run/create: -h is --hostname, not --help
    aliases: list[str] = field(default_factory=list)


class Cli:
    """What a handler needs: the streams and a lazily built API client."""

    def __init__(self, host: str, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        self.host = host
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    @cached_property
    def client(self) -> APIClient:
        from ..client.api import APIClient

        return APIClient(self.host)

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()


class FlagParser(argparse.ArgumentParser):
    """argparse that reports errors as exceptions (docker's wording), never exits."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        if message.startswith("unrecognized arguments: "):
            message = "unknown flag: " + message.split(": ", 1)[1].split()[0]
        raise UsageError(message)


def build_parser(command: Command, full_name: str) -> FlagParser:
    parser = FlagParser(prog=f"{PROG} {full_name}", add_help=False,
                        usage=f"{PROG} {full_name} {command.usage}",
                        description=command.summary, allow_abbrev=False)
    if command.hostname_flag:
        parser.add_argument("--help", action="store_true", help="Print usage")
    else:
        parser.add_argument("-h", "--help", action="store_true", help="Print usage")
    command.configure(parser)
    return parser


def _find_action(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return parser._option_string_actions.get(flag)


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


def split_argv(parser: argparse.ArgumentParser, argv: list[str],
               interspersed: bool) -> tuple[list[str], list[str]]:
    """Separate flags from positional arguments as cobra/pflag does."""
    flags: list[str] = []
    positional: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            positional.extend(argv[i + 1:])
            break
        if token.startswith("--") and len(token) > 2:
            name, eq, _value = token.partition("=")
            action = _find_action(parser, name)
            if action is None:
                raise UsageError(f"unknown flag: {name}")
            flags.append(token)
            if _takes_value(action) and not eq:
                if i + 1 >= len(argv):
                    raise UsageError(f"flag needs an argument: {name}")
                flags.append(argv[i + 1])
                i += 1
        elif token.startswith("-") and len(token) > 1:
            j = 1
            while j < len(token):
                short = "-" + token[j]
                action = _find_action(parser, short)
                if action is None:
                    raise UsageError(f"unknown shorthand flag: '{token[j]}' in {token}")
                if _takes_value(action):
                    rest = token[j + 1:].removeprefix("=")
                    if rest:
                        flags.extend([short, rest])
                    elif i + 1 < len(argv):
                        flags.extend([short, argv[i + 1]])
                        i += 1
                    else:
                        raise UsageError(f"flag needs an argument: '{token[j]}' in {token}")
                    break
                flags.append(short)
                j += 1
        else:
            positional.append(token)
            if not interspersed:
                positional.extend(argv[i + 1:])
                break
        i += 1
    return flags, positional


def parse(command: Command, full_name: str, argv: list[str]) -> tuple[argparse.Namespace, FlagParser]:
    parser = build_parser(command, full_name)
    flags, positional = split_argv(parser, argv, command.interspersed)
    args = parser.parse_args(flags)
    args.args = positional
    return args, parser


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", default=None, help="Format output using a Go template")


def parse_filters(values: list[str] | None) -> dict[str, list[str]]:
    """``--filter k=v`` (repeatable) -> the API's ``{"k": ["v"]}``."""
    filters: dict[str, list[str]] = {}
    for value in values or []:
        key, eq, val = value.partition("=")
        if not eq:
            raise UsageError("bad format of filter (expected name=value)")
        filters.setdefault(key.strip().lower(), []).append(val)
    return filters
