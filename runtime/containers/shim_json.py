"""JSON for the shim and the exec helper, without importing ``json``.

``json`` pulls in ``re`` and ``enum``: some 10 ms of a shim's start, and ``run --rm
busybox true`` is on that clock. The shim's messages are small, so a plain parser and
encoder are enough. ``dumps`` writes what ``json.dumps(obj)`` writes (ASCII, default
separators) for dicts with str keys, lists, tuples, str, int, float, bool and None;
``loads`` reads any JSON text and raises ``ValueError`` on malformed input.
"""

from __future__ import annotations

import codecs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ESCAPE_ERRORS = "cove-json-escape"
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                  "\r": "\\r", "\t": "\\t"}
_ASCII_ESCAPES = {code: _SHORT_ESCAPES.get(chr(code), f"\\u{code:04x}")
                  for code in (*range(0x20), 0x22, 0x5C, 0x7F)}
_UNESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
              "t": "\t"}
_WHITESPACE = " \t\n\r"
_NUMBER_CHARS = frozenset("+-0123456789.eE")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_CONSTANTS = (("true", True), ("false", False), ("null", None), ("NaN", float("nan")),
              ("Infinity", float("inf")), ("-Infinity", float("-inf")))


def _escape_non_ascii(error: UnicodeError) -> tuple[str, int]:
    """``\\uXXXX`` for each character ASCII cannot encode, pairs for those past U+FFFF."""
    assert isinstance(error, UnicodeEncodeError)
    out = []
    for char in error.object[error.start:error.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out), error.end


codecs.register_error(_ESCAPE_ERRORS, _escape_non_ascii)


def _string(text: str) -> str:
    # the shim's hot path: log lines, mostly printable ASCII ending in a newline
    body, newline = (text[:-1], "\\n") if text.endswith("\n") else (text, "")
    if body.isascii() and body.isprintable():
        return '"' + body.replace("\\", "\\\\").replace('"', '\\"') + newline + '"'
    escaped = text.translate(_ASCII_ESCAPES)
    if not escaped.isascii():
        escaped = escaped.encode("ascii", _ESCAPE_ERRORS).decode("ascii")
    return '"' + escaped + '"'


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def dumps(obj: object) -> str:
    if type(obj) is str:
        return _string(obj)
    if type(obj) is dict:
        return _object(obj)
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, float):
        return _float(obj)
    if isinstance(obj, str):
        return _string(obj)
    if isinstance(obj, dict):
        return _object(obj)
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join([dumps(item) for item in obj]) + "]"
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _object(obj: dict[Any, Any]) -> str:
    items = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"keys must be str, not {type(key).__name__}")
        items.append(_string(key) + ": " + dumps(value))
    return "{" + ", ".join(items) + "}"


def loads(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    value, end = _value(text, _skip(text, 0))
    end = _skip(text, end)
    if end != len(text):
        raise ValueError(f"extra data after JSON at position {end}")
    return value


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _value(text: str, index: int) -> tuple[Any, int]:
    char = text[index:index + 1]
    if char == '"':
        return _string_at(text, index + 1)
    if char == "{":
        return _object_at(text, index + 1)
    if char == "[":
        return _array_at(text, index + 1)
    for word, constant in _CONSTANTS:
        if text.startswith(word, index):
            return constant, index + len(word)
    end = index
    while end < len(text) and text[end] in _NUMBER_CHARS:
        end += 1
    token = text[index:end]
    try:
        if "." in token or "e" in token or "E" in token:
            return float(token), end
        return int(token), end
    except ValueError:
        raise ValueError(f"expecting a JSON value at position {index}") from None


def _string_at(text: str, start: int) -> tuple[str, int]:
    """The string whose opening quote is just before ``start``, and the index after it."""
    parts = []
    while True:
        quote = text.find('"', start)
        if quote < 0:
            raise ValueError(f"unterminated string at position {start}")
        backslash = text.find("\\", start, quote)
        if backslash < 0:
            parts.append(text[start:quote])
            return "".join(parts), quote + 1
        parts.append(text[start:backslash])
        kind = text[backslash + 1:backslash + 2]
        if kind == "u":
            code, start = _code_unit(text, backslash)
            if 0xD800 <= code < 0xDC00 and text.startswith("\\u", start):
                low, after = _code_unit(text, start)
                if 0xDC00 <= low < 0xE000:
                    code, start = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00), after
            parts.append(chr(code))
        elif kind in _UNESCAPES:
            parts.append(_UNESCAPES[kind])
            start = backslash + 2
        else:
            raise ValueError(f"invalid escape at position {backslash}")


def _code_unit(text: str, backslash: int) -> tuple[int, int]:
    """The four hex digits of the ``\\u`` escape at ``backslash``, and the index after them."""
    digits = text[backslash + 2:backslash + 6]
    if len(digits) != 4 or not all(digit in _HEX_DIGITS for digit in digits):
        raise ValueError(f"invalid \\u escape at position {backslash}")
    return int(digits, 16), backslash + 6


def _object_at(text: str, index: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    index = _skip(text, index)
    if text[index:index + 1] == "}":
        return result, index + 1
    while True:
        if text[index:index + 1] != '"':
            raise ValueError(f"expecting a property name at position {index}")
        key, index = _string_at(text, index + 1)
        index = _skip(text, index)
        if text[index:index + 1] != ":":
            raise ValueError(f"expecting ':' at position {index}")
        result[key], index = _value(text, _skip(text, index + 1))
        index = _skip(text, index)
        separator = text[index:index + 1]
        if separator == "}":
            return result, index + 1
        if separator != ",":
            raise ValueError(f"expecting ',' or '}}' at position {index}")
        index = _skip(text, index + 1)


def _array_at(text: str, index: int) -> tuple[list[Any], int]:
    result: list[Any] = []
    index = _skip(text, index)
    if text[index:index + 1] == "]":
        return result, index + 1
    while True:
        item, index = _value(text, index)
        result.append(item)
        index = _skip(text, index)
        separator = text[index:index + 1]
        if separator == "]":
            return result, index + 1
        if separator != ",":
            raise ValueError(f"expecting ',' or ']' at position {index}")
        index = _skip(text, index + 1)
