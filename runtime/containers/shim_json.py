"""JSON for the shim and exec helper without importing ``json``.

``json`` pulls in ``re`` and ``enum``, about a third of the shim's start time
(``run --rm busybox true`` is on the clock). The C accelerator ``_json`` that
``json`` itself uses needs neither; this wraps its scanner and encoder directly.
Output matches ``json.dumps(obj)`` with its default separators; malformed input
raises ``ValueError`` (the C scanner imports ``json`` only to build that error).
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _DecodeContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return float({"-Infinity": "-inf", "Infinity": "inf", "NaN": "nan"}[name])


_scan = _json.make_scanner(_DecodeContext())  # type: ignore[arg-type]  # duck-typed context


def _unserializable(obj: object) -> object:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_encode = _json.make_encoder(None, _unserializable, _json.encode_basestring_ascii, None,
                             ": ", ", ", False, False, True)


def loads(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    text = text.strip()
    try:
        value, end = _scan(text, 0)
    except StopIteration as exc:
        raise ValueError(f"invalid JSON at position {exc.value}") from None
    if end != len(text):
        raise ValueError(f"extra data after JSON at position {end}")
    return value


def dumps(obj: object) -> str:
    return "".join(_encode(obj, 0))
