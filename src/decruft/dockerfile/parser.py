"""Lossless Dockerfile parser with BuildKit's line semantics.

Hand-written because no Python library is lossless or exact (see NOTES §6): the
``dockerfile`` package wraps BuildKit's Go parser but drops comments and spans and
is x86_64-only; ``dockerfile-parse`` breaks on heredocs and empty continuation
lines.  The algorithm follows BuildKit's ``parser.Parse`` step by step (line
scanner, directive parser, continuation regex, comment stripping inside
continuations, heredoc reading, flag extraction, per-instruction argument
parsers), and keeps source offsets for every node so printing is byte-exact.
"""

from __future__ import annotations

import bisect
import re

from decruft.dockerfile.nodes import (
    Directive,
    Dockerfile,
    Flag,
    Heredoc,
    Instruction,
    NotStringArray,
    Span,
    parse_json_array,
    split_ascii_whitespace,
)
from decruft.dockerfile.words import GO_SPACE, ExpansionError, process
from decruft.errors import DockerfileSyntaxError

MAX_LINE_BYTES = 64 * 1024  # bufio.Scanner's MaxScanTokenSize
_GO_SPACE_SET = frozenset(GO_SPACE)
_RE_SPACE = "[\t\n\f\r ]"  # RE2's \s
_DIRECTIVE = re.compile(
    rf"#{_RE_SPACE}*([a-zA-Z][a-zA-Z0-9]*){_RE_SPACE}*={_RE_SPACE}*(.+?){_RE_SPACE}*\Z"
)
_HEREDOC_WORD = re.compile(r"([0-9]*)<<(-?)([^<]*)\Z")
_CMD_SPLIT = re.compile(r"[\t\v\f\r ]+")
_GO_WORD = re.compile(f"[^{re.escape(GO_SPACE)}]+")
VALID_DIRECTIVES = ("syntax", "escape", "check")
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
_BOM = "\ufeff"


def parse(source: str | bytes, path: str | None = None) -> Dockerfile:
    """Parse a Dockerfile; raises DockerfileSyntaxError for anything BuildKit rejects."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        text = bytes(source).decode("utf-8", "surrogateescape")
    else:
        text = source
    return _Parser(text, path).run()


class _Parser:
    def __init__(self, text: str, path: str | None) -> None:
        self.text = text
        self.path = path
        self.bom = text.startswith(_BOM)
        body_start = 1 if self.bom else 0
        pieces = text[body_start:].split("\n")
        if pieces[-1] == "":
            pieces.pop()
        self.pieces = pieces  # physical lines without "\n" (may end in "\r")
        starts = []
        offset = body_start
        for piece in pieces:
            starts.append(offset)
            offset += len(piece) + 1
        if not starts:
            starts.append(body_start)
        self.line_starts = starts
        self.escape = "\\"
        self.directives: list[Directive] = []

    # ------------------------------------------------------------------ errors
    def error(self, message: str, line: int, column: int = 1, end_line: int | None = None):
        return DockerfileSyntaxError(
            message, file=self.path, line=line, column=column, end_line=end_line
        )

    def line_end(self, index: int) -> int:
        """Offset just after physical line ``index`` (0-based), ending included."""
        if index + 1 < len(self.line_starts):
            return self.line_starts[index + 1]
        return len(self.text)

    # ------------------------------------------------------------------ main loop
    def run(self) -> Dockerfile:
        self._check_line_lengths()
        dockerfile = Dockerfile(
            self.text,
            self.path,
            bom=self.bom,
            escape="\\",
            directives=self.directives,
            line_starts=self.line_starts,
        )
        pieces = self.pieces
        count = len(pieces)
        directives_done = False
        seen_directives: set[str] = set()
        instructions = dockerfile.instructions
        index = 0
        while index < count:
            content = pieces[index].rstrip("\r")
            token = content.lstrip(GO_SPACE)
            if not directives_done:
                directives_done = self._directive(token, index, seen_directives)
            if not token or token[0] == "#":
                index += 1
                continue
            escape = self.escape
            line, continued = _trim_continuation(token, escape)
            if not continued and not line:
                index += 1
                continue
            first_index = index
            segments = [(0, self.line_starts[index] + len(content) - len(token))]
            empty_continuation = False
            while continued and index + 1 < count:
                index += 1
                content = pieces[index].rstrip("\r")
                stripped = content.lstrip(GO_SPACE)
                if not stripped:
                    empty_continuation = True
                    continue
                if stripped[0] == "#":
                    continue
                segments.append((len(line), self.line_starts[index]))
                piece, continued = _trim_continuation(content, escape)
                line += piece
            if empty_continuation:
                dockerfile.warnings.append(
                    f"line {first_index + 1}: empty continuation line (BuildKit warns; "
                    "a future release will make it an error)"
                )
            dockerfile.escape = escape  # argument parsers read it (ENV/LABEL/ARG words)
            instruction = self._instruction(dockerfile, line, segments, first_index, index)
            if _may_have_heredocs(instruction, line):
                index = self._read_heredocs(instruction, line, first_index, index)
            instruction.end_line = index + 1
            instruction.span = Span(self.line_starts[first_index], self.line_end(index))
            inner = instruction.onbuild_inner
            if inner is not None:
                inner.end_line = instruction.end_line
                inner.span = instruction.span
            instructions.append(instruction)
            index += 1
        dockerfile.escape = self.escape
        if not instructions:
            raise self.error("file with no instructions", max(count, 1))
        return dockerfile

    def _check_line_lengths(self) -> None:
        if len(self.text) < MAX_LINE_BYTES // 4:
            return
        for index, piece in enumerate(self.pieces):
            if len(piece) < MAX_LINE_BYTES // 4:
                continue
            size = len(piece.encode("utf-8", "surrogateescape"))
            has_newline = index + 1 < len(self.pieces) or self.text.endswith("\n")
            if size + (1 if has_newline else 0) > MAX_LINE_BYTES or (
                not has_newline and size >= MAX_LINE_BYTES
            ):
                raise self.error(
                    f"dockerfile line greater than max allowed size of {MAX_LINE_BYTES - 1}",
                    index + 1,
                )

    def _directive(self, token: str, index: int, seen: set[str]) -> bool:
        """Handle a possible parser directive; returns True once directives are over."""
        match = _DIRECTIVE.match(token)
        if match is None:
            return True
        name = match.group(1).lower()
        if name not in VALID_DIRECTIVES:
            return True
        line = index + 1
        if name in seen:
            raise self.error(f"only one {name} parser directive can be used", line)
        seen.add(name)
        value = match.group(2)
        if name == "escape":
            if value not in ("`", "\\"):
                raise self.error(
                    f"invalid escape token '{value}' does not match ` or \\", line
                )
            self.escape = value
        start = self.line_starts[index]
        self.directives.append(
            Directive(name, value, line, Span(start, start + len(self.pieces[index].rstrip("\r"))))
        )
        return False

    # ------------------------------------------------------------------ instructions
    def _instruction(
        self,
        dockerfile: Dockerfile,
        line: str,
        segments: list[tuple[int, int]],
        first_index: int,
        last_index: int,
    ) -> Instruction:
        try:
            return build_instruction(dockerfile, line, segments, first_index + 1, self.escape)
        except _LineError as exc:
            raise self.error(str(exc), first_index + 1, 1, last_index + 1) from None

    def _read_heredocs(
        self, instruction: Instruction, line: str, first_index: int, index: int
    ) -> int:
        try:
            heredocs = heredocs_from_line(line)
        except ExpansionError as exc:
            raise self.error(str(exc), first_index + 1, 1, index + 1) from None
        pieces = self.pieces
        for name, fd, chomp, expand in heredocs:
            body_start = index + 1
            terminated = False
            while index + 1 < len(pieces):
                index += 1
                candidate = pieces[index].rstrip("\r")
                if chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == name:
                    terminated = True
                    break
            if not terminated:
                raise self.error("unterminated heredoc", first_index + 1, 1, index + 1)
            body = Span(
                self.line_starts[body_start] if body_start < len(pieces) else len(self.text),
                self.line_starts[index],
            )
            instruction.heredocs.append(
                Heredoc(
                    name=name,
                    fd=fd,
                    chomp=chomp,
                    expand=expand,
                    content=self.text[body.start : body.end],
                    body=body,
                    terminator=Span(self.line_starts[index], self.line_end(index)),
                )
            )
        target = instruction.onbuild_inner
        if target is not None:
            target.heredocs = instruction.heredocs
        return index


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """BuildKit's continuation regex ``([^E])E[ \\t]*$|^E[ \\t]*$``."""
    stripped = line.rstrip(" \t")
    if stripped and stripped[-1] == escape and (len(stripped) == 1 or stripped[-2] != escape):
        return stripped[:-1], True
    return line, False


def _may_have_heredocs(instruction: Instruction, line: str) -> bool:
    if "<<" not in line:
        return False
    target = instruction.onbuild_inner or instruction
    return target.keyword in HEREDOC_INSTRUCTIONS and not target.is_json


class _LineError(ValueError):
    """An error inside one logical line; the caller adds the location."""


# ---------------------------------------------------------------------- one logical line
def build_instruction(
    dockerfile: Dockerfile,
    line: str,
    segments: list[tuple[int, int]],
    start_line: int,
    escape: str,
) -> Instruction:
    """BuildKit's newNodeFromLine for one logical line."""
    trimmed = line.lstrip(GO_SPACE)
    lead = len(line) - len(trimmed)
    trimmed = trimmed.rstrip(GO_SPACE)
    split = _CMD_SPLIT.search(trimmed)
    if split is None:
        keyword_raw, rest, rest_offset = trimmed, "", lead + len(trimmed)
    else:
        keyword_raw = trimmed[: split.start()]
        rest = trimmed[split.end() :]
        rest_offset = lead + split.end()
    if rest[:2] == "--" or rest[:1] in _ODD_STARTS:
        args, args_rel, raw_flags = _extract_flags(rest)
        stripped_args = args.strip(GO_SPACE)
        args_offset = rest_offset + args_rel + (len(args) - len(args.lstrip(GO_SPACE)))
    else:
        raw_flags = ()
        stripped_args = rest.rstrip(GO_SPACE)
        args_offset = rest_offset
    keyword = keyword_raw.upper()
    instruction = Instruction(
        dockerfile, keyword, keyword_raw, start_line, line, segments, [], stripped_args,
        args_offset,
    )  # fmt: skip
    if raw_flags:
        span = instruction.logical_span
        instruction.flags = [
            Flag(raw, *_split_flag(raw), span(rest_offset + a, rest_offset + b))
            for raw, a, b in raw_flags
        ]
    if keyword in _ARGUMENT_PARSED:
        _check_arguments(instruction)
    elif keyword == "ONBUILD" and stripped_args:
        inner_segments = [
            (logical - args_offset, source)
            for logical, source in _shift_segments(segments, args_offset)
        ]
        instruction.onbuild_inner = build_instruction(
            dockerfile, stripped_args, inner_segments, start_line, escape
        )
    return instruction


# A raw 0x85/0xA0 byte (decoded as a lone surrogate) is a space to Go's byte loop.
_ODD_STARTS = frozenset({"\udc85", "\udca0"})
_ARGUMENT_PARSED = frozenset(
    {"ENV", "LABEL", "RUN", "CMD", "ENTRYPOINT", "SHELL", "ADD", "COPY", "VOLUME", "HEALTHCHECK"}
)


def _shift_segments(segments: list[tuple[int, int]], offset: int) -> list[tuple[int, int]]:
    """Segments re-based so that logical ``offset`` becomes 0."""
    shifted: list[tuple[int, int]] = []
    for logical, source in segments:
        if logical <= offset:
            shifted = [(offset, source + (offset - logical))]
        else:
            shifted.append((logical, source))
    return shifted


def _split_flag(raw: str) -> tuple[str, str | None]:
    body = raw[2:] if raw.startswith("--") else raw
    name, sep, value = body.partition("=")
    return name, (value if sep else None)


def _extract_flags(rest: str) -> tuple[str, int, list[tuple[str, int, int]]]:
    """BuildKit's extractBuilderFlags: leading ``--flag`` words, byte by byte.

    Returns the remaining text, its offset in ``rest`` and (flag, start, end)
    triples with offsets in ``rest``.
    """
    simple = _extract_simple_flags(rest)
    if all(_is_simple_flag(word) for word, _start, _end in simple[2]) and simple[0][:1] not in _ODD_STARTS:
        # Flags without quotes, backslashes or non-ASCII bytes: the byte loop would
        # give the same answer (whatever the command after the flags contains).
        return simple
    if rest.isascii():
        data = rest.encode("ascii")
        to_char = None
    else:
        data = rest.encode("utf-8", "surrogateescape")
        to_char = _byte_to_char_index(rest)
    remaining_at, words = _extract_flag_bytes(data)

    def char(pos: int) -> int:
        return pos if to_char is None else to_char(pos)

    flags = [(word.decode("latin-1"), char(a), char(b)) for word, a, b in words]
    if remaining_at is None:
        return "", len(rest), flags
    offset = char(remaining_at)
    return rest[offset:], offset, flags


_SIMPLE_FLAG = re.compile(r"--[^\t\n\v\f\r ]*")


def _is_simple_flag(word: str) -> bool:
    return word.isascii() and "'" not in word and '"' not in word and "\\" not in word
_ASCII_SPACES = "\t\n\v\f\r "


def _extract_simple_flags(rest: str) -> tuple[str, int, list[tuple[str, int, int]]]:
    """The common case (ASCII, no quotes or backslashes): same result, no byte loop."""
    flags: list[tuple[str, int, int]] = []
    position = len(rest) - len(rest.lstrip(_ASCII_SPACES))
    while True:
        match = _SIMPLE_FLAG.match(rest, position)
        if match is None:
            return rest[position:], position, flags
        word = match.group()
        end = match.end()
        if word == "--":
            if end == len(rest):
                return "", end, flags
            return rest[end:], end, flags
        flags.append((word, position, end))
        if end == len(rest):
            return "", end, flags
        position = end + len(rest[end:]) - len(rest[end:].lstrip(_ASCII_SPACES))


def _byte_to_char_index(text: str):
    boundaries = [0]
    for ch in text:
        boundaries.append(boundaries[-1] + len(ch.encode("utf-8", "surrogateescape")))

    def convert(byte_pos: int) -> int:
        return bisect.bisect_right(boundaries, byte_pos) - 1

    return convert


_BYTE_SPACES = frozenset(b"\t\n\v\f\r \x85\xa0")


def _extract_flag_bytes(line: bytes) -> tuple[int | None, list[tuple[bytes, int, int]]]:
    in_spaces, in_word, in_quote = 0, 1, 2
    words: list[tuple[bytes, int, int]] = []
    phase = in_spaces
    word = bytearray()
    word_start = 0
    quote = 0
    blank_ok = False
    n = len(line)
    pos = 0
    while pos <= n:
        ch = line[pos] if pos < n else -1
        if phase == in_spaces:
            if pos == n:
                break
            if ch in _BYTE_SPACES:
                pos += 1
                continue
            if ch != 0x2D or pos + 1 == n or line[pos + 1] != 0x2D:
                return pos, words
            phase = in_word
            word_start = pos
        if pos == n:
            if bytes(word) != b"--" and (blank_ok or word):
                words.append((bytes(word), word_start, pos))
            break
        if phase == in_word:
            if ch in _BYTE_SPACES:
                phase = in_spaces
                if bytes(word) == b"--":
                    return pos, words
                if blank_ok or word:
                    words.append((bytes(word), word_start, pos))
                word = bytearray()
                blank_ok = False
                pos += 1
                continue
            if ch in (0x27, 0x22):
                quote = ch
                blank_ok = True
                phase = in_quote
                pos += 1
                continue
            if ch == 0x5C:
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
            pos += 1
            continue
        if ch == 0x5C:
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        word.append(ch)
        pos += 1
    return None, words


# ---------------------------------------------------------------------- argument parsers
def parse_words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords (ENV, LABEL, ARG): quotes kept, escapes kept."""
    if "'" not in rest and '"' not in rest and escape not in rest:
        return _GO_WORD.findall(rest)
    words: list[str] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    quote = ""
    blank_ok = False
    chars: list[str] = []
    n = len(rest)
    pos = 0
    spaces = _GO_SPACE_SET
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if ch in spaces:
                pos += 1
                continue
            phase = in_word
        if pos == n:
            if blank_ok or chars:
                words.append("".join(chars))
            break
        if phase == in_word:
            if ch in spaces:
                phase = in_spaces
                if blank_ok or chars:
                    words.append("".join(chars))
                chars = []
                blank_ok = False
                pos += 1
                continue
            if ch == "'" or ch == '"':
                quote = ch
                blank_ok = True
                phase = in_quote
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                chars.append(ch)
                pos += 1
                ch = rest[pos]
            chars.append(ch)
            pos += 1
            continue
        if ch == quote:
            phase = in_word
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            chars.append(ch)
            ch = rest[pos]
        chars.append(ch)
        pos += 1
    return words


def parse_name_values(rest: str, keyword: str, escape: str) -> list[tuple[str, str]]:
    """BuildKit's parseNameVal for ENV and LABEL (old ``K v`` and new ``K=v`` forms)."""
    words = parse_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _CMD_SPLIT.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise _LineError(f"{keyword} must have two arguments")
        return [(parts[0], parts[1])]
    pairs = []
    for word in words:
        if "=" not in word:
            raise _LineError(
                f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value'
            )
        key, _, value = word.partition("=")
        pairs.append((key, value))
    return pairs


def _check_arguments(instruction: Instruction) -> None:
    """The argument checks BuildKit's parser applies (ENV/LABEL syntax, JSON arrays)."""
    if instruction.keyword in ("ENV", "LABEL"):
        instruction.buildkit_value  # noqa: B018 - evaluated (and cached) for its errors
    elif "[" in instruction.args:
        try:
            instruction.json_args  # noqa: B018 - evaluated (and cached) for its errors
        except NotStringArray as exc:
            raise _LineError(str(exc)) from None


def heredocs_from_line(line: str) -> list[tuple[str, int, bool, bool]]:
    """BuildKit's heredocsFromLine: (name, fd, chomp, expand) for each ``<<WORD``."""
    if "'" in line or '"' in line or "\\" in line or "$" in line:
        try:
            words = process(line, raw_quotes=True, raw_escapes=True, skip_unset=True).words
        except ExpansionError:
            return []
    else:
        # Nothing to unquote or expand: the lexer would just split on whitespace.
        words = _GO_WORD.findall(line)
    found = []
    for word in words:
        heredoc = parse_heredoc_word(word)
        if heredoc is not None:
            found.append(heredoc)
    return found


def heredoc_word_or_none(word: str) -> tuple[str, int, bool, bool] | None:
    """BuildKit's MustParseHeredoc: like parse_heredoc_word, errors mean "not a heredoc"."""
    try:
        return parse_heredoc_word(word)
    except ExpansionError:
        return None


def parse_heredoc_word(word: str) -> tuple[str, int, bool, bool] | None:
    """BuildKit's ParseHeredoc for one word such as ``3<<-"EOF"``."""
    match = _HEREDOC_WORD.match(word)
    if match is None:
        return None
    rest = match.group(3)
    if not rest:
        return None
    plain = process(rest, skip_unset=True).words
    if len(plain) != 1:
        return None
    raw = process(rest, raw_quotes=True, skip_unset=True).words
    if len(raw) != len(plain):
        raise ExpansionError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name = plain[0]
    quotes_plain = name.count("'") + name.count('"')
    quotes_raw = raw[0].count("'") + raw[0].count('"')
    fd_text = match.group(1)
    fd = int(fd_text) if fd_text and len(fd_text) < 20 else 0
    return name, fd, match.group(2) == "-", quotes_plain == quotes_raw


# ---------------------------------------------------------------------- BuildKit's node values
def buildkit_value(instruction: Instruction) -> list[str]:
    """The values of BuildKit's node chain for this instruction (for the oracle)."""
    keyword = instruction.keyword
    args = instruction.args
    escape = instruction.dockerfile.escape
    if keyword in ("ADD", "COPY", "VOLUME"):
        json_args = instruction.json_args
        return list(json_args) if json_args is not None else split_ascii_whitespace(args)
    if keyword in ("RUN", "CMD", "ENTRYPOINT", "SHELL"):
        json_args = instruction.json_args
        if json_args is not None:
            return list(json_args)
        return [args] if args else []
    if keyword in ("FROM", "EXPOSE"):
        return split_ascii_whitespace(args)
    if keyword in ("ENV", "LABEL"):
        return [item for pair in parse_name_values(args, keyword, escape) for item in pair]
    if keyword == "ARG":
        return parse_words(args, escape)
    if keyword == "HEALTHCHECK":
        index = 0
        while index < len(args) and args[index] not in _GO_SPACE_SET:
            index += 1
        if index == 0:
            return []
        kind = args[:index]
        remainder = args[index:].lstrip(GO_SPACE)
        json_args = parse_json_array(remainder)
        if json_args is not None:
            return [kind, *json_args]
        return [kind, remainder] if remainder else [kind]
    if keyword in ("MAINTAINER", "STOPSIGNAL", "USER", "WORKDIR"):
        return [args] if args else []
    if keyword == "ONBUILD":
        inner = instruction.onbuild_inner
        return buildkit_value(inner) if inner is not None else []
    return [""]  # parseIgnore: BuildKit keeps one empty value for unknown instructions
