"""A small Go ``text/template`` evaluator for ``--format``: the forms docker users write.

Supported: ``{{.A.B}}``, ``{{.}}``, ``{{json .X}}``, ``{{index .Labels "k"}}``, methods
with arguments (``{{.Label "k"}}``), pipes (``{{.Names | upper}}``), ``{{range}}``,
``{{if}}/{{else}}``, ``{{with}}``, ``$var :=`` in range, ``{{- -}}`` trimming, and the
functions docker adds (json, join, split, upper, lower, title, truncate, pad, println).
Values print as Go's ``fmt`` would (``map[k:v]``, ``[a b]``, ``<no value>``).
"""

from __future__ import annotations

import json
import re

TYPE_CHECKING = False  # ``typing`` costs milliseconds to import; type checkers know the name
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class TemplateError(ValueError):
    """A parse or execution error; the message follows Go's template package loosely."""


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<lp>\()|(?P<rp>\))|(?P<pipe>\|)'
    r"|(?P<decl>:=)|(?P<comma>,)|(?P<word>[^\s()|,]+))"
)

_CHAIN = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


class _Missing:
    """Go's ``<no value>``: what a missing map key prints as."""

    def __str__(self) -> str:
        return "<no value>"


MISSING = _Missing()


class _Node:
    """One parsed piece: text, an action, or a block (if/range/with) with its bodies."""

    __slots__ = ("kind", "text", "pipe", "body", "orelse", "decl")

    def __init__(self, kind: str, text: str = "", pipe: list[Any] | None = None) -> None:
        self.kind = kind  # text | action | if | range | with
        self.text = text
        self.pipe: list[Any] = pipe if pipe is not None else []
        self.body: list[_Node] = []
        self.orelse: list[_Node] = []
        self.decl: list[str] = []


def go_str(value: Any) -> str:
    """Format a value as Go's ``fmt.Sprint`` would for JSON-shaped data."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value)) if abs(value) < 1e6 else f"{value:g}".replace("e+0", "e+")
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_str(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _to_json(value: Any) -> str:
    if isinstance(value, _Missing):
        value = None
    if hasattr(value, "to_json"):
        value = value.to_json()
    return go_json(value)


def go_json(value: Any) -> str:
    """Compact JSON as Go's ``json.Marshal`` writes it (HTML characters escaped)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _truth(value: Any) -> bool:
    if isinstance(value, _Missing):
        return False
    return bool(value)


def _printf(fmt: str, *args: Any) -> str:
    arg_iter = iter(args)

    def repl(match: re.Match[str]) -> str:
        flags, verb = match.group(1), match.group(2)
        if verb == "%":
            return "%"
        value = next(arg_iter, MISSING)
        if verb == "q":
            return json.dumps(go_str(value))
        if verb == "d" and isinstance(value, int | float):
            return ("%" + flags + "d") % value
        if verb in "fge" and isinstance(value, int | float):
            return ("%" + flags + verb) % value
        return ("%" + flags + "s") % go_str(value)

    return re.sub(r"%([-+ 0#]*\d*(?:\.\d+)?)([a-zA-Z%])", repl, fmt)


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, MISSING)
        elif isinstance(value, list | tuple):
            value = value[int(key)]
        else:
            raise TemplateError(f"can't index item of type {type(value).__name__}")
    return value


def _truncate(value: Any, length: int) -> str:
    text = go_str(value)
    return text[:int(length)]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": _to_json,
    "index": _index,
    "upper": lambda s: go_str(s).upper(),
    "lower": lambda s: go_str(s).lower(),
    "title": lambda s: go_str(s).title(),
    "split": lambda s, sep: go_str(s).split(sep),
    "join": lambda items, sep: sep.join(go_str(i) for i in items or []),
    "len": lambda v: len(v),
    "truncate": _truncate,
    "pad": lambda s, before, after: " " * int(before) + go_str(s) + " " * int(after),
    "printf": _printf,
    "print": lambda *a: "".join(go_str(x) for x in a),
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "eq": lambda a, *bs: any(a == b for b in bs),
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "not": lambda a: not _truth(a),
    "and": lambda *a: next((x for x in a if not _truth(x)), a[-1]),
    "or": lambda *a: next((x for x in a if _truth(x)), a[-1]),
}


def _tokenize(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    source = source.strip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match or match.end() == pos:
            raise TemplateError(f"unexpected {source[pos:]!r} in command")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
        chained = _CHAIN.match(source, pos) if kind == "rp" else None
        if chained:  # (pipeline).Field: fields of the pipeline's value, as Go allows
            tokens.append(("chain", chained.group()))
            pos = chained.end()
    return tokens


def _parse_pipeline(tokens: list[tuple[str, str]], pos: int = 0,
                    closing: bool = False) -> tuple[list[list[Any]], int]:
    """A pipeline is a list of commands; a command is a list of operands."""
    commands: list[list[Any]] = [[]]
    while pos < len(tokens):
        kind, value = tokens[pos]
        if kind == "rp":
            if not closing:
                raise TemplateError("unexpected right paren")
            return commands, pos + 1
        if kind == "pipe":
            commands.append([])
        elif kind == "lp":
            sub, pos = _parse_pipeline(tokens, pos + 1, closing=True)
            if pos < len(tokens) and tokens[pos][0] == "chain":
                commands[-1].append(("pipechain", (sub, tokens[pos][1][1:].split("."))))
                pos += 1
            else:
                commands[-1].append(("pipe", sub))
            continue
        elif kind == "str":
            commands[-1].append(("lit", json.loads(value)))
        elif kind == "raw":
            commands[-1].append(("lit", value[1:-1]))
        else:
            commands[-1].append(_operand(value))
        pos += 1
    if closing:
        raise TemplateError("unclosed left paren")
    if any(not c for c in commands):
        raise TemplateError("missing value for command")
    return commands, pos


def _operand(word: str) -> tuple[str, Any]:
    if word == ".":
        return ("field", [])
    if word.startswith("."):
        return ("field", word[1:].split("."))
    if word.startswith("$"):
        name, *rest = word.split(".")
        return ("var", (name, rest))
    if word in ("true", "false"):
        return ("lit", word == "true")
    if word == "nil":
        return ("lit", None)
    if re.fullmatch(r"-?\d+", word):
        return ("lit", int(word))
    if re.fullmatch(r"-?\d*\.\d+", word):
        return ("lit", float(word))
    if word in FUNCTIONS:
        return ("func", word)
    raise TemplateError(f'function "{word}" not defined')


def parse(source: str) -> list[_Node]:
    """Parse a template into a node tree; raises TemplateError on bad syntax."""
    root: list[_Node] = []
    stack: list[tuple[_Node, list[_Node]]] = []
    current = root
    pos = 0
    for match in _ACTION.finditer(source):
        text = source[pos:match.start()]
        if match.group(1):
            text = text.rstrip()
        if text:
            current.append(_Node("text", text=text))
        pos = match.end()
        if match.group(3):
            rest = source[pos:]
            stripped = rest.lstrip()
            pos += len(rest) - len(stripped)
        body = match.group(2).strip()
        if body.startswith("/*"):
            continue
        keyword, _, args = body.partition(" ")
        if keyword in ("if", "range", "with"):
            node = _Node(keyword)
            tokens = _tokenize(args)
            if keyword == "range" and any(k == "decl" for k, _ in tokens):
                split = next(i for i, (k, _) in enumerate(tokens) if k == "decl")
                node.decl = [v for k, v in tokens[:split] if k == "word"]
                tokens = tokens[split + 1:]
            node.pipe, _ = _parse_pipeline(tokens)
            current.append(node)
            stack.append((node, current))
            current = node.body
        elif keyword == "else":
            if not stack:
                raise TemplateError("unexpected {{else}}")
            current = stack[-1][0].orelse
        elif keyword == "end":
            if not stack:
                raise TemplateError("unexpected {{end}}")
            _node, current = stack.pop()
        else:
            current.append(_Node("action", pipe=_parse_pipeline(_tokenize(body))[0]))
    if stack:
        raise TemplateError(f"unexpected EOF: unclosed {{{{{stack[-1][0].kind}}}}}")
    tail = source[pos:]
    if "{{" in tail:
        line = source[:pos + tail.index("{{")].count("\n") + 1
        raise TemplateError(f"template: :{line}: unclosed action")
    if tail:
        root_target = current
        root_target.append(_Node("text", text=tail))
    return root


class Template:
    """A parsed template; ``execute(data)`` returns the rendered text."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.nodes = parse(source)

    def execute(self, data: Any) -> str:
        out: list[str] = []
        _run(self.nodes, data, {"$": data}, out)
        return "".join(out)


def _field(value: Any, name: str, args: list[Any]) -> Any:
    if isinstance(value, dict):
        result = value.get(name, MISSING)
    elif isinstance(value, _Missing) or value is None:
        raise TemplateError(f"nil pointer evaluating .{name}")
    else:
        if name.startswith("_") or not hasattr(value, name):
            raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
        result = getattr(value, name)
    if callable(result):
        return result(*args)
    if args:
        raise TemplateError(f"{name} is not a method but has arguments")
    return result


def _chain(value: Any, names: list[str], args: list[Any]) -> Any:
    for i, name in enumerate(names):
        value = _field(value, name, args if i == len(names) - 1 else [])
    return value


def _eval_operand(op: tuple[str, Any], dot: Any, scope: dict[str, Any]) -> Any:
    kind, value = op
    if kind == "lit":
        return value
    if kind == "field":
        return _chain(dot, value, [])
    if kind == "var":
        name, rest = value
        if name not in scope:
            raise TemplateError(f"undefined variable: {name}")
        return _chain(scope[name], rest, [])
    if kind == "pipe":
        return _eval_pipeline(value, dot, scope)
    if kind == "pipechain":
        sub, names = value
        return _chain(_eval_pipeline(sub, dot, scope), names, [])
    raise TemplateError(f"can't give argument to non-function {value}")


def _eval_pipeline(commands: list[list[Any]], dot: Any, scope: dict[str, Any]) -> Any:
    piped: list[Any] = []
    result: Any = None
    for command in commands:
        head, *rest = command
        args = [_eval_operand(op, dot, scope) for op in rest] + piped
        if head[0] == "func":
            try:
                result = FUNCTIONS[head[1]](*args)
            except TemplateError:
                raise
            except Exception as exc:
                raise TemplateError(f"error calling {head[1]}: {exc}") from exc
        elif head[0] == "field" and args:
            result = _chain(dot, head[1], args)
        elif head[0] == "var" and args:
            name, names = head[1]
            result = _chain(scope[name], names, args)
        else:
            if args:
                raise TemplateError("can't give argument to non-function")
            result = _eval_operand(head, dot, scope)
        piped = [result]
    return result


def _run(nodes: list[_Node], dot: Any, scope: dict[str, Any], out: list[str]) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            out.append(go_str(_eval_pipeline(node.pipe, dot, scope)))
        elif node.kind == "if":
            value = _eval_pipeline(node.pipe, dot, scope)
            _run(node.body if _truth(value) else node.orelse, dot, scope, out)
        elif node.kind == "with":
            value = _eval_pipeline(node.pipe, dot, scope)
            if _truth(value):
                _run(node.body, value, scope, out)
            else:
                _run(node.orelse, dot, scope, out)
        elif node.kind == "range":
            value = _eval_pipeline(node.pipe, dot, scope)
            if isinstance(value, dict):
                items = [(k, value[k]) for k in sorted(value)]
            elif isinstance(value, list | tuple):
                items = list(enumerate(value))
            elif not _truth(value):
                items = []
            else:
                raise TemplateError(f"range can't iterate over {go_str(value)}")
            if not items:
                _run(node.orelse, dot, scope, out)
            for key, item in items:
                inner = dict(scope)
                if len(node.decl) == 1:
                    inner[node.decl[0]] = item
                elif len(node.decl) == 2:
                    inner[node.decl[0]], inner[node.decl[1]] = key, item
                _run(node.body, item, inner, out)
