"""The lossless syntax tree of a Dockerfile.

Every node keeps offsets into the original text, so the file can be printed back
byte for byte and any node can be located (line and column) or replaced in place.
Derived views (words, JSON arguments, typed accessors) are computed on demand so
that parsing stays cheap.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Iterator

from decruft.dockerfile.words import GO_SPACE

if TYPE_CHECKING:
    from decruft.shell import ShellScript

# Instructions whose value BuildKit splits on whitespace (parseMaybeJSONToList and friends).
_ASCII_WS_RUN = re.compile(r"[\t\v\f\r ]+")


@dataclass(slots=True, frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based, in characters


@dataclass(slots=True, frozen=True)
class Span:
    """A half-open range of offsets into ``Dockerfile.text``."""

    start: int
    end: int


@dataclass(slots=True, frozen=True)
class Directive:
    """A parser directive (``# syntax=``, ``# escape=``, ``# check=``) BuildKit honoured."""

    name: str
    value: str
    line: int
    span: Span


@dataclass(slots=True, eq=False)
class Flag:
    """An instruction flag such as ``--mount=type=cache,target=/root/.cache``.

    ``raw`` is exactly what BuildKit's flag extractor yields (quotes removed);
    ``value`` is ``None`` for a bare ``--link``.
    """

    raw: str
    name: str
    value: str | None
    span: Span


@dataclass(slots=True, eq=False)
class Heredoc:
    """A here-document attached to RUN, COPY or ADD (also inside ONBUILD)."""

    name: str
    fd: int
    chomp: bool  # <<- strips leading tabs
    expand: bool  # False when the delimiter was quoted
    content: str  # BuildKit's content: body lines with their own line endings
    body: Span  # the body lines, without the terminator line
    terminator: Span  # the terminator line including its ending

    @property
    def text(self) -> str:
        """The content as the command sees it (leading tabs removed for ``<<-``)."""
        if not self.chomp:
            return self.content
        return "".join(line.lstrip("\t") for line in self.content.splitlines(keepends=True))


@dataclass(slots=True, eq=False)
class Comment:
    """A comment or blank line outside instructions (trivia)."""

    text: str
    line: int
    span: Span


_UNSET: object = object()
# Bound on first use (those modules import this one); an import statement per call costs
# about as much as the cached lookup it guards.
_parser_buildkit_value = None
_script_for_instruction = None


class Instruction:
    """One Dockerfile instruction with every physical line it spans.

    ``logical_line`` is BuildKit's ``Original``: the continuation lines joined,
    comment lines inside the continuation dropped.  ``_segments`` maps offsets in
    the logical line back to offsets in the source text.  A slotted class with
    hand-made caches: parsing creates thousands of these per second.
    """

    __slots__ = (
        "dockerfile", "keyword", "keyword_raw", "span", "start_line", "end_line",
        "logical_line", "_segments", "flags", "args", "args_offset", "heredocs",
        "onbuild_inner", "stage_index", "_json_args", "_buildkit_value", "_words", "_shell",
    )  # fmt: skip

    def __init__(
        self,
        dockerfile: "Dockerfile",
        keyword: str,
        keyword_raw: str,
        start_line: int,
        logical_line: str,
        segments: list[tuple[int, int]],
        flags: list[Flag],
        args: str,
        args_offset: int,
    ) -> None:
        self.dockerfile = dockerfile
        self.keyword = keyword  # upper-case: RUN, COPY, ...
        self.keyword_raw = keyword_raw  # as written
        self.span = Span(0, 0)  # whole physical lines, heredoc bodies and final ending included
        self.start_line = start_line
        self.end_line = start_line
        self.logical_line = logical_line
        self._segments = segments
        self.flags = flags
        self.args = args  # argument text after the flags, trimmed (BuildKit's ``rest``)
        self.args_offset = args_offset  # offset of ``args`` in the logical line
        self.heredocs: list[Heredoc] = []
        self.onbuild_inner: Instruction | None = None
        self.stage_index = -1  # set by the model; -1 for ARGs before the first FROM
        self._json_args: object = _UNSET
        self._buildkit_value: list[str] | None = None
        self._words: list[str] | None = None
        self._shell: object = _UNSET

    # ------------------------------------------------------------------ positions
    def source_offset(self, logical_offset: int) -> int:
        """Offset in ``Dockerfile.text`` of a character of ``logical_line``."""
        segments = self._segments
        if len(segments) == 1:
            return segments[0][1] + logical_offset
        index = bisect.bisect_right(segments, (logical_offset, 1 << 62)) - 1
        logical_start, source_start = segments[max(index, 0)]
        return source_start + (logical_offset - logical_start)

    def logical_span(self, start: int, end: int) -> Span:
        """Source span of ``logical_line[start:end]`` (end exclusive)."""
        if end <= start:
            offset = self.source_offset(start)
            return Span(offset, offset)
        return Span(self.source_offset(start), self.source_offset(end - 1) + 1)

    @property
    def args_span(self) -> Span:
        return self.logical_span(self.args_offset, self.args_offset + len(self.args))

    @property
    def source(self) -> str:
        """The exact source text of the instruction (all its lines)."""
        return self.dockerfile.text[self.span.start : self.span.end]

    @property
    def position(self) -> Position:
        return self.dockerfile.position(self.keyword_span.start)

    @property
    def keyword_span(self) -> Span:
        lead = len(self.logical_line) - len(self.logical_line.lstrip(GO_SPACE))
        return self.logical_span(lead, lead + len(self.keyword_raw))

    # ------------------------------------------------------------------ flags
    @property
    def buildkit_flags(self) -> list[str]:
        """The flags exactly as BuildKit's parser lists them (node.Flags)."""
        return [flag.raw for flag in self.flags]

    def flag(self, name: str) -> Flag | None:
        """The last flag with this name (BuildKit keeps the last for single-value flags)."""
        found = None
        for flag in self.flags:
            if flag.name == name:
                found = flag
        return found

    def flag_values(self, name: str) -> list[str]:
        return [flag.value or "" for flag in self.flags if flag.name == name]

    def flag_value(self, name: str, default: str | None = None) -> str | None:
        flag = self.flag(name)
        if flag is None:
            return default
        return flag.value if flag.value is not None else "true"

    # ------------------------------------------------------------------ arguments
    @property
    def json_args(self) -> list[str] | None:
        """The exec-form arguments, or None in shell form (invalid JSON is shell form)."""
        cached = self._json_args
        if cached is _UNSET:
            cached = None
            if self.keyword in _JSON_CAPABLE and "[" in self.args:
                text = self.args
                if self.keyword == "HEALTHCHECK":
                    text = _after_first_word(text)
                cached = parse_json_array(text)
            self._json_args = cached
        return cached  # type: ignore[return-value]

    @property
    def is_json(self) -> bool:
        return self.json_args is not None

    @property
    def buildkit_value(self) -> list[str]:
        """The argument list exactly as BuildKit's parser produces it (its Next chain)."""
        if self._buildkit_value is None:
            global _parser_buildkit_value
            if _parser_buildkit_value is None:
                from decruft.dockerfile.parser import buildkit_value as _parser_buildkit_value
            self._buildkit_value = _parser_buildkit_value(self)
        return self._buildkit_value

    @property
    def shell_form(self) -> bool:
        return self.keyword in _JSON_CAPABLE and not self.is_json

    @property
    def words(self) -> list[str]:
        """Whitespace-separated words (COPY/ADD sources and destination, EXPOSE ports...)."""
        if self._words is None:
            json_args = self.json_args
            self._words = list(json_args) if json_args is not None else split_ascii_whitespace(self.args)
        return self._words

    @property
    def shell(self) -> "ShellScript | None":
        """The RUN body parsed as shell (shell form or heredoc bodies), else None."""
        if self._shell is _UNSET:
            global _script_for_instruction
            if _script_for_instruction is None:
                from decruft.shell import script_for_instruction as _script_for_instruction
            self._shell = _script_for_instruction(self)
        return self._shell  # type: ignore[return-value]

    @property
    def effective(self) -> "Instruction":
        """ONBUILD's trigger, or the instruction itself."""
        return self.onbuild_inner or self

    def __repr__(self) -> str:
        return f"<Instruction {self.keyword} lines {self.start_line}-{self.end_line}>"


_JSON_CAPABLE = frozenset(
    {"RUN", "CMD", "ENTRYPOINT", "SHELL", "ADD", "COPY", "VOLUME", "HEALTHCHECK"}
)


def _after_first_word(text: str) -> str:
    index = 0
    while index < len(text) and not text[index].isspace():
        index += 1
    return text[index:].lstrip()


class NotStringArray(ValueError):
    """A JSON array with non-string members: BuildKit fails the build."""


def _reject_constant(name: str) -> None:
    raise ValueError(name)


_JSON = json.JSONDecoder(parse_constant=_reject_constant)
_SURROGATES = re.compile("[\ud800-\udfff]")


def parse_json_array(text: str) -> list[str] | None:
    """BuildKit's parseJSON: a JSON array of strings, None when not JSON at all.

    Raises NotStringArray for valid JSON arrays holding non-strings.
    """
    stripped = text.lstrip(GO_SPACE)
    if not stripped.startswith("["):
        return None
    try:
        # Go's json.Decoder.Decode reads one value and ignores what follows it.
        value, _end = _JSON.raw_decode(stripped)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list):
        return None
    for item in value:
        if not isinstance(item, str):
            raise NotStringArray(
                "when using JSON array syntax, arrays must be comprised of strings only"
            )
    # Go turns lone surrogates and invalid UTF-8 inside JSON strings into U+FFFD.
    return [_SURROGATES.sub("\ufffd", item) if _SURROGATES.search(item) else item for item in value]


def split_ascii_whitespace(text: str) -> list[str]:
    """Go's ``regexp.MustCompile(`[\\t\\v\\f\\r ]+`).Split`` as BuildKit applies it."""
    if not text:
        return []
    return _ASCII_WS_RUN.split(text)


class Dockerfile:
    """A parsed Dockerfile: the exact text plus its instructions and directives."""

    def __init__(
        self,
        text: str,
        path: str | None,
        *,
        bom: bool,
        escape: str,
        directives: list[Directive],
        line_starts: list[int],
    ) -> None:
        self.text = text
        self.path = path
        self.bom = bom
        self.escape = escape
        self.directives = directives
        self.line_starts = line_starts
        self.instructions: list[Instruction] = []
        self.warnings: list[str] = []

    # ------------------------------------------------------------------ output
    def to_bytes(self) -> bytes:
        return self.text.encode("utf-8", "surrogateescape")

    def __str__(self) -> str:
        return self.text

    # ------------------------------------------------------------------ positions
    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def position(self, offset: int) -> Position:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        index = max(index, 0)
        return Position(index + 1, offset - self.line_starts[index] + 1)

    def line_text(self, line: int) -> str:
        """Physical line ``line`` (1-based) without its ending."""
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    # ------------------------------------------------------------------ queries
    def directive(self, name: str) -> Directive | None:
        for directive in self.directives:
            if directive.name == name:
                return directive
        return None

    def comments(self) -> Iterator[Comment]:
        """Comment and blank lines outside instructions, in order."""
        boundaries = [(ins.start_line, ins.end_line) for ins in self.instructions]
        next_index = 0
        line = 1
        total = self.line_count
        while line <= total:
            if next_index < len(boundaries) and line == boundaries[next_index][0]:
                line = boundaries[next_index][1] + 1
                next_index += 1
                continue
            start = self.line_starts[line - 1]
            end = self.line_starts[line] if line < total else len(self.text)
            yield Comment(self.line_text(line), line, Span(start, end))
            line += 1

    @cached_property
    def model(self):  # -> decruft.dockerfile.model.Model
        from decruft.dockerfile.model import build_model

        return build_model(self)

    def __repr__(self) -> str:
        return f"<Dockerfile {self.path or '<string>'} {len(self.instructions)} instructions>"
