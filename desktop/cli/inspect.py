"""``inspect`` for containers and images: indented JSON, or a ``--format`` per object."""

from __future__ import annotations

import json

from .command import Cli, Command
from .errors import BadTemplate, CommandFailed
from .template import Template, TemplateError

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .command import FlagParser, Namespace


def go_indent_json(value: Any) -> str:
    """``json.MarshalIndent(v, "", "    ")`` with Go's HTML escaping."""
    text = json.dumps(value, indent=4, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text


def _lookup(cli: Cli, ref: str, kind: str | None, size: bool) -> Any:
    from ..client.errors import NotFound

    if kind in (None, "container"):
        try:
            return cli.client.inspect_container(ref, size=size)
        except NotFound:
            if kind == "container":
                raise
    if kind in (None, "image"):
        try:
            return cli.client.inspect_image(ref)
        except NotFound:
            if kind == "image":
                raise
    raise LookupError(f"No such object: {ref}")


def format_template(fmt: str | None) -> Template | None:
    """``--format`` of an inspect command: None for docker's indented JSON array."""
    if not fmt:
        return None
    source = fmt.replace("\\t", "\t").replace("\\n", "\n")
    try:
        return Template("{{json .}}" if source == "json" else source)
    except TemplateError as exc:
        raise BadTemplate(f"template parsing error: {exc}") from exc


def write_inspected(cli: Cli, found: list[Any], template: Template | None,
                    errors: list[str]) -> int:
    """What every ``inspect`` prints: the objects found, then the lookups that failed
    (exit status 1 if any did). With a template and nothing found, docker prints an
    empty line."""
    if template is None:
        cli.out(go_indent_json(found))
    elif not found:
        cli.out()
    else:
        for item in found:
            try:
                cli.out(template.execute(item))
            except TemplateError as exc:
                raise CommandFailed(f"template: {exc}") from exc
    if errors:
        raise CommandFailed("\n".join(errors))
    return 0


def inspect_each(cli: Cli, refs: list[str], lookup: Callable[[str], Any], fmt: str | None,
                 failures: tuple[type[Exception], ...] = ()) -> int:
    """``inspect`` of one kind of object: ``lookup`` each of ``refs``, then write what was
    found and the errors (the client's, and ``failures``) of what was not."""
    from ..client.errors import ClientError

    template = format_template(fmt)
    caught: tuple[type[Exception], ...] = (ClientError, *failures)
    found: list[Any] = []
    errors: list[str] = []
    for ref in refs:
        try:
            found.append(lookup(ref))
        except caught as exc:
            errors.append(str(exc))
    return write_inspected(cli, found, template, errors)


def inspect(args: Namespace, cli: Cli, kind: str | None = None) -> int:
    from ..client.errors import ClientError

    kind = kind or args.type
    if kind not in (None, "container", "image"):
        raise CommandFailed(f'"{kind}" is not a valid value for --type')
    template = format_template(args.format)
    found: list[Any] = []
    errors: list[str] = []
    for ref in args.args:
        try:
            found.append(_lookup(cli, ref, kind, getattr(args, "size", False)))
        except LookupError as exc:
            errors.append(f"Error: {exc}")
        except ClientError as exc:
            errors.append(str(exc))
    return write_inspected(cli, found, template, errors)


def _configure(parser: FlagParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a custom template")
    parser.add_argument("-s", "--size", action="store_true", help="Display total file sizes if the type is container")
    parser.add_argument("--type", default=None, help="Return JSON for specified type")


def _configure_typed(parser: FlagParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a custom template")
    parser.add_argument("-s", "--size", action="store_true", help="Display total file sizes")
    parser.set_defaults(type=None)


COMMANDS = {
    "inspect": Command("inspect", "[OPTIONS] NAME|ID [NAME|ID...]",
                       "Return low-level information on Cove objects", inspect, _configure, min_args=1),
    "container inspect": Command("container inspect", "[OPTIONS] CONTAINER [CONTAINER...]",
                                 "Display detailed information on one or more containers",
                                 lambda a, c: inspect(a, c, "container"), _configure_typed, min_args=1),
    "image inspect": Command("image inspect", "[OPTIONS] IMAGE [IMAGE...]",
                             "Display detailed information on one or more images",
                             lambda a, c: inspect(a, c, "image"), _configure_typed, min_args=1),
}
