"""BuildKit's word lexer: quotes, escapes and ``$VAR`` expansion in Dockerfile arguments.

Hand-written because BuildKit's lexer (``frontend/dockerfile/shell/lex.go``) is not
POSIX shell: it expands only ``$V``/``${V}`` and a few modifiers, keeps unknown
``${...}`` forms as errors, treats the Dockerfile escape character (backslash or
backtick) as the escape, and splits words *after* expansion.  ``shlex`` and the
shell parsers (bashlex, tree-sitter) implement real shells and would disagree on
exactly the cases that decide what BuildKit does (heredoc names, ARG values,
image references).  This module mirrors BuildKit's behaviour, including its
quirks, and is checked against BuildKit's own parser in the oracle tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Go's unicode.IsSpace: Python's str.isspace() also counts \x1c-\x1f, Go does not.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_GO_SPACE_SET = frozenset(GO_SPACE)
_SPECIAL_PARAMS = frozenset("@*#?-$!0")


class ExpansionError(ValueError):
    """A ``${...}`` form BuildKit rejects, or an unterminated quote."""


@dataclass(slots=True)
class Expansion:
    """Result of processing one string: the joined result and the split words."""

    result: str
    words: list[str]
    used: set[str] = field(default_factory=set)
    unset: set[str] = field(default_factory=set)


class _Words:
    __slots__ = ("words", "word", "in_word")

    def __init__(self) -> None:
        self.words: list[str] = []
        self.word = ""
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch in _GO_SPACE_SET:
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word = ""
                self.in_word = False
        else:
            self.word += ch
            self.in_word = True

    def add_raw(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def finish(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


class _Lexer:
    """One pass over one string; state mirrors BuildKit's shellWord."""

    def __init__(
        self,
        text: str,
        env: dict[str, str] | None,
        escape: str,
        raw_quotes: bool,
        raw_escapes: bool,
        skip_unset: bool,
    ) -> None:
        self.text = text
        self.pos = 0
        self.env = env or {}
        self.escape = escape
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset
        self.used: set[str] = set()
        self.unset: set[str] = set()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        if self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            return ch
        return ""

    def getenv(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.used.add(name)
            return self.env[name], True
        self.unset.add(name)
        return "", False

    def process_until(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            return self._process_until(stop)
        finally:
            self.raw_escapes = saved

    def _process_until(self, stop: str) -> tuple[str, list[str]]:
        out: list[str] = []
        words = _Words()
        text = self.text
        n = len(text)
        while self.pos < n:
            ch = text[self.pos]
            if stop and ch == stop:
                self.pos += 1
                return "".join(out), words.finish()
            if ch == "$":
                value = self.dollar()
                out.append(value)
                words.add_string(value)
            elif ch == "'":
                value = self.single_quote()
                out.append(value)
                words.add_raw(value)
            elif ch == '"':
                value = self.double_quote()
                out.append(value)
                words.add_raw(value)
            else:
                self.pos += 1
                if ch == self.escape:
                    if self.raw_escapes:
                        words.add_raw(ch)
                        out.append(ch)
                    if self.pos >= n:
                        break
                    ch = text[self.pos]
                    self.pos += 1
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                out.append(ch)
        if stop:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(out), words.finish()

    def single_quote(self) -> str:
        out = []
        ch = self.next()
        if self.raw_quotes:
            out.append(ch)
        while True:
            ch = self.next()
            if ch == "":
                raise ExpansionError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        out = []
        ch = self.next()
        if self.raw_quotes:
            out.append(ch)
        while True:
            ch = self.peek()
            if ch == "":
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                if self.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                if self.raw_escapes:
                    out.append(ch)
                following = self.peek()
                if following == "":
                    continue
                if following in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        text = self.text
        start = self.pos
        if start < len(text):
            first = text[start]
            if first.isdigit():
                while self.pos < len(text) and text[self.pos].isdigit():
                    self.pos += 1
                return text[start : self.pos]
            if first in _SPECIAL_PARAMS:
                self.pos += 1
                return first
        while self.pos < len(text):
            ch = text[self.pos]
            if not (ch.isalpha() or ch.isdigit() or ch == "_"):
                break
            self.pos += 1
        return text[start : self.pos]

    def dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value, found = self.getenv(name)
            if not found and self.skip_unset:
                return "$" + name
            return value
        self.next()
        ch = self.peek()
        if ch == "":
            raise ExpansionError("syntax error: missing '}'")
        if ch in "{}:":
            raise ExpansionError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        modifier = ch
        null_is_unset = False
        if ch == "}":
            value, found = self.getenv(name)
            if not found and self.skip_unset:
                return "${" + name + "}"
            return value
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch
        if ch in ("+", "-", "?", "#", "%") or null_is_unset:
            try:
                word, _ = self.process_until("}", ch in "#%")
            except ExpansionError:
                if self.peek() == "":
                    raise ExpansionError("syntax error: missing '}'") from None
                raise
            value, found = self.getenv(name)
            if self.skip_unset and not found:
                return "${" + name + modifier + word + "}"
            empty = not found or (null_is_unset and value == "")
            if ch == "-":
                return word if empty else value
            if ch == "+":
                return "" if empty else word
            if ch == "?":
                if not found:
                    raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
                if null_is_unset and value == "":
                    raise ExpansionError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            if ch not in ("#", "%"):
                raise ExpansionError(f"unsupported modifier ({modifier}) in substitution")
            greedy = bool(word) and word[0] == ch
            if greedy:
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        if ch == "/":
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            try:
                pattern, _ = self.process_until("/", True)
            except ExpansionError:
                if self.peek() == "":
                    raise ExpansionError("syntax error: missing '/' in ${}") from None
                raise
            try:
                replacement, _ = self.process_until("}", True)
            except ExpansionError:
                if self.peek() == "":
                    raise ExpansionError("syntax error: missing '}'") from None
                raise
            value, found = self.getenv(name)
            if self.skip_unset and not found:
                return "${" + name + "/" + pattern + "/" + replacement + "}"
            regex = _shell_pattern(pattern, greedy=True, anchored=False)
            if replace_all:
                return regex.sub(lambda _m: replacement, value)
            return regex.sub(lambda _m: replacement, value, count=1)
        raise ExpansionError(f"unsupported modifier ({modifier}) in substitution")


def _shell_pattern(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            following = pattern[i] if i < len(pattern) else ""
            if following in ("}", "/"):
                continue
            if following not in ("*", "?", "\\"):
                raise ExpansionError(f"invalid escape '\\{following}'")
            out.append(re.escape(following))
            i += 1
        else:
            out.append(re.escape(ch))
    try:
        return re.compile("".join(out), re.S)
    except re.error as exc:  # pragma: no cover - escaped input always compiles
        raise ExpansionError(str(exc)) from None


def _trim_prefix(word: str, value: str, greedy: bool) -> str:
    match = _shell_pattern(word, greedy=greedy, anchored=True).search(value)
    return value[match.end() :] if match else value


def _trim_suffix(word: str, value: str, greedy: bool) -> str:
    # Match the reversed pattern against the reversed value, as BuildKit does.
    reversed_pattern = _reverse_pattern(word)
    match = _shell_pattern(reversed_pattern, greedy=greedy, anchored=True).search(value[::-1])
    return value[: len(value) - match.end()] if match else value


def _reverse_pattern(pattern: str) -> str:
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i : i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def process(
    text: str,
    env: dict[str, str] | None = None,
    *,
    escape: str = "\\",
    raw_quotes: bool = False,
    raw_escapes: bool = False,
    skip_unset: bool = False,
) -> Expansion:
    """Expand ``text`` as BuildKit's ``Lex.process`` does; raises ExpansionError."""
    lexer = _Lexer(text, env, escape, raw_quotes, raw_escapes, skip_unset)
    result, words = lexer.process_until("", raw_escapes)
    return Expansion(result, words, lexer.used, lexer.unset)
