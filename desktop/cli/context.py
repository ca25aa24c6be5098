"""``cove context``: ``ls``, ``use`` and ``inspect`` with docker's output, over Cove's
fixed contexts (``native``, ``vm``, ``default``; see ``client.contexts``)."""

from __future__ import annotations

import json

from .command import Cli, Command, add_format
from .errors import CommandFailed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .command import FlagParser, Namespace


def _current() -> str:
    from ..client.contexts import ContextError, current

    try:
        return current()
    except ContextError as exc:
        raise CommandFailed(str(exc)) from exc


def _inspected(name: str) -> dict[str, Any]:
    from ..client.contexts import description, host_of

    return {"Name": name, "Metadata": {"Description": description(name)},
            "Endpoints": {"docker": {"Host": host_of(name), "SkipTLSVerify": False}},
            "TLSMaterial": {},
            "Storage": {"MetadataPath": "<IN MEMORY>", "TLSPath": "<IN MEMORY>"}}


def ls(args: Namespace, cli: Cli) -> int:
    from ..client.contexts import NAMES

    current = _current()
    rows = [_inspected(name) for name in NAMES]
    if args.format == "json":
        for row in rows:
            cli.out(json.dumps({"Current": row["Name"] == current, "Description":
                                row["Metadata"]["Description"], "DockerEndpoint":
                                row["Endpoints"]["docker"]["Host"], "Error": "",
                                "Name": row["Name"]}))
        return 0
    if args.quiet:
        for row in rows:
            cli.out(row["Name"])
        return 0
    template = "{:<12}{:<48}{}"
    cli.out(template.format("NAME", "DESCRIPTION", "DOCKER ENDPOINT").rstrip())
    for row in rows:
        name = row["Name"] + (" *" if row["Name"] == current else "")
        cli.out(template.format(name, row["Metadata"]["Description"],
                                row["Endpoints"]["docker"]["Host"]))
    return 0


def use(args: Namespace, cli: Cli) -> int:
    from ..client.contexts import ContextError
    from ..client.contexts import use as switch

    name = args.args[0]
    try:
        switch(name)
    except ContextError as exc:
        raise CommandFailed(str(exc)) from exc
    cli.out(name)
    cli.err(f'Current context is now "{name}"')
    return 0


def inspect(args: Namespace, cli: Cli) -> int:
    from ..client.contexts import ContextError
    from .inspect import inspect_each

    return inspect_each(cli, args.args or [_current()], _inspected, args.format,
                        (ContextError,))


def show(args: Namespace, cli: Cli) -> int:
    cli.out(_current())
    return 0


def _ls_flags(parser: FlagParser) -> None:
    add_format(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="Only show context names")


def _inspect_flags(parser: FlagParser) -> None:
    parser.add_argument("-f", "--format", default=None,
                        help="Format output using a custom template")


COMMANDS = {
    "context ls": Command("context ls", "[OPTIONS]", "List contexts", ls, _ls_flags,
                          max_args=0, aliases=["list"]),
    "context use": Command("context use", "CONTEXT", "Set the current context", use,
                           min_args=1, max_args=1),
    "context inspect": Command("context inspect", "[OPTIONS] [CONTEXT] [CONTEXT...]",
                               "Display detailed information on one or more contexts",
                               inspect, _inspect_flags),
    "context show": Command("context show", "", "Print the name of the current context", show,
                            max_args=0),
}
