"""Span edits the fixes share: insert flags after RUN, add or remove a word, append a command."""

from __future__ import annotations


from decruft.audit.rule import Edit
from decruft.dockerfile.nodes import Instruction, Span
from decruft.shell import Word


def insert_after_word(word: Word, text: str) -> Edit:
    """Insert `` text`` right after ``word`` (e.g. a flag after ``install``)."""
    return Edit(Span(word.span.end, word.span.end), " " + text)


def insert_run_flags(instruction: Instruction, *flags: str) -> Edit:
    """Insert flags (``--mount=...``) right after the RUN keyword."""
    end = instruction.keyword_span.end
    return Edit(Span(end, end), "".join(" " + flag for flag in flags))


def remove_word(word: Word, text: str) -> Edit:
    """Delete ``word`` and the whitespace before it (``text`` is ``Dockerfile.text``)."""
    start = word.span.start
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return Edit(Span(start, word.span.end), "")


def append_to_run(instruction: Instruction, command_text: str) -> Edit | None:
    """An edit appending ``command_text`` as the last command of a RUN, in the file's style.

    One-liners get `` && cmd``; continued RUNs get a new line matching the last
    one (leading ``&&`` or trailing ``&& \\``, same indentation, the file's escape
    character and line ending); heredoc bodies get a new line before the
    terminator.  None when the body cannot be extended safely (syntax the shell
    parser could not read, a trailing comment, a dangling operator).
    """
    script = instruction.shell
    if script is None or not script.complete or not script.commands:
        return None
    text = instruction.dockerfile.text
    if script.origin == "heredoc":
        heredoc = instruction.heredocs[0]
        body = text[heredoc.body.start : heredoc.body.end]
        if not body.endswith("\n"):
            return None
        newline = "\r\n" if body.endswith("\r\n") else "\n"
        last = body[: -len(newline)].rsplit("\n", 1)[-1]
        if last.rstrip().endswith("\\"):
            return None
        indent = last[: len(last) - len(last.lstrip(" \t"))]
        return Edit(Span(heredoc.body.end, heredoc.body.end), f"{indent}{command_text}{newline}")
    args_span = instruction.args_span
    end = args_span.end
    last_command_end = script.commands[-1].span.end
    tail = text[last_command_end:end]
    if "#" in tail:
        return None
    stripped = instruction.args.rstrip()
    if stripped.endswith(("&&", "||", "|", "&", "\\")):
        return None
    if stripped.endswith(";"):
        return Edit(Span(end, end), f" {command_text}")
    dockerfile = instruction.dockerfile
    first_line = dockerfile.position(args_span.start).line
    last_line = dockerfile.position(max(end - 1, args_span.start)).line
    if last_line == first_line:
        return Edit(Span(end, end), f" && {command_text}")
    escape = dockerfile.escape
    line = dockerfile.line_text(last_line)
    previous = dockerfile.line_text(last_line - 1).rstrip()
    before_line = text[: dockerfile.line_starts[last_line - 1]]
    newline = "\r\n" if before_line.endswith("\r\n") else "\n"
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    body = line.lstrip(" \t")
    if not previous.endswith(escape):
        return Edit(Span(end, end), f" && {command_text}")
    before_escape = previous[: -len(escape)]
    gap = _trailing_space(before_escape) or " "  # what the file puts before the escape
    for operator in ("&&", "||", ";"):
        if body.startswith(operator):  # leading style: `\n  && next`
            rest = body[len(operator) :]
            after = rest[: len(rest) - len(rest.lstrip(" \t"))] or " "
            joiner = "&&" if operator == "||" else operator
            return Edit(Span(end, end), f"{gap}{escape}{newline}{indent}{joiner}{after}{command_text}")
    stripped = before_escape.rstrip()
    for operator in ("&&", "||", ";"):
        if stripped.endswith(operator):  # trailing style: `cmd && \n  next`
            before = _trailing_space(stripped[: -len(operator)])
            joiner = "&&" if operator == "||" else operator
            return Edit(Span(end, end), f"{before}{joiner}{gap}{escape}{newline}{indent}{command_text}")
    return Edit(Span(end, end), f" && {command_text}")


def _trailing_space(text: str) -> str:
    return text[len(text.rstrip(" \t")) :]


