r"""The part of Go's regular-expression syntax (RE2) that BuildKit's patterns reach, for Python.

BuildKit turns a ``.dockerignore`` pattern into a Go regular expression by gluing pieces of
the pattern into a string (see ``dockerignore.buildkit_regex_source``) and handing it to Go's
``regexp.Compile``. The pattern's ``[...]`` classes and ``\x`` escapes reach that compiler
unchanged, so Go's rules decide what they mean: ``\d`` is a digit class, ``[[:alpha:]]`` a
POSIX class, ``\Q...\E`` quotes text, ``[z-a]`` is an error. Python's ``re`` reads several of
these differently (``[[:alpha:]]`` is a set plus a literal ``]``, ``$`` also matches before a
final newline, ``\d`` is Unicode-aware), so we parse the Go syntax ourselves into a tiny tree
and emit an equivalent Python expression.

Go's engine runs in linear time; Python's backtracks. Expressions with several unbounded
repeats (``a*b*c*d`` over a long name) can take exponential time in ``re``, so those are
matched by a small Thompson-NFA simulation instead (`LinearMatcher`). Both back ends see the
same tree, and the tests check that they agree.

Invalid UTF-8 in a path: Go decodes each bad byte to U+FFFD; Python's ``os.fsdecode`` maps it
to a lone surrogate U+DC80..U+DCFF. The emitted classes treat those surrogates exactly where
Go would see U+FFFD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

MAX_RUNE = 0x10FFFF
_SURROGATES = (0xD800, 0xDFFF)
_ESCAPED_BYTES = (0xDC80, 0xDCFF)
_REPLACEMENT = 0xFFFD
_UNBOUNDED_REPEATS_FOR_NFA = 3
_MAX_REPEAT = 1000

Ranges = tuple[tuple[int, int], ...]


class GoRegexError(ValueError):
    """Go's ``regexp.Compile`` rejects the expression (BuildKit reports ErrBadPattern)."""


class GoRegexUnsupported(GoRegexError):
    """Go accepts the expression but decruft cannot reproduce it (Unicode classes, flags)."""


@dataclass(frozen=True)
class Chars:
    """One rune out of a set of inclusive code-point ranges (Go rune space)."""

    ranges: Ranges


@dataclass(frozen=True)
class Assert:
    """A zero-width assertion: ``bot``/``eot`` (text start/end), ``wb``/``nwb`` (word boundary)."""

    kind: str


@dataclass(frozen=True)
class Group:
    """A parenthesised sub-sequence (Go's capture groups; captures do not matter here)."""

    items: tuple["Node", ...]


@dataclass(frozen=True)
class Alt:
    """Alternatives ``a|b|...``, each a sequence of nodes."""

    branches: tuple[tuple["Node", ...], ...]


@dataclass(frozen=True)
class Repeat:
    """``item`` repeated ``low`` to ``high`` times (``high`` None = unbounded)."""

    item: "Node"
    low: int
    high: int | None


Node = Union[Chars, Assert, Group, Alt, Repeat]

# Go's POSIX classes are ASCII-only (regexp/syntax/perl_groups.go).
_POSIX_CLASSES: dict[str, Ranges] = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0x00, 0x7F),),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": ((0x30, 0x39),),
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0D), (0x20, 0x20)),
    "upper": ((0x41, 0x5A),),
    "word": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
# Perl classes in Go are ASCII too; note Go's \s has no \v.
_PERL_CLASSES: dict[str, Ranges] = {
    "d": ((0x30, 0x39),),
    "s": ((0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)),
    "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
}
_C_ESCAPES = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_WORD_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")


# --------------------------------------------------------------------------- range helpers


def normalize(ranges) -> Ranges:
    """Sort and merge overlapping or touching ranges."""
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def negate(ranges: Ranges) -> Ranges:
    """The complement of ``ranges`` within 0..MAX_RUNE."""
    out, start = [], 0
    for lo, hi in normalize(ranges):
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= MAX_RUNE:
        out.append((start, MAX_RUNE))
    return tuple(out)


def _subtract(ranges: Ranges, cut: tuple[int, int]) -> list[tuple[int, int]]:
    """``ranges`` without the code points in ``cut``."""
    out = []
    for lo, hi in ranges:
        if hi < cut[0] or lo > cut[1]:
            out.append((lo, hi))
            continue
        if lo < cut[0]:
            out.append((lo, cut[0] - 1))
        if hi > cut[1]:
            out.append((cut[1] + 1, hi))
    return out


def python_ranges(ranges: Ranges) -> Ranges:
    """Go rune ranges as the Python code points that decode from the same bytes.

    Go never sees a surrogate (bad UTF-8 becomes U+FFFD); Python sees U+DC80..U+DCFF for
    the same bad bytes, so they belong to the set exactly when U+FFFD does.
    """
    kept = _subtract(normalize(ranges), _SURROGATES)
    if any(lo <= _REPLACEMENT <= hi for lo, hi in kept):
        kept.append(_ESCAPED_BYTES)
    return normalize(kept)


def _contains(ranges: Ranges, code: int) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


# --------------------------------------------------------------------------- parser


class _Parser:
    """Reads a Go regular expression (Perl flags, as ``regexp.Compile``) into `Node`s."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0

    def parse(self) -> tuple[Node, ...]:
        # Each open group is a list of alternatives; nodes go to the last one.
        stack: list[list[list[Node]]] = [[[]]]
        last_was_repeat = False
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            items = stack[-1][-1]
            if ch in "*+?":
                self._repeat(items, ch, last_was_repeat)
                last_was_repeat = True
                continue
            if ch == "{" and self._brace_repeat(items, last_was_repeat):
                last_was_repeat = True
                continue
            last_was_repeat = False
            self.pos += 1
            if ch == "(":
                if self.src.startswith("?", self.pos):
                    raise GoRegexUnsupported("regexp flags or named groups '(?' are not supported")
                stack.append([[]])
            elif ch == ")":
                if len(stack) == 1:
                    raise GoRegexError("unexpected ): " + repr(self.src))
                group = stack.pop()
                stack[-1][-1].append(Group(_alternatives(group)))
            elif ch == "|":
                stack[-1].append([])
            else:
                self.pos -= 1
                items.extend(self._atom(ch))
        if len(stack) != 1:
            raise GoRegexError("missing closing ): " + repr(self.src))
        return _alternatives(stack[0])

    def _atom(self, ch: str) -> list[Node]:
        """One literal, class, anchor or escape at the current position."""
        if ch == "[":
            return [Chars(self._class())]
        if ch == "\\":
            return self._backslash()
        self.pos += 1
        if ch == "^":
            return [Assert("bot")]
        if ch == "$":
            return [Assert("eot")]
        if ch == ".":
            return [Chars(((0, 9), (11, MAX_RUNE)))]
        return [Chars(((ord(ch), ord(ch)),))]

    # -- repetition

    def _repeat(self, items: list[Node], op: str, stacked: bool) -> None:
        """``*``, ``+``, ``?`` (with an optional lazy ``?``, which does not change a match)."""
        start = self.pos
        self.pos += 1
        if self.pos < len(self.src) and self.src[self.pos] == "?":
            self.pos += 1
        if stacked:
            raise GoRegexError(f"invalid nested repetition operator: {self.src[start:self.pos]!r}")
        if not items:
            raise GoRegexError(f"missing argument to repetition operator: {op!r}")
        low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[op]
        items[-1] = Repeat(items[-1], low, high)

    def _brace_repeat(self, items: list[Node], stacked: bool) -> bool:
        """``{n}``, ``{n,}``, ``{n,m}``; anything else makes ``{`` a literal (Go's rule)."""
        found = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.src, self.pos)
        if not found:
            return False
        low = int(found.group(1))
        high = low if found.group(2) is None else (int(found.group(3)) if found.group(3) else None)
        if low > _MAX_REPEAT or (high is not None and (high > _MAX_REPEAT or high < low)):
            raise GoRegexError(f"invalid repeat count: {found.group(0)!r}")
        self.pos = found.end()
        if self.pos < len(self.src) and self.src[self.pos] == "?":
            self.pos += 1
        if stacked:
            raise GoRegexError(f"invalid nested repetition operator: {found.group(0)!r}")
        if not items:
            raise GoRegexError(f"missing argument to repetition operator: {found.group(0)!r}")
        items[-1] = Repeat(items[-1], low, high)
        return True

    # -- escapes outside classes

    def _backslash(self) -> list[Node]:
        """An escape outside a class: assertions, ``\\Q..\\E``, Perl/Unicode classes, runes."""
        nxt = self.src[self.pos + 1 : self.pos + 2]
        simple = {"A": Assert("bot"), "z": Assert("eot"), "b": Assert("wb"), "B": Assert("nwb")}
        if nxt in simple:
            self.pos += 2
            return [simple[nxt]]
        if nxt == "C":
            raise GoRegexError("invalid escape sequence: '\\C'")
        if nxt == "Q":
            end = self.src.find("\\E", self.pos + 2)
            literal = self.src[self.pos + 2 :] if end < 0 else self.src[self.pos + 2 : end]
            self.pos = len(self.src) if end < 0 else end + 2
            return [Chars(((ord(c), ord(c)),)) for c in literal]
        perl = self._perl_class()
        if perl is not None:
            return [Chars(perl)]
        code = self._escape()
        return [Chars(((code, code),))]

    def _perl_class(self) -> Ranges | None:
        """``\\d \\D \\s \\S \\w \\W`` at the current position (``\\p`` is refused)."""
        letter = self.src[self.pos + 1 : self.pos + 2]
        if letter in ("p", "P"):
            raise GoRegexUnsupported(f"Unicode class '\\{letter}' is not supported")
        if letter.lower() not in _PERL_CLASSES or not letter:
            return None
        self.pos += 2
        ranges = _PERL_CLASSES[letter.lower()]
        return negate(ranges) if letter.isupper() else ranges

    def _escape(self) -> int:
        """One escaped rune (Go's ``parseEscape``): octal, hex, C escapes, punctuation."""
        start = self.pos
        self.pos += 1
        if self.pos >= len(self.src):
            raise GoRegexError("trailing backslash at end of expression")
        ch = self.src[self.pos]
        self.pos += 1
        if ord(ch) < 0x80 and not ch.isalnum():
            return ord(ch)
        if ch in "01234567":
            return self._octal(ch, start)
        if ch == "x":
            return self._hex(start)
        if ch in _C_ESCAPES:
            return _C_ESCAPES[ch]
        raise GoRegexError(f"invalid escape sequence: {self.src[start:self.pos]!r}")

    def _octal(self, first: str, start: int) -> int:
        """``\\0``, ``\\12``, ``\\123``; a lone ``\\1``..``\\7`` is a backreference (refused)."""
        if first != "0" and not self._at_octal_digit():
            raise GoRegexError(f"invalid escape sequence: {self.src[start:self.pos]!r}")
        value = int(first)
        for _ in range(2):
            if not self._at_octal_digit():
                break
            value = value * 8 + int(self.src[self.pos])
            self.pos += 1
        return value

    def _at_octal_digit(self) -> bool:
        return self.pos < len(self.src) and self.src[self.pos] in "01234567"

    def _hex(self, start: int) -> int:
        """``\\xHH`` or ``\\x{H...}`` (at least one digit, at most U+10FFFF)."""
        bad = GoRegexError(f"invalid escape sequence: {self.src[start:self.pos + 1]!r}")
        if self.src.startswith("{", self.pos):
            close = self.src.find("}", self.pos)
            digits = self.src[self.pos + 1 : close] if close > 0 else ""
            if not digits or not re.fullmatch(r"[0-9A-Fa-f]+", digits) or int(digits, 16) > MAX_RUNE:
                raise bad
            self.pos = close + 1
            return int(digits, 16)
        digits = self.src[self.pos : self.pos + 2]
        if not re.fullmatch(r"[0-9A-Fa-f]{2}", digits):
            raise bad
        self.pos += 2
        return int(digits, 16)

    # -- classes

    def _class(self) -> Ranges:
        """A ``[...]`` class, following Go's ``parseClass`` (Perl flags: ``-`` allowed anywhere)."""
        start = self.pos
        self.pos += 1
        negated = self.src.startswith("^", self.pos)
        if negated:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while first or not self.src.startswith("]", self.pos):
            if self.pos >= len(self.src):
                raise GoRegexError(f"missing closing ]: {self.src[start:]!r}")
            first = False
            named = self._posix_class()
            if named is None:
                named = self._perl_class() if self.src.startswith("\\", self.pos) else None
            if named is not None:
                ranges.extend(named)
                continue
            ranges.append(self._class_range())
        self.pos += 1
        return negate(tuple(ranges)) if negated else normalize(ranges)

    def _posix_class(self) -> Ranges | None:
        """``[:name:]`` or ``[:^name:]`` inside a class; None when the text is not one."""
        if not self.src.startswith("[:", self.pos):
            return None
        close = self.src.find(":]", self.pos + 2)
        if close < 0:
            return None
        name = self.src[self.pos + 2 : close]
        negated = name.startswith("^")
        ranges = _POSIX_CLASSES.get(name.lstrip("^") if negated else name)
        if ranges is None:
            raise GoRegexError(f"invalid character class range: {self.src[self.pos:close + 2]!r}")
        self.pos = close + 2
        return negate(ranges) if negated else ranges

    def _class_range(self) -> tuple[int, int]:
        """``a`` or ``a-z`` inside a class; ``-`` before ``]`` is a literal."""
        start = self.pos
        lo = self._class_char()
        hi = lo
        if self.src.startswith("-", self.pos) and self.pos + 1 < len(self.src) and self.src[self.pos + 1] != "]":
            self.pos += 1
            hi = self._class_char()
            if hi < lo:
                raise GoRegexError(f"invalid character class range: {self.src[start:self.pos]!r}")
        return (lo, hi)

    def _class_char(self) -> int:
        if self.pos >= len(self.src):
            raise GoRegexError("missing closing ]")
        if self.src[self.pos] == "\\":
            return self._escape()
        self.pos += 1
        return ord(self.src[self.pos - 1])


def _alternatives(branches: list[list[Node]]) -> tuple[Node, ...]:
    if len(branches) == 1:
        return tuple(branches[0])
    return (Alt(tuple(tuple(b) for b in branches)),)


def parse(source: str) -> tuple[Node, ...]:
    """Parse a Go regular expression; raise `GoRegexError` where Go's compiler would."""
    return _Parser(source).parse()


# --------------------------------------------------------------------------- Python back end


def _python_class(ranges: Ranges) -> str:
    mapped = python_ranges(ranges)
    if not mapped:
        return "(?!)"
    if len(mapped) == 1 and mapped[0][0] == mapped[0][1]:
        return re.escape(chr(mapped[0][0]))
    missing = negate(mapped)
    if not missing:
        return r"[\s\S]"
    # "[^/]" compiles far faster than the same set spelled as ranges up to U+10FFFF.
    if len(missing) < len(mapped):
        return "[^" + _class_body(missing) + "]"
    return "[" + _class_body(mapped) + "]"


def _class_body(ranges: Ranges) -> str:
    return "".join(
        f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges
    )


def to_python(items: tuple[Node, ...]) -> str:
    """Python ``re`` source (compile with ``re.ASCII``) that matches what Go's would."""
    return "".join(_python_node(node) for node in items)


def _python_node(node: Node) -> str:
    if isinstance(node, Chars):
        return _python_class(node.ranges)
    if isinstance(node, Assert):
        return {"bot": r"\A", "eot": r"\Z", "wb": r"\b", "nwb": r"\B"}[node.kind]
    if isinstance(node, Group):
        return "(?:" + to_python(node.items) + ")"
    if isinstance(node, Alt):
        return "(?:" + "|".join(to_python(branch) for branch in node.branches) + ")"
    high = "" if node.high is None else str(node.high)
    return f"(?:{_python_node(node.item)}){{{node.low},{high}}}"


def unbounded_repeats(items: tuple[Node, ...]) -> int:
    """How many ``*``/``+``-style repeats the expression has (backtracking risk)."""
    count = 0
    for node in items:
        if isinstance(node, Group):
            count += unbounded_repeats(node.items)
        elif isinstance(node, Alt):
            count += sum(unbounded_repeats(branch) for branch in node.branches)
        elif isinstance(node, Repeat):
            count += (node.high is None) + unbounded_repeats((node.item,))
    return count


# --------------------------------------------------------------------------- linear back end


class LinearMatcher:
    """Thompson-NFA simulation of a parsed expression: linear in the path length.

    States are tuples ``(op, arg, next, alt)``: ``("chars", ranges, n)``, ``("assert", kind,
    n)``, ``("split", None, a, b)`` and ``("match",)``. Like Go's ``MatchString`` it looks for
    a match anywhere; BuildKit's expressions anchor themselves with ``^``/``$``.
    """

    def __init__(self, items: tuple[Node, ...]) -> None:
        self.states: list[tuple] = [("match",)]
        self.start = self._build_seq(items, 0)

    def _add(self, state: tuple) -> int:
        self.states.append(state)
        return len(self.states) - 1

    def _build_seq(self, items: tuple[Node, ...], nxt: int) -> int:
        for node in reversed(items):
            nxt = self._build(node, nxt)
        return nxt

    def _build(self, node: Node, nxt: int) -> int:
        if isinstance(node, Chars):
            return self._add(("chars", python_ranges(node.ranges), nxt))
        if isinstance(node, Assert):
            return self._add(("assert", node.kind, nxt))
        if isinstance(node, Group):
            return self._build_seq(node.items, nxt)
        if isinstance(node, Alt):
            starts = [self._build_seq(branch, nxt) for branch in node.branches]
            head = starts[-1]
            for start in reversed(starts[:-1]):
                head = self._add(("split", None, start, head))
            return head
        return self._build_repeat(node, nxt)

    def _build_repeat(self, node: Repeat, nxt: int) -> int:
        tail = nxt
        if node.high is None:
            loop = self._add(("split", None, -1, nxt))
            body = self._build(node.item, loop)
            self.states[loop] = ("split", None, body, nxt)
            tail = loop
        else:
            for _ in range(node.high - node.low):
                tail = self._add(("split", None, self._build(node.item, tail), nxt))
        for _ in range(node.low):
            tail = self._build(node.item, tail)
        return tail

    def _closure(self, seeds: list[int], text: str, pos: int) -> set[int]:
        seen: set[int] = set()
        todo = list(seeds)
        while todo:
            index = todo.pop()
            if index in seen:
                continue
            seen.add(index)
            state = self.states[index]
            if state[0] == "split":
                todo.extend((state[2], state[3]))
            elif state[0] == "assert" and _assertion_holds(state[1], text, pos):
                todo.append(state[2])
        return seen

    def search(self, text: str) -> bool:
        """True when the expression matches somewhere in ``text``."""
        current: set[int] = set()
        for pos in range(len(text) + 1):
            current = self._closure([*current, self.start], text, pos)
            if 0 in current:
                return True
            if pos == len(text):
                break
            code = ord(text[pos])
            current = {
                self.states[i][2]
                for i in current
                if self.states[i][0] == "chars" and _contains(self.states[i][1], code)
            }
        return False


def _assertion_holds(kind: str, text: str, pos: int) -> bool:
    if kind == "bot":
        return pos == 0
    if kind == "eot":
        return pos == len(text)
    before = pos > 0 and text[pos - 1] in _WORD_CHARS
    after = pos < len(text) and text[pos] in _WORD_CHARS
    return (before != after) == (kind == "wb")


def python_source(source: str) -> str | None:
    """The Python ``re`` source for a Go expression, or None when only `LinearMatcher` is
    safe for it (too many unbounded repeats). Raises `GoRegexError` like `parse`."""
    items = parse(source)
    if unbounded_repeats(items) >= _UNBOUNDED_REPEATS_FOR_NFA:
        return None
    return to_python(items)


def compile_go_regex(source: str, *, force_linear: bool = False) -> Callable[[str], bool]:
    """A predicate ``text -> bool`` with Go's ``regexp.MatchString`` meaning.

    Raises `GoRegexError` where Go's ``regexp.Compile`` fails.
    """
    items = parse(source)
    if force_linear or unbounded_repeats(items) >= _UNBOUNDED_REPEATS_FOR_NFA:
        return LinearMatcher(items).search
    compiled = re.compile(to_python(items), re.ASCII)
    return lambda text: compiled.search(text) is not None
