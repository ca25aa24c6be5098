"""A build step's recorded command (history ``created_by``, ``ContainerConfig.Cmd``) as
dockerd's classic builder writes it.

dockerd formats these texts with Go's fmt verbs (``%q``, ``%v``) applied to Go values, and
users and tools read them back (``docker history --no-trunc``), so the quoting, the list
and struct layouts and the duration spelling here are Go's, not Python's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cove.runtime.build.stage_state import command_shell

_RUNE_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r",
                 92: "\\\\"}


def nop_command(config: Mapping[str, Any], text: str, one_word: bool = False) -> list[str]:
    """What dockerd records for a step that runs nothing: the stage's current shell, then
    ``#(nop) `` and the step (two words; WORKDIR and COPY/ADD write one)."""
    shell = command_shell(dict(config))
    return shell + (["#(nop) " + text] if one_word else ["#(nop) ", text])


def _escape(code: int, quote: str) -> str:
    if chr(code) == quote:
        return "\\" + quote
    if code in _RUNE_ESCAPES:
        return _RUNE_ESCAPES[code]
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if code < 0x80 or chr(code).isprintable():
        return chr(code)
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string (strconv.Quote)."""
    return '"' + "".join(_escape(ord(ch), '"') for ch in text) + '"'


def go_quote_rune(value: int) -> str:
    """Go's ``%q`` of an integer: the character it codes, single-quoted (``'\\x02'``)."""
    if not 0 <= value <= 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        value = 0xFFFD
    return "'" + _escape(value, "'") + "'"


def go_list(words: list[str], quoted: bool) -> str:
    """A string slice as Go's fmt prints it: ``%q`` quotes each item, ``%v`` does not;
    items are separated by spaces, not commas."""
    return "[" + " ".join(go_quote(w) if quoted else w for w in words) + "]"


def _fraction(value: int, unit: int) -> str:
    whole, rest = divmod(value, unit)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def go_duration(nanoseconds: int) -> str:
    """Go's time.Duration.String: ``0s``, ``1.5s``, ``1m30s``, ``1h0m0s``, ``500ms``."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    ns = abs(nanoseconds)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1_000)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 1_000_000)}ms"
    minutes, rest = divmod(ns, 60_000_000_000)
    text = _fraction(rest, 1_000_000_000) + "s"
    if minutes:
        hours, minutes = divmod(minutes, 60)
        text = f"{minutes}m{text}"
        if hours:
            text = f"{hours}h{text}"
    return sign + text


def healthcheck_text(check: Mapping[str, Any]) -> str:
    """``HEALTHCHECK %q`` of the step's HealthConfig, as dockerd records it: Go's ``%q``
    of a struct pointer, ``&{[test] "interval" "timeout" "start-period" 'retries'}``."""
    fields = [go_list([str(t) for t in check.get("Test") or []], quoted=True)]
    durations = ["Interval", "Timeout", "StartPeriod"]
    if check.get("StartInterval"):  # newer daemons' field, only when a build sets it
        durations.append("StartInterval")
    fields += [go_quote(go_duration(int(check.get(key) or 0))) for key in durations]
    fields.append(go_quote_rune(int(check.get("Retries") or 0)))
    return "HEALTHCHECK &{" + " ".join(fields) + "}"
