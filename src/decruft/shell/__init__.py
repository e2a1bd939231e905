"""The shell layer: RUN bodies split into commands with exact source spans.

Parsing uses tree-sitter-bash (a maintained, error-tolerant grammar with byte
offsets; no crash on syntax it cannot read).  Only the mapping from tree-sitter
nodes to our flat command list is written here.  When the script has syntax
errors the commands tree-sitter could still read are returned and
``ShellScript.complete`` is False, so a rule can fall back to the raw text.

Plain scripts (``a && b | c; d`` whose words are literals, the large majority of RUN
bodies) are split by `_split_plain` instead: walking tree-sitter's nodes from Python
costs several times more than the parse itself, and ``decruft audit`` splits every RUN
of every file. It accepts only what it can split exactly as the tree-sitter walk does
(no expansions, redirects, escapes, keywords, comments or newlines; anything else goes
to tree-sitter) and the tests compare both on every RUN of the corpora.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator

from decruft.dockerfile.nodes import Span

if TYPE_CHECKING:
    from decruft.dockerfile.nodes import Instruction

# Commands that run another command given as their arguments.
WRAPPERS = frozenset({"sudo", "env", "nohup", "time", "command", "exec", "nice", "xargs", "doas"})
OPERATORS = frozenset({"&&", "||", ";", "|", "|&", "&", "\n"})


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


@dataclass(slots=True, eq=False)
class Word:
    text: str  # exact source text
    value: str  # unquoted when it is a plain literal, else the source text
    literal: bool  # no expansions or substitutions
    _bytes: tuple[int, int]  # byte range in the parsed script
    _builder: "_Builder"
    _span: Span | None = None

    @property
    def span(self) -> Span:
        """Where the word is in Dockerfile.text (computed on first use: most words never need it)."""
        if self._span is None:
            self._span = self._builder.span(*self._bytes)
        return self._span


@dataclass(eq=False)
class ShellCommand:
    """One simple command, e.g. ``apt-get install -y curl``."""

    words: list[Word]  # the command name and its arguments, wrappers included
    assignments: list[str]  # leading VAR=value words
    text: str  # its source text
    operator: str | None  # the operator joining it to the previous command
    index: int  # position in the script
    in_pipeline: bool = False
    redirects: list[str] = field(default_factory=list)
    _argv: list[str] | None = field(default=None, repr=False)
    _name: str | None = field(default=None, repr=False)
    _bytes: tuple[int, int] = (0, 0)  # byte range in the parsed script
    _builder: "_Builder | None" = field(default=None, repr=False)
    _span: Span | None = field(default=None, repr=False)
    # What later layers derive from the command (the audit's install classifications)
    derived: dict[object, object] = field(default_factory=dict, repr=False)

    @property
    def span(self) -> Span:
        """The whole command in Dockerfile.text (computed on first use, like Word.span)."""
        if self._span is None:
            self._span = self._builder.span(*self._bytes)
        return self._span

    @property
    def argv(self) -> list[str]:
        """The command with wrappers (sudo, env, ...) removed, as plain strings."""
        if self._argv is None:
            values = [word.value for word in self.words]
            while values and _basename(values[0]) in WRAPPERS:
                values = _strip_wrapper(values)
            self._argv = values
        return self._argv

    @property
    def name(self) -> str:
        # every rule asks every command its name: computed once
        if self._name is None:
            argv = self.argv
            self._name = _basename(argv[0]) if argv else ""
        return self._name

    @property
    def args(self) -> list[str]:
        return self.argv[1:]

    @property
    def positional(self) -> list[str]:
        """Arguments that are not flags (``-x``/``--flag``)."""
        return [arg for arg in self.args if not arg.startswith("-") or arg == "-"]

    @property
    def subcommand(self) -> str | None:
        """First positional argument (``install`` in ``apt-get -y install x``)."""
        for arg in self.args:
            if not arg.startswith("-"):
                return arg
        return None

    def has_flag(self, *names: str) -> bool:
        """True if any of ``names`` is present (``-y`` also matches a ``-qy`` group)."""
        for arg in self.args:
            if arg in names:
                return True
            if arg.startswith("--"):
                if arg.split("=", 1)[0] in names:
                    return True
            elif arg.startswith("-") and len(arg) > 2:
                letters = {f"-{ch}" for ch in arg[1:]}
                if letters & set(names):
                    return True
        return False

    def word_after(self, *names: str) -> str | None:
        """The value of an option such as ``-o`` / ``--output`` (``--output=x`` too)."""
        args = self.args
        for position, arg in enumerate(args):
            for name in names:
                if arg == name and position + 1 < len(args):
                    return args[position + 1]
                if name.startswith("--") and arg.startswith(name + "="):
                    return arg[len(name) + 1 :]
        return None

    def __repr__(self) -> str:
        return f"<ShellCommand {self.text!r}>"


def _basename(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _strip_wrapper(values: list[str]) -> list[str]:
    wrapper = _basename(values[0])
    rest = values[1:]
    if wrapper == "env":
        while rest and ("=" in rest[0] or rest[0].startswith("-")):
            rest = rest[1:]
        return rest
    while rest and rest[0].startswith("-"):
        option = rest[0]
        rest = rest[1:]
        if wrapper == "sudo" and option in ("-u", "-g") and rest:
            rest = rest[1:]
    if wrapper == "sudo":
        while rest and "=" in rest[0] and not rest[0].startswith("="):
            rest = rest[1:]
    return rest


@dataclass(eq=False)
class ShellScript:
    """A parsed RUN body."""

    source: str  # the script text as the shell sees it
    commands: list[ShellCommand]
    complete: bool  # False when the parser hit syntax it could not read
    origin: str  # "shell-form" or "heredoc"
    # What later layers derive from the parse (the audit's tool calls), freed with it: a
    # weak-keyed table would keep every script alive, its values reach back to the script.
    derived: dict[object, object] = field(default_factory=dict, repr=False)

    def __iter__(self) -> Iterator[ShellCommand]:
        return iter(self.commands)

    def find(self, *names: str, subcommand: str | tuple[str, ...] | None = None) -> list[ShellCommand]:
        wanted = (subcommand,) if isinstance(subcommand, str) else subcommand
        found = []
        for command in self.commands:
            if command.name not in names:
                continue
            if wanted is not None and command.subcommand not in wanted:
                continue
            found.append(command)
        return found


# ---------------------------------------------------------------------- building scripts
def script_for_instruction(instruction: "Instruction") -> ShellScript | None:
    """Parse the shell that a RUN instruction executes (None for exec form / other kinds)."""
    target = instruction.effective
    if target.keyword != "RUN" or target.is_json:
        return None
    heredocs = target.heredocs
    if heredocs and heredocs[0].fd == 0 and (
        _is_single_heredoc_word(target.args) or _is_shell_reading_heredoc(target.args)
    ):
        heredoc = heredocs[0]
        body = heredoc.text
        if body.startswith("#!") and not _is_shell_shebang(body):
            return ShellScript(body, [], False, "heredoc")
        # Parse the raw body: leading tabs of <<- are plain whitespace to the
        # shell, and the raw text keeps spans exact.
        raw = instruction.dockerfile.text[heredoc.body.start : heredoc.body.end]
        return parse_script(raw, heredoc.body.start, "heredoc")
    if heredocs:
        # The shell reads the heredoc bodies after the command line; give them to the
        # parser so the line parses completely (bodies are data, not commands).
        tail = "".join(f"\n{heredoc.content}{heredoc.name}" for heredoc in heredocs)
        return parse_script(target.args + tail, target, "shell-form", visible=len(target.args))
    return parse_script(target.args, target, "shell-form")


def _is_single_heredoc_word(args: str) -> bool:
    return args.startswith("<<") and len(args.split()) == 1


_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})


def _is_shell_reading_heredoc(args: str) -> bool:
    """``<<EOF bash`` or ``bash <<EOF`` (no -c): the shell runs the heredoc as its script."""
    words = args.split()
    if len(words) > 4 or sum(word.lstrip("0123456789").startswith("<<") for word in words) != 1:
        return False
    others = [word for word in words if not word.lstrip("0123456789").startswith("<<")]
    return bool(others) and _basename(others[0]) in _SHELLS and all(
        word.startswith("-") and word != "-c" for word in others[1:]
    )


def _is_shell_shebang(body: str) -> bool:
    first = body.split("\n", 1)[0]
    return any(shell in first for shell in ("/sh", "/bash", "/dash", "/ash", " sh", " bash"))


def parse_script(source: str, anchor, origin: str, visible: int | None = None) -> ShellScript:
    """Parse ``source``; ``anchor`` maps offsets (an Instruction, an int offset or None).

    ``visible``: only commands starting before this offset are reported (the rest
    is appended heredoc data).
    """
    if visible is None:
        plain = _split_plain(source, anchor, origin)
        if plain is not None:
            return plain
    try:
        script = _Builder(source, anchor, origin).build(visible)
    except (RecursionError, ValueError, UnicodeError):
        return ShellScript(source, [], False, origin)
    if visible is not None:
        script.source = source[:visible]
    return script


class _Builder:
    def __init__(self, source: str, anchor, origin: str) -> None:
        self.source = source
        self.origin = origin
        self.data = source.encode("utf-8", "surrogatepass")
        self.ascii = len(self.data) == len(source)
        self.anchor = anchor
        self.commands: list[ShellCommand] = []
        self.visible_bytes: int | None = None

    def char_offset(self, byte_offset: int) -> int:
        if self.ascii:
            return byte_offset
        return len(self.data[:byte_offset].decode("utf-8", "surrogatepass"))

    def span(self, start_byte: int, end_byte: int) -> Span:
        start = self.char_offset(start_byte)
        end = self.char_offset(end_byte)
        anchor = self.anchor
        if anchor is None:
            return Span(start, end)
        if isinstance(anchor, int):
            return Span(anchor + start, anchor + end)
        base = anchor.args_offset
        return anchor.logical_span(base + start, base + end)

    def text(self, node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")

    def build(self, visible: int | None = None) -> ShellScript:
        tree = _parser().parse(self.data)
        root = tree.root_node
        self.visible_bytes = None if visible is None else len(self.source[:visible].encode("utf-8", "surrogatepass"))
        self._walk(root, None)
        return ShellScript(self.source, self.commands, not root.has_error, self.origin)

    def _walk(self, node, operator: str | None, in_pipeline: bool = False, outside_pipeline: bool = False) -> str | None:
        """Visit ``node``; returns the operator pending for the next command.

        ``outside_pipeline``: what ``in_pipeline`` was around the innermost enclosing pipeline."""
        kind = node.type
        if kind == "command":
            self._command(node, operator, in_pipeline)
            return None
        if kind == "redirected_statement":
            body = node.child_by_field_name("body")
            before = len(self.commands)
            if body is not None:
                self._walk(body, operator, in_pipeline)
            if body is not None and body.type == "command" and len(self.commands) > before:
                # tree-sitter hangs `> file` on the statement, not on the command
                self.commands[before].redirects.extend(
                    self.text(child).split("\n", 1)[0]
                    for child in node.children
                    if child.type in ("file_redirect", "heredoc_redirect", "herestring_redirect")
                )
            for child in node.children:
                if child.type == "heredoc_redirect":
                    # `cmd <<EOF && next`: tree-sitter nests `next` inside the redirect
                    self._walk(child, None, in_pipeline)
            return None
        pending = operator
        child_in_pipeline = in_pipeline or kind == "pipeline"
        # tree-sitter-bash parses `a | b | c && d` as pipeline(a, list(pipeline(b, c) && d)); bash
        # (and the plain-script tokenizer) runs `d` after the pipeline, not in it.
        misparsed_list = kind == "list" and node.parent is not None and node.parent.type == "pipeline"
        for child in node.children:
            child_type = child.type
            if child_type in OPERATORS:
                pending = child_type
                if misparsed_list and child_type not in ("|", "|&"):
                    child_in_pipeline = outside_pipeline
                continue
            if not child.is_named:
                continue
            result = self._walk(child, pending, child_in_pipeline, in_pipeline if kind == "pipeline" else outside_pipeline)
            pending = result
        return pending

    def _command(self, node, operator: str | None, in_pipeline: bool) -> None:
        if self.visible_bytes is not None and node.start_byte >= self.visible_bytes:
            return
        words: list[Word] = []
        assignments: list[str] = []
        redirects: list[str] = []
        for child in node.children:
            child_type = child.type
            if child_type == "variable_assignment":
                assignments.append(self.text(child))
            elif child_type == "command_name":
                words.append(self._word(child.children[0] if child.children else child))
            elif child_type in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
                redirects.append(self.text(child))
            elif child.is_named:
                words.append(self._word(child))
        self.commands.append(
            ShellCommand(
                words=words,
                assignments=assignments,
                text=self.text(node),
                operator=operator,
                index=len(self.commands),
                in_pipeline=in_pipeline,
                redirects=redirects,
                _bytes=(node.start_byte, node.end_byte),
                _builder=self,
            )
        )
        for child in node.children:
            if child.type in ("command_substitution", "process_substitution"):
                self._walk(child, None)

    def _word(self, node) -> Word:
        text = self.text(node)
        value, literal = _unquote(node, text, self)
        return Word(text, value, literal, (node.start_byte, node.end_byte), self)


def _unquote(node, text: str, builder: _Builder) -> tuple[str, bool]:
    kind = node.type
    if kind == "word":
        return _unescape(text), "$" not in text and "`" not in text
    if kind == "raw_string":
        return text[1:-1], True
    if kind == "string":
        inner = [child for child in node.children if child.is_named]
        if not inner or all(child.type == "string_content" for child in inner):
            return _unescape_double(text[1:-1]), True
        return text, False
    if kind == "concatenation":
        parts = [_unquote(child, builder.text(child), builder) for child in node.children]
        return "".join(value for value, _ in parts), all(literal for _, literal in parts)
    if kind == "number":
        return text, True
    return text, False


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out = []
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text):
            index += 1
            ch = text[index]
        out.append(ch)
        index += 1
    return "".join(out)


def _unescape_double(text: str) -> str:
    if "\\" not in text:
        return text
    out = []
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text) and text[index + 1] in '$`"\\\n':
            index += 1
            ch = text[index]
        out.append(ch)
        index += 1
    return "".join(out)


# ---------------------------------------------------------------------- the plain fast path
_WORD = r"""(?:[A-Za-z0-9_./:@%+,=~^*?-]++|'[^']*+'|"[^"$`\\]*+")++"""
# Possessive quantifiers: one linear pass decides whether the whole script is plain.
_PLAIN_SCRIPT = re.compile(rf"(?:[ \t]++|&&|\|\||[;|&]|{_WORD})*+")
_PLAIN_TOKENS = re.compile(rf"(&&|\|\||[;|&])|{_WORD}")
_PLAIN_SEGMENTS = re.compile(r"[^'\"]+|'[^']*'|\"[^\"]*\"")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
# Words tree-sitter does not read as a plain command name (keywords, declaration builtins).
_NOT_PLAIN_NAMES = frozenset({
    "if", "then", "elif", "else", "fi", "case", "esac", "for", "select", "while", "until", "do", "done",
    "in", "function", "time", "coproc", "declare", "typeset", "export", "readonly", "local", "unset",
    "unsetenv",
})
_PLAIN_NAME = re.compile(r"[A-Za-z_./][A-Za-z0-9_./+-]*")
_TEST_OPERATORS = frozenset({"==", "=~", "="})


def _split_plain(source: str, anchor, origin: str) -> ShellScript | None:
    """The script split like the tree-sitter walk would, or None when it is not plain."""
    if not source.isascii() or _PLAIN_SCRIPT.fullmatch(source) is None:
        return None
    # Word spans of each command, and the operator before each command.
    groups: list[list[tuple[int, int]]] = []
    operators: list[str | None] = [None]
    current: list[tuple[int, int]] = []
    for token in _PLAIN_TOKENS.finditer(source):
        operator = token.group(1)
        if operator is None:
            current.append(token.span())
        elif not current:
            return None  # an operator with no command before it
        else:
            groups.append(current)
            current = []
            operators.append(operator)
    if current:
        groups.append(current)
        operators.append(None)
    elif operators[-1] not in (None, ";", "&"):
        return None  # a dangling `&&`, `||` or `|`: let tree-sitter report the error
    builder = _Builder(source, anchor, origin)
    commands = builder.commands
    for index, spans in enumerate(groups):
        in_pipeline = operators[index] == "|" or operators[index + 1] == "|"
        command = _plain_command(builder, spans, operators[index], index, in_pipeline)
        if command is None:
            return None
        commands.append(command)
    return ShellScript(source, commands, True, origin)


def _plain_command(builder: _Builder, spans: list[tuple[int, int]], operator: str | None, index: int,
                   in_pipeline: bool) -> ShellCommand | None:
    source = builder.source
    first = 0
    while first < len(spans) and _ASSIGNMENT.match(source, spans[first][0]):
        first += 1
    if first == len(spans):
        return None  # assignments alone are a variable_assignment, not a command
    texts = [source[start:end] for start, end in spans]
    name = texts[first]
    if name in _NOT_PLAIN_NAMES or not _PLAIN_NAME.fullmatch(name):
        return None  # tree-sitter reads some names oddly (`a@b`, `a:b` after an assignment, `-`)
    if not _TEST_OPERATORS.isdisjoint(texts):
        return None  # tree-sitter drops a bare `==`/`=~` argument (a test operator to it)
    words = [
        Word(text, _plain_value(text) if ("'" in text or '"' in text) else text, True, span, builder)
        for text, span in zip(texts[first:], spans[first:])
    ]
    start, end = spans[0][0], spans[-1][1]
    return ShellCommand(words, texts[:first], source[start:end], operator, index, in_pipeline,
                        _bytes=(start, end), _builder=builder)


def _plain_value(text: str) -> str:
    return "".join(part[1:-1] if part[0] in "'\"" else part for part in _PLAIN_SEGMENTS.findall(text))
