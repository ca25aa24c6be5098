"""How a command is declared, parsed and given its context.

Each command module exposes ``COMMANDS: dict[str, Command]``. Flags are parsed the way
docker's cobra does: flags may follow arguments unless the command stops at its first
argument (``run``, ``create``, ``exec``: everything after the image is the command).

Flags are declared with argparse's ``add_argument`` vocabulary, but parsed here:
importing argparse and building a 45-option parser is a measurable part of ``cove run``,
and cobra's rules (``-it``, ``-m64m``, ``--rm=false``...) are ours anyway. argparse is
imported only to format ``--help``.
"""

from __future__ import annotations

import sys

from .errors import UsageError

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from ..client.api import APIClient

PROG = "cove"


class Command:
    """A command's name, usage line, handler, flags (``configure``) and argument count."""

    def __init__(self, name: str, usage: str, summary: str,
                 handler: Callable[[Namespace, Cli], int | None],
                 configure: Callable[[FlagParser], None] | None = None,
                 min_args: int = 0, max_args: int | None = None, interspersed: bool = True,
                 hostname_flag: bool = False, aliases: list[str] | None = None) -> None:
        self.name = name
        self.usage = usage
        self.summary = summary
        self.handler = handler
        self.configure = configure or (lambda parser: None)
        self.min_args = min_args
        self.max_args = max_args
        self.interspersed = interspersed
        self.hostname_flag = hostname_flag  # run/create: -h is --hostname, not --help
        self.aliases = aliases or []


class Cli:
    """What a handler needs: the streams and a lazily built API client."""

    def __init__(self, host: str, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        self.host = host
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._client: APIClient | None = None

    @property
    def client(self) -> APIClient:
        if self._client is None:
            from ..client.api import APIClient

            self._client = APIClient(self.host)
        return self._client

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()


class Namespace:
    """Parsed flags as attributes (argparse's ``Namespace`` shape), plus ``args``."""

    args: list[str]  # the positional arguments

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        """Only reached for undeclared names; there so type checkers accept any flag name."""
        raise AttributeError(name)

    def __repr__(self) -> str:
        return "Namespace(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


class Flag:
    """One declared option: its spellings, destination, and how it takes a value."""

    __slots__ = ("names", "dest", "action", "default", "type", "const", "optional_value", "kwargs")

    def __init__(self, names: tuple[str, ...], kwargs: dict[str, Any]) -> None:
        self.names = names
        self.kwargs = kwargs
        long_names = [n for n in names if n.startswith("--")]
        self.dest = kwargs.get("dest") or (long_names or names)[0].lstrip("-").replace("-", "_")
        self.action = kwargs.get("action", "store")
        self.type = kwargs.get("type")
        self.const = kwargs.get("const")
        self.optional_value = kwargs.get("nargs") == "?"  # value only as --flag=value
        default = kwargs.get("default")
        if default is None and self.action == "store_true":
            default = False
        self.default = default

    @property
    def takes_value(self) -> bool:
        return self.action in ("store", "append") and not self.optional_value

    def label(self) -> str:
        """How docker names the flag in messages: ``-m, --memory`` or ``--cpus``."""
        shorts = [n for n in self.names if not n.startswith("--")]
        longs = [n for n in self.names if n.startswith("--")]
        return ", ".join(shorts[:1] + longs[:1])

    def convert(self, value: str) -> Any:
        if self.type is int:
            try:
                return int(value)
            except ValueError:
                raise UsageError(f'invalid argument "{value}" for "{self.label()}" flag: '
                                 f'strconv.ParseInt: parsing "{value}": invalid syntax') from None
        return self.type(value) if self.type is not None else value


class FlagParser:
    """Declared flags (argparse's ``add_argument`` subset) and cobra-style parsing."""

    def __init__(self, prog: str, usage: str, description: str) -> None:
        self.prog = prog
        self.usage = usage
        self.description = description
        self.flags: list[Flag] = []
        self.by_name: dict[str, Flag] = {}
        self.defaults: dict[str, Any] = {}

    def add_argument(self, *names: str, **kwargs: Any) -> Flag:
        flag = Flag(names, kwargs)
        self.flags.append(flag)
        for name in names:
            self.by_name[name] = flag
        return flag

    def set_defaults(self, **values: Any) -> None:
        self.defaults.update(values)

    def namespace(self) -> Namespace:
        values: dict[str, Any] = {}
        for flag in self.flags:
            default = flag.default
            values[flag.dest] = list(default) if isinstance(default, list) else default
        values.update(self.defaults)
        return Namespace(**values)

    def apply(self, args: Namespace, flag: Flag, value: str | None) -> None:
        """Record one occurrence of ``flag`` (``value`` is None for a bare switch)."""
        if flag.action == "store_true":
            if value is None:
                setattr(args, flag.dest, True)
                return
            lowered = value.lower()
            if lowered not in ("true", "false", "1", "0", "t", "f"):
                raise UsageError(f'invalid argument "{value}" for "{flag.label()}" flag: '
                                 f'strconv.ParseBool: parsing "{value}": invalid syntax')
            setattr(args, flag.dest, lowered in ("true", "1", "t"))
        elif flag.action == "append":
            getattr(args, flag.dest).append(flag.convert(value or ""))
        elif value is None and flag.optional_value:
            setattr(args, flag.dest, flag.const)
        else:
            setattr(args, flag.dest, flag.convert(value or ""))

    def format_help(self, aliases: list[str] | None = None) -> str:
        """docker's ``--help`` layout: usage, description, aliases, then the options sorted
        by name with docker's value types, usage wrapped as cobra wraps it."""
        import os

        lines = [f"Usage:  {self.usage}", "", self.description, ""]
        if aliases and len(aliases) > 1:
            lines += ["Aliases:", "  " + ", ".join(aliases), ""]
        shown = sorted((flag for flag in self.flags if "--help" not in flag.names),
                       key=lambda flag: _long_name(flag).lstrip("-"))
        if shown:
            entries = [(_flag_text(flag), _usage_text(flag)) for flag in shown]
            column = max(len(text) for text, _ in entries) + 3
            try:
                width = os.get_terminal_size(0).columns  # docker sizes help by stdin's terminal
            except OSError:
                width = 80
            lines.append("Options:")
            lines += [text.ljust(column - 1) + " " + _wrap(usage, column, width - 1)
                      for text, usage in entries]
        return "\n".join(lines).rstrip("\n") + "\n"


# the value type docker's help names where it is not the flag's plain kind
_VALUE_TYPES = {"filter": "filter", "mount": "mount", "ulimit": "ulimit", "sysctl": "map",
                "memory": "bytes", "memory-swap": "bytes", "memory-reservation": "bytes",
                "shm-size": "bytes", "kernel-memory": "bytes", "cpus": "decimal",
                "health-interval": "duration", "health-timeout": "duration",
                "health-start-period": "duration", "health-start-interval": "duration",
                "until": "string", "gpus": "gpu-request", "blkio-weight": "uint16",
                "pids-limit": "int", "network": "network", "opt": "map",
                "keep-storage": "bytes"}


def _long_name(flag: Flag) -> str:
    """The flag's name in help: its first long form (later ones are docker's hidden
    spellings, ``--net`` for ``--network``)."""
    return next((name for name in flag.names if name.startswith("--")), flag.names[0])


def _is_switch(flag: Flag) -> bool:
    """A flag docker shows as a bool: a switch, or a value that is "true" or "false"."""
    return flag.action == "store_true" or flag.optional_value or \
        str(flag.default).lower() in ("true", "false")


def _flag_text(flag: Flag) -> str:
    short = next((name for name in flag.names if not name.startswith("--")), None)
    long_name = _long_name(flag)
    text = f"  {short}, {long_name}" if short else f"      {long_name}"
    if _is_switch(flag):
        return text
    return f"{text} {_value_type(flag)}"


def _value_type(flag: Flag) -> str:
    """The value's type as docker's help names it (``string``, ``list``, ``map``...)."""
    kind = flag.kwargs.get("value_type") or _VALUE_TYPES.get(_long_name(flag).lstrip("-"))
    if kind is None:
        kind = "list" if flag.action == "append" else "int" if flag.type is int else "string"
    return str(kind)


def _usage_text(flag: Flag) -> str:
    usage = str(flag.kwargs.get("help") or "")
    default = flag.default
    if _is_switch(flag):
        return f"{usage} (default true)" if str(default).lower() == "true" else usage
    if _value_type(flag) == "map":  # docker's map flags show their empty default
        return f"{usage} (default map[])"
    if default in (None, False, 0, "", []) or flag.action == "append":
        return usage
    shown = f'"{default}"' if isinstance(default, str) else str(default).lower() \
        if isinstance(default, bool) else str(default)
    return f"{usage} (default {shown})"


def _wrap(text: str, indent: int, width: int) -> str:
    """cobra's flag-usage wrapping: lines of ``width`` starting at column ``indent``, a few
    characters of slop so a last word is not left alone."""
    room = width - indent
    if room < 24:
        return text
    slop = 5
    room -= slop
    pieces = []
    while text:
        if room + slop > len(text):
            pieces.append(text)
            break
        cut = text.rfind(" ", 0, room)
        if cut <= 0:
            pieces.append(text)
            break
        pieces.append(text[:cut])
        text = text[cut + 1:]
    return ("\n" + " " * indent).join(pieces)


def build_parser(command: Command, full_name: str) -> FlagParser:
    parser = FlagParser(f"{PROG} {full_name}", f"{PROG} {full_name} {command.usage}",
                        command.summary)
    if command.hostname_flag:
        parser.add_argument("--help", action="store_true", help="Print usage")
    else:
        parser.add_argument("-h", "--help", action="store_true", help="Print usage")
    command.configure(parser)
    return parser


def parse_argv(parser: FlagParser, argv: list[str], interspersed: bool) -> Namespace:
    """Flags into a Namespace and positional arguments into ``args``, as cobra/pflag does."""
    args = parser.namespace()
    positional: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            positional.extend(argv[i + 1:])
            break
        if token.startswith("--") and len(token) > 2:
            name, eq, value = token.partition("=")
            flag = parser.by_name.get(name)
            if flag is None:
                raise UsageError(f"unknown flag: {name}")
            if eq:
                parser.apply(args, flag, value)
            elif flag.takes_value:
                if i + 1 >= len(argv):
                    raise UsageError(f"flag needs an argument: {name}")
                i += 1
                parser.apply(args, flag, argv[i])
            else:
                parser.apply(args, flag, None)
        elif token.startswith("-") and len(token) > 1:
            j = 1
            while j < len(token):
                flag = parser.by_name.get("-" + token[j])
                if flag is None:
                    raise UsageError(f"unknown shorthand flag: '{token[j]}' in {token}")
                if flag.takes_value:
                    rest = token[j + 1:].removeprefix("=")
                    if rest:
                        parser.apply(args, flag, rest)
                    elif i + 1 < len(argv):
                        i += 1
                        parser.apply(args, flag, argv[i])
                    else:
                        raise UsageError(f"flag needs an argument: '{token[j]}' in {token}")
                    break
                parser.apply(args, flag, None)
                j += 1
        else:
            positional.append(token)
            if not interspersed:
                positional.extend(argv[i + 1:])
                break
        i += 1
    args.args = positional
    return args


def parse(command: Command, full_name: str, argv: list[str]) -> tuple[Namespace, FlagParser]:
    parser = build_parser(command, full_name)
    return parse_argv(parser, argv, command.interspersed), parser


def add_format(parser: FlagParser) -> None:
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
