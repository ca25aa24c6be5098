"""Docker's variable substitution for Dockerfile words (buildkit's ``shell.Lex``).

The builder, not a shell, expands ``$var`` in ADD COPY ENV EXPOSE FROM LABEL
STOPSIGNAL USER VOLUME WORKDIR (and ARG values, COPY/ADD/FROM flag values), so the
rules must be Docker's exactly: single quotes are literal, double quotes keep
spaces, the escape character (``\\`` or the ``# escape=`` one) quotes one
character, unset variables expand to nothing, and ``${v:-d}``, ``${v-d}``,
``${v:+a}``, ``${v+a}``, ``${v:?e}``, ``${v?e}``, ``${v#p}``, ``${v%p}`` and
``${v/p/r}`` work as in sh. Errors raise ``ShellWordError`` (an InvalidParameter).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from cove.runtime.errors import InvalidParameter

_EOF = ""
_SPECIAL_PARAMS = frozenset("@*#?-$!0")


class ShellWordError(InvalidParameter):
    """A word that cannot be expanded (unterminated quote, bad substitution, ``${v:?}``)."""


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word with variables substituted and quotes removed (Docker's ProcessWord)."""
    return _Lexer(word, env, escape).process()[0]


def split_words(word: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """The words of ``word`` after substitution, split on unquoted whitespace.

    As Docker's ProcessWords: a variable's value is split on whitespace unless quoted,
    quotes are removed, and empty words are dropped.
    """
    return _Lexer(word, env, escape).process()[1]


def expand_raw(word: str, env: Mapping[str, str], escape: str = "\\", *,
               raw_quotes: bool = False, raw_escapes: bool = False,
               skip_unset: bool = False) -> tuple[str, list[str]]:
    """The lexer with buildkit's switches, for heredoc detection (quotes kept, unset
    variables left as written)."""
    lexer = _Lexer(word, env, escape, raw_quotes=raw_quotes, raw_escapes=raw_escapes,
                   skip_unset=skip_unset)
    return lexer.process()


class _Words:
    """Accumulates words: expanded text splits on whitespace, quoted text never does."""

    def __init__(self) -> None:
        self.word = ""
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word = ""
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def result(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, *,
                 raw_quotes: bool = False, raw_escapes: bool = False,
                 skip_unset: bool = False) -> None:
        if escape not in ("\\", "`"):
            raise ShellWordError(f"invalid escape token '{escape}' does not match ` or \\")
        self.text = text
        self.pos = 0
        self.env = env
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset

    # scanner
    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch

    def process(self) -> tuple[str, list[str]]:
        return self.process_stop_on("", self.raw_escapes)

    def process_stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while self.peek() != _EOF:
            ch = self.peek()
            if stop and ch == stop:
                self.next()
                return "".join(result), words.result()
            if ch == "'":
                text = self.single_quote()
                result.append(text)
                words.add_raw(text)
            elif ch == '"':
                text = self.double_quote()
                result.append(text)
                words.add_raw(text)
            elif ch == "$":
                text = self.dollar()
                result.append(text)
                words.add_string(text)
            else:
                ch = self.next()
                if ch == self.escape:
                    if raw_escapes:
                        result.append(ch)
                        words.add_raw(ch)
                    ch = self.next()
                    if ch == _EOF:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise ShellWordError(
                f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.result()

    def single_quote(self) -> str:
        opening = self.next()
        result = [opening] if self.raw_quotes else []
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ShellWordError(
                    "unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.raw_quotes:
                    result.append(ch)
                return "".join(result)
            result.append(ch)

    def double_quote(self) -> str:
        opening = self.next()
        result = [opening] if self.raw_quotes else []
        while True:
            ch = self.peek()
            if ch == _EOF:
                raise ShellWordError(
                    "unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                if self.raw_quotes:
                    result.append(ch)
                return "".join(result)
            if ch == "$":
                result.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                if self.raw_escapes:
                    result.append(ch)
                following = self.peek()
                if following == _EOF:
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.next()
            result.append(ch)

    def name(self) -> str:
        """A variable name: letters, digits, _; or digits; or one special parameter."""
        name = ""
        while self.peek() != _EOF:
            ch = self.peek()
            if not name and ch.isdigit():
                while self.peek() != _EOF and self.peek().isdigit():
                    name += self.next()
                return name
            if not name and ch in _SPECIAL_PARAMS:
                return self.next()
            if not (ch.isalpha() or ch.isdigit() or ch == "_"):
                break
            name += self.next()
        return name

    def lookup(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        return "", False

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.lookup(name)
            if not found and self.skip_unset:
                return "$" + name
            return value
        self.next()
        ch = self.peek()
        if ch == _EOF:
            raise ShellWordError("syntax error: missing '}'")
        if ch in "{}:":
            raise ShellWordError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        modifier = ch
        if ch == "}":
            value, found = self.lookup(name)
            if not found and self.skip_unset:
                return "${" + name + "}"
            return value
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch
        if ch in ("+", "-", "?", "#", "%"):
            word = self._until_brace(raw_escapes=ch in "#%")
            value, found = self.lookup(name)
            if self.skip_unset and not found:
                return "${" + name + modifier + word + "}"
            unset = not found or (null_is_unset and value == "")
            if ch == "-":
                return word if unset else value
            if ch == "+":
                return "" if unset else word
            if ch == "?":
                if not found:
                    raise ShellWordError(f"{name}: {word or 'is not allowed to be unset'}")
                if null_is_unset and value == "":
                    raise ShellWordError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            if null_is_unset:
                raise ShellWordError(f"unsupported modifier ({modifier}) in substitution")
            greedy = word.startswith(ch)
            if greedy:
                word = word[1:]
            return _trim(value, word, suffix=ch == "%", greedy=greedy)
        if ch == "/" and not null_is_unset:
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            pattern, _ = self.process_stop_on("/", True)
            replacement = self._until_brace(raw_escapes=False)
            value, found = self.lookup(name)
            if self.skip_unset and not found:
                sep = "//" if replace_all else "/"
                return "${" + name + sep + pattern + "/" + replacement + "}"
            return _replace(value, pattern, replacement, replace_all)
        if ch == _EOF:
            raise ShellWordError("syntax error: missing '}'")
        raise ShellWordError(f"unsupported modifier ({modifier}) in substitution")

    def _until_brace(self, raw_escapes: bool) -> str:
        try:
            return self.process_stop_on("}", raw_escapes)[0]
        except ShellWordError:
            if self.peek() == _EOF:
                raise ShellWordError("syntax error: missing '}'") from None
            raise


def _glob_regex(pattern: str, greedy: bool) -> str:
    """A sh pattern (``*``, ``?``, ``[..]``, ``\\x``) as a regex fragment."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*" if greedy else ".*?")
        elif ch == "?":
            out.append(".")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _trim(value: str, pattern: str, *, suffix: bool, greedy: bool) -> str:
    """``${v#p}``/``${v##p}`` (prefix) and ``${v%p}``/``${v%%p}`` (suffix) removal."""
    regex = re.compile(_glob_regex(pattern, True), re.DOTALL)
    candidates = range(len(value) + 1)
    if suffix:
        order = candidates if greedy else reversed(candidates)
        for start in order:
            if regex.fullmatch(value, start):
                return value[:start]
        return value
    order = reversed(candidates) if greedy else candidates
    for end in order:
        if regex.fullmatch(value, 0, end):
            return value[end:]
    return value


def _replace(value: str, pattern: str, replacement: str, replace_all: bool) -> str:
    if not pattern:
        return value
    regex = re.compile(_glob_regex(pattern, True), re.DOTALL)
    return regex.sub(lambda _m: replacement, value, count=0 if replace_all else 1)
