"""decruft's Dockerfile parser against BuildKit's own parser (the oracle).

The oracle is the PyPI package ``dockerfile``: BuildKit v0.12.5's
``frontend/dockerfile/parser`` (Go) behind a small wrapper.  Per top-level node it
reports cmd (as written), sub_cmd (ONBUILD's trigger), json, original, start_line,
end_line, flags, value (the Next chain; for ONBUILD the trigger's chain) and
heredocs (name, file_descriptor, content).  Quirks of the *wrapper*, not of BuildKit,
that the comparison allows for:

* ``original`` is node.Original plus, per heredoc, ``"\\n" + content + name``, plus
  ``"\\n"`` at the end (when there are heredocs);
* ONBUILD's heredocs are not reported (the wrapper reads them from the trigger node
  while BuildKit attaches them to the ONBUILD node); end_line still covers them;
* strings cross into Python as C strings: a NUL byte truncates them, invalid UTF-8
  raises UnicodeDecodeError.  Inputs with either are not compared.

The oracle is only the *parser* layer: it accepts unknown instructions, files
without FROM, unknown flags...  decruft rejects those as BuildKit's instruction layer
does, so they are kept out of the agreement corpus and checked in EDGE_CASES as
``REJECTED`` (oracle parses, decruft must raise).

Where the oracle (v0.12.5) and current BuildKit differ, decruft follows current
BuildKit; those cases are ``NEWER`` in EDGE_CASES and listed in KNOWN_DIFFERENCES.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

try:  # the oracle ships x86_64 wheels only
    import dockerfile as oracle
except ImportError:  # pragma: no cover - depends on the platform
    oracle = None

import decruft
from decruft.errors import DockerfileSyntaxError

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(oracle is None, reason="the `dockerfile` package (BuildKit's parser) is not installed"),
]

HERE = Path(__file__).resolve().parent


def load_generator():
    """tests/corpus/generate.py as a module (tests/ is not a package)."""
    name = "decruft_corpus_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "corpus" / "generate.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


# =======================================================================================
# Deliberate disagreements with the oracle (BuildKit v0.12.5's parser), each with the
# reason.  The lead decides what stays here.
KNOWN_DIFFERENCES: dict[str, str] = {
    "check-directive": (
        "`# check=...` is a parser directive since BuildKit v0.14 (Dockerfile 1.8): it keeps "
        "directive scanning going (a following `# escape=` still counts) and may appear once. "
        "v0.12.5 treats it as an unknown directive, which ends directive scanning."
    ),
    "directive-unicode-space": (
        "Current BuildKit (DirectiveParser) skips any unicode.IsSpace after `#` (\\v, NBSP, ...) "
        "before the directive key; v0.12.5's regex `^#\\s*` only skips ASCII \\t\\n\\f\\r and space."
    ),
}

# Parser bugs reported to the lead, not yet fixed.  A test that hits one is an xfail
# (strict: it turns red once the bug is fixed, so the entry gets removed).
PENDING_FIXES: dict[str, str] = {
    "directive-unicode-space": KNOWN_DIFFERENCES["directive-unicode-space"],
}


def pending_fix_for(data: bytes) -> str | None:
    """The PENDING_FIXES key an input runs into, if any (cheap textual predicates)."""
    text = data.decode("utf-8", "surrogateescape")
    head = text[:2000]
    if re.search(r"(?m)\A(?:\ufeff)?(?:[ \t]*#[^\n]*\n)*?[ \t]*#[\x0b\x85\xa0\u1680\u2000-\u200a\u2028\u2029"
                 r"\u202f\u205f\u3000]", head):
        return "directive-unicode-space"
    return None


# =======================================================================================
# Oracle access and comparison


class OracleError(Exception):
    """The oracle rejected the input (message: BuildKit's parser error)."""


class OracleCannotTell(Exception):
    """The wrapper cannot represent the input (NUL byte, invalid UTF-8 in a value)."""


def oracle_parse(data: bytes) -> list[Any]:
    """Parse with BuildKit's parser through a temporary file (bytes reach Go unchanged)."""
    if b"\x00" in data:
        raise OracleCannotTell("NUL byte")
    fd, path = tempfile.mkstemp(prefix="oracle-", suffix=".Dockerfile")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            return list(oracle.parse_file(path))
        except oracle.GoParseError as exc:
            raise OracleError(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise OracleCannotTell(str(exc)) from None
    finally:
        os.unlink(path)


@dataclass
class Mismatch:
    index: int  # instruction index (0-based); -1 for whole-file problems
    field: str
    ours: Any
    theirs: Any
    line: int = 0

    def __str__(self) -> str:
        where = f"instruction #{self.index + 1} (line {self.line})" if self.index >= 0 else "file"
        return f"{where}: {self.field}: decruft={self.ours!r} buildkit={self.theirs!r}"


def _expected_oracle_original(ins: Any) -> str:
    text = ins.logical_line
    if ins.keyword != "ONBUILD" and ins.heredocs:
        text += "".join("\n" + h.content + h.name for h in ins.heredocs) + "\n"
    return text


def compare(df: Any, cmds: list[Any]) -> list[Mismatch]:
    """Field-by-field differences between a decruft Dockerfile and the oracle's commands."""
    out: list[Mismatch] = []
    ours = df.instructions
    if len(ours) != len(cmds):
        out.append(Mismatch(-1, "instruction count", len(ours), len(cmds)))
        out.append(Mismatch(-1, "instruction kinds/start lines",
                            [(i.keyword, i.start_line) for i in ours],
                            [((c.cmd or "").upper(), c.start_line) for c in cmds]))
        return out
    for n, (ins, cmd) in enumerate(zip(ours, cmds)):

        def check(field: str, a: Any, b: Any) -> None:
            if a != b:
                out.append(Mismatch(n, field, a, b, cmd.start_line))

        check("keyword", ins.keyword, (cmd.cmd or "").upper())
        check("start_line", ins.start_line, cmd.start_line)
        check("end_line", ins.end_line, cmd.end_line)
        check("flags", list(ins.buildkit_flags), list(cmd.flags))
        check("original (logical line)", _expected_oracle_original(ins), cmd.original or "")
        target = ins
        if ins.keyword == "ONBUILD":
            inner = ins.onbuild_inner
            if inner is None:
                check("onbuild trigger", None, cmd.sub_cmd)
                continue
            check("onbuild trigger", inner.keyword, (cmd.sub_cmd or "").upper())
            target = inner
        check("value", list(target.buildkit_value), list(cmd.value))
        check("is_json", bool(target.is_json), bool(cmd.json))
        if ins.keyword != "ONBUILD":  # the wrapper drops ONBUILD's heredocs
            check("heredocs (name, fd, content)",
                  [(h.name, h.fd, h.content) for h in ins.heredocs],
                  [(h.name, h.file_descriptor, h.content) for h in cmd.heredocs])
    return out


def both(data: bytes) -> tuple[Any, str | None, list[Any] | None, str | None]:
    """(our Dockerfile, our error, oracle commands, oracle error)."""
    try:
        df, ours_err = decruft.parse(data), None
    except DockerfileSyntaxError as exc:
        df, ours_err = None, str(exc)
    try:
        cmds, theirs_err = oracle_parse(data), None
    except OracleError as exc:
        cmds, theirs_err = None, str(exc)
    return df, ours_err, cmds, theirs_err


def report(problems: list[Mismatch], data: bytes) -> str:
    lines = [str(p) for p in problems[:12]]
    if len(problems) > 12:
        lines.append(f"... and {len(problems) - 12} more")
    preview = data[:600].decode("utf-8", "replace")
    return "\n".join(lines) + "\n--- input (first 600 bytes) ---\n" + preview


# =======================================================================================
# 1. The agreement corpus: generated + real-world files, all valid for BuildKit.

GEN = load_generator()
CORPUS = GEN.corpus()


def _corpus_params():
    for name, data in CORPUS:
        key = pending_fix_for(data)
        marks = [pytest.mark.xfail(strict=True, reason=PENDING_FIXES[key])] if key in PENDING_FIXES else []
        yield pytest.param(data, id=name, marks=marks)


def test_corpus_is_big_enough():
    assert len(CORPUS) >= 330
    assert len(GEN.realworld()) >= 30


@pytest.mark.parametrize("data", list(_corpus_params()))
def test_corpus_agrees_with_buildkit(data: bytes):
    try:
        cmds = oracle_parse(data)
    except OracleError as exc:  # pragma: no cover - a generator bug
        pytest.fail(f"corpus file rejected by BuildKit's parser (generator bug): {exc}")
    problems = GEN.instruction_problems(cmds)
    assert not problems, f"corpus file not valid for BuildKit's instruction layer (generator bug): {problems}"
    try:
        df = decruft.parse(data)
    except DockerfileSyntaxError as exc:
        pytest.fail(f"decruft rejects a file BuildKit accepts: {exc}\n--- input ---\n{data[:600]!r}")
    mismatches = compare(df, cmds)
    assert not mismatches, report(mismatches, data)


# =======================================================================================
# 2. Single-purpose edge cases.
#
# AGREE     both parse and every field matches, or both reject it (parser-level error)
# ERROR     both must reject it (BuildKit's parser raises)
# REJECTED  BuildKit's parser accepts it but its instruction layer rejects the file
#           (unknown instruction, no FROM, bad flag, ...): decruft must raise
# NEWER     v0.12.5 and current BuildKit differ; `expect` describes current BuildKit:
#           a list of (KEYWORD, buildkit_value) or the string "error"

AGREE, ERROR, REJECTED, NEWER = "agree", "error", "rejected", "newer"


@dataclass
class Edge:
    id: str
    source: str | bytes
    kind: str
    why: str = ""
    expect: Any = None
    pending: str | None = None  # PENDING_FIXES key: xfail until the lead fixes it

    @property
    def data(self) -> bytes:
        return self.source if isinstance(self.source, bytes) else self.source.encode("utf-8", "surrogateescape")


X = 65535  # BuildKit's bufio.Scanner limit: MaxScanTokenSize - 1 bytes per line (with its \n)

EDGE_CASES: list[Edge] = [
    # ---- escapes and continuations
    Edge("escaped-escape-eol", "FROM a\nRUN echo \\\\\nRUN b\n", AGREE,
         "`\\\\` at the end is an escaped escape, not a continuation"),
    Edge("escaped-escape-then-escape", "FROM a\nRUN echo \\\\\\\n b\n", REJECTED,
         "BuildKit's regex needs a non-escape char before the final escape: `\\\\\\` does not "
         "continue, so ` b` becomes an (unknown) instruction"),
    Edge("backslash-alone-on-a-line", "FROM a\nRUN a \\\n\\\n b\n", AGREE, "`\\` alone continues"),
    Edge("backslash-alone-first-line", "\\\nFROM a\n", AGREE, "joins with FROM a"),
    Edge("backslash-alone-whole-file", "\\\n", REJECTED, "an empty instruction: unknown instruction ''"),
    Edge("continuation-at-eof", "FROM a\nRUN a \\", AGREE),
    Edge("continuation-at-eof-with-newline", "FROM a\nRUN a \\\n", AGREE),
    Edge("continuation-then-comment-at-eof", "FROM a\nRUN a \\\n# c\n", AGREE),
    Edge("comment-between-continuation-lines", "FROM a\nRUN a \\\n# c\nb\n", AGREE),
    Edge("indented-comment-in-continuation", "FROM a\nRUN a \\\n   # c\nb\n", AGREE),
    Edge("whitespace-only-continuation-lines", "FROM a\nRUN a \\\n   \n\t\nb\n", AGREE),
    Edge("empty-continuation-line", "FROM a\nRUN a \\\n\nb\n", AGREE),
    Edge("trailing-blanks-after-escape", "FROM a\nRUN a \\ \t \nb\n", AGREE),
    Edge("nbsp-after-escape", "FROM a\nRUN a \\\u00a0\nb\n", REJECTED, "only space/tab may follow"),
    Edge("cr-space-after-escape", "FROM a\nRUN a \\\r \nb\n", REJECTED, "\\r is trimmed only at the end"),
    Edge("escape-then-crlf", "FROM a\nRUN a \\\r\nb\n", AGREE),
    Edge("continuation-splits-keyword", "FROM a\nRU\\\nN b\n", AGREE),
    Edge("continuation-right-after-keyword", "FROM a\nRUN\\\n b\n", AGREE),
    Edge("directive-looking-comment-in-continuation", "FROM a\nRUN a \\\n# escape=`\nb\n", AGREE),
    Edge("500-continuations", "FROM a\nRUN a" + " \\\n b" * 500 + "\n", AGREE),
    Edge("backtick-escape-continuation", "# escape=`\nFROM a\nRUN a `\n b\n", AGREE),
    Edge("backtick-escape-backslash-literal", "# escape=`\nFROM a\nRUN a \\\nRUN b\n", AGREE),
    Edge("backtick-escape-env-words", "# escape=`\nFROM a\nENV A=b` c\n", AGREE,
         "parseWords uses the escape token"),
    Edge("backtick-escape-label-words", "# escape=`\nFROM a\nLABEL x=a` b\n", AGREE,
         ),
    Edge("backtick-escape-arg-words", "# escape=`\nFROM a\nARG x=a` b\n", AGREE),
    # ---- directives
    Edge("directive-after-blank-line", "\n# escape=`\nFROM a\nRUN a `\nb\n", REJECTED,
         "a blank line ends directive scanning: ` is literal and `b` an instruction"),
    Edge("directive-after-comment", "# x\n# escape=`\nFROM a\n", AGREE),
    Edge("directive-after-instruction", "FROM a\n# escape=`\n# escape=`\n", AGREE, "just comments"),
    Edge("duplicate-escape", "# escape=`\n# escape=`\nFROM a\n", ERROR),
    Edge("duplicate-escape-different", "# escape=`\n# escape=\\\nFROM a\n", ERROR),
    Edge("duplicate-syntax", "# syntax=a\n# SYNTAX=b\nFROM a\n", ERROR, "keys are case-insensitive"),
    Edge("invalid-escape-token", "# escape=x\nFROM a\n", ERROR),
    Edge("empty-escape-value", "# escape=\nFROM a\n", AGREE, "(.+?) needs a value: not a directive"),
    Edge("unknown-directive", "# foo=bar\nFROM a\n", AGREE),
    Edge("unknown-directive-then-escape", "# foo=bar\n# escape=`\nFROM a\nRUN a `\nb\n", REJECTED,
         "an unknown key ends directive scanning"),
    Edge("directive-no-space", "#escape=`\nFROM a\nRUN a `\nb\n", AGREE),
    Edge("directive-indented", "   # escape=`\nFROM a\nRUN a `\nb\n", AGREE),
    Edge("directive-spaces-around", "#   ESCAPE   =   `   \nFROM a\nRUN a `\n b\n", AGREE),
    Edge("directive-after-bom", "\ufeff# escape=`\nFROM a\nRUN a `\nb\n", AGREE),
    Edge("directive-key-starting-with-digit", "# 1escape=`\n# escape=`\nFROM a\nRUN a `\nb\n", REJECTED),
    Edge("check-then-escape", "# check=skip=all\n# escape=`\nFROM a\nRUN a `\nb\n", NEWER,
         KNOWN_DIFFERENCES["check-directive"], expect=[("FROM", ["a"]), ("RUN", ["a b"])]),
    Edge("duplicate-check", "# check=skip=all\n# check=error=true\nFROM a\n", NEWER,
         KNOWN_DIFFERENCES["check-directive"], expect="error"),
    Edge("directive-vtab-after-hash", "#\x0bescape=`\nFROM a\nRUN a `\nb\n", NEWER,
         KNOWN_DIFFERENCES["directive-unicode-space"], expect=[("FROM", ["a"]), ("RUN", ["a b"])],
         pending="directive-unicode-space"),
    Edge("directive-nbsp-after-hash", "#\u00a0escape=`\nFROM a\nRUN a `\nb\n", NEWER,
         KNOWN_DIFFERENCES["directive-unicode-space"], expect=[("FROM", ["a"]), ("RUN", ["a b"])],
         pending="directive-unicode-space"),
    # ---- line endings, BOM, odd bytes
    Edge("cr-cr-lf", "FROM a\r\r\nRUN b \\\r\r\n c\r\r\n", AGREE, "all trailing \\r and \\n are trimmed"),
    Edge("lone-cr-is-not-a-line-break", "FROM a\rRUN b\r", REJECTED, "one line: FROM with 3 args"),
    Edge("cr-inside-line", "FROM a\nRUN a\rb\n", AGREE),
    Edge("bom", "\ufeffFROM a\n", AGREE),
    Edge("bom-only", "\ufeff", ERROR, "file with no instructions"),
    Edge("bom-twice", "\ufeff\ufeffFROM a\n", REJECTED, "only one BOM is stripped; U+FEFF is no space"),
    Edge("bom-on-second-line", "FROM a\n\ufeffRUN b\n", REJECTED),
    Edge("keyword-nbsp-separator", "FROM\u00a0a\n", REJECTED, "only ASCII blanks split the keyword"),
    Edge("keyword-vtab-separator", "FROM\x0ba\n", AGREE),
    Edge("keyword-formfeed-separator", "FROM a\nRUN\x0cecho\n", AGREE),
    Edge("leading-unicode-space", "\u2003FROM a\n", AGREE, "leading unicode.IsSpace is trimmed"),
    Edge("nul-byte", "FROM a\nRUN a\x00b\n", AGREE, "oracle cannot represent NUL: decruft must just parse"),
    Edge("invalid-utf8-in-run", b"FROM a\nRUN echo \xff\xfe\n", AGREE, "oracle cannot represent it"),
    # ---- the 64 KiB line limit
    Edge("line-65535-bytes", "FROM a\nRUN " + "x" * (X - 4) + "\n", AGREE, "65535 bytes incl. the newline"),
    Edge("line-65536-bytes", "FROM a\nRUN " + "x" * (X + 1 - 4) + "\n", ERROR),
    Edge("line-65535-bytes-at-eof", "FROM a\nRUN " + "x" * (X - 4), AGREE),
    Edge("line-65536-bytes-at-eof", "FROM a\nRUN " + "x" * (X + 1 - 4), ERROR),
    Edge("long-comment-line", "FROM a\n# " + "x" * 70000 + "\n", ERROR, "comments count too"),
    Edge("long-heredoc-line", "FROM a\nRUN <<EOF\n" + "x" * 70000 + "\nEOF\n", ERROR,
         "BuildKit reports it as an unterminated heredoc"),
    # ---- heredocs
    Edge("unterminated-heredoc", "FROM a\nRUN <<EOF\nx\n", ERROR),
    Edge("second-heredoc-unterminated", "FROM a\nRUN <<A <<B\na\nA\nb\n", ERROR),
    Edge("tabs-before-chomp-terminator", "FROM a\nRUN <<-EOF\n\tx\n\t\tEOF\n", AGREE),
    Edge("tab-before-plain-terminator", "FROM a\nRUN <<EOF\n\tEOF\nEOF\n", AGREE, "not a terminator without -"),
    Edge("spaces-before-chomp-terminator", "FROM a\nRUN <<-EOF\n  EOF\nEOF\n", AGREE, "only tabs are stripped"),
    Edge("terminator-trailing-space", "FROM a\nRUN <<EOF\nx\nEOF \nEOF\n", AGREE),
    Edge("heredoc-crlf", "FROM a\nRUN <<EOF\r\nx\r\nEOF\r\n", AGREE),
    Edge("heredoc-chomp-crlf", "FROM a\nRUN <<-EOF\r\n\tx\r\n\tEOF\r\n", AGREE),
    Edge("heredoc-then-next-instruction", "FROM a\nRUN <<EOF\nx\nEOF\nRUN b\n", AGREE),
    Edge("heredoc-quoted-single", "FROM a\nRUN <<'EOF'\n$x\nEOF\n", AGREE),
    Edge("heredoc-quoted-double", "FROM a\nRUN <<\"EOF\"\n$x\nEOF\n", AGREE),
    Edge("heredoc-partly-quoted", "FROM a\nRUN <<E'O'F\nx\nEOF\n", AGREE),
    Edge("heredoc-quoted-with-space", "FROM a\nRUN <<'A B'\nx\nA B\n", AGREE),
    Edge("heredoc-several", "FROM a\nCOPY <<a <<b /d/\n1\na\n2\nb\n", AGREE),
    Edge("heredoc-fd", "FROM a\nRUN 3<<EOF cat <&3\nx\nEOF\n", AGREE),
    Edge("heredoc-fd-two-digits", "FROM a\nRUN 10<<EOF cat\nx\nEOF\n", AGREE),
    Edge("heredoc-name-with-redirect", "FROM a\nRUN cat <<EOF>out\nx\nEOF>out\n", AGREE, "the word is EOF>out"),
    Edge("heredoc-in-double-quotes", "FROM a\nRUN echo \"<<EOF\"\n", AGREE),
    Edge("heredoc-escaped", "FROM a\nRUN echo \\<<EOF\n", AGREE),
    Edge("heredoc-variable-name", "FROM a\nRUN <<$X\nx\n$X\n", AGREE),
    Edge("heredoc-braced-variable-name", "FROM a\nRUN <<${X}\nx\n${X}\n", AGREE),
    Edge("heredoc-lowercase-run", "FROM a\nrun <<EOF\nx\nEOF\n", AGREE),
    Edge("heredoc-after-continuation", "FROM a\nRUN cat \\\n<<EOF\nx\nEOF\n", AGREE),
    Edge("heredoc-body-with-escape", "FROM a\nRUN <<EOF\nx \\\ny\nEOF\n", AGREE),
    Edge("heredoc-backtick-escape", "# escape=`\nFROM a\nRUN <<EOF `\n cat\nx\nEOF\n", AGREE),
    Edge("heredoc-with-mount", "FROM a\nRUN --mount=type=cache,target=/x <<EOF\nx\nEOF\n", AGREE),
    Edge("heredoc-onbuild-run", "FROM a\nONBUILD RUN <<EOF\nx\nEOF\n", AGREE),
    Edge("heredoc-onbuild-copy", "FROM a\nONBUILD COPY <<EOF /x\nx\nEOF\n", AGREE),
    Edge("heredoc-empty-body", "FROM a\nRUN <<EOF\nEOF\n", AGREE),
    Edge("heredoc-at-eof-no-newline", "FROM a\nRUN <<EOF\nx\nEOF", AGREE),
    Edge("heredoc-in-env-is-text", "FROM a\nENV A=<<EOF\n", AGREE),
    Edge("heredoc-nul-in-body", "FROM a\nRUN <<EOF\nx\x00y\nEOF\n", AGREE, "oracle cannot represent NUL"),
    Edge("heredoc-json-form", "FROM a\nRUN [\"<<EOF\"]\nEOF\n", REJECTED, "no heredocs in exec form"),
    Edge("heredoc-in-cmd", "FROM a\nCMD <<EOF\nx\nEOF\n", REJECTED, "only RUN/COPY/ADD take heredocs"),
    Edge("heredoc-empty-name", "FROM a\nRUN <<\nx\n", REJECTED),
    Edge("heredoc-dash-only", "FROM a\nRUN <<-\nx\n", REJECTED),
    Edge("heredoc-triple-angle", "FROM a\nRUN <<<EOF\nx\n", REJECTED),
    Edge("heredoc-as-copy-destination", "FROM a\nCOPY a <<EOF\nx\nEOF\n", REJECTED),
    Edge("copy-destination-bad-substitution", "FROM a\nCOPY x <<${a.}\n", AGREE,
         "not a heredoc: the lexer error is ignored"),
    Edge("copy-destination-open-quote", "FROM a\nCOPY x <<\"\n", AGREE),
    Edge("add-destination-open-quote", "FROM a\nADD x <<'\n", AGREE),
    Edge("run-heredoc-bad-substitution", "FROM a\nRUN <<${a.}\nx\n", REJECTED,
         "whole-line lexing fails, so no heredoc: `x` is an instruction"),
    # ---- JSON / shell form
    Edge("json-invalid-falls-back", "FROM a\nCMD [\"a\", 'b']\n", AGREE),
    Edge("json-trailing-comma", "FROM a\nCMD [\"a\",]\n", AGREE),
    Edge("json-object", "FROM a\nCMD {\"a\": 1}\n", AGREE),
    Edge("json-empty", "FROM a\nCMD []\n", AGREE),
    Edge("json-blanks", "FROM a\nCMD   [ \"a\" ,\t\"b\" ]   \n", AGREE),
    Edge("json-unicode-escapes", "FROM a\nCMD [\"\\u00e9\\ud83d\\ude00\"]\n", AGREE),
    Edge("json-copy-spaces", "FROM a\nCOPY [\"a b\", \"/c d/\"]\n", AGREE),
    Edge("json-non-string", "FROM a\nCMD [\"a\", 1]\n", ERROR),
    Edge("json-nested", "FROM a\nCMD [[\"a\"]]\n", ERROR),
    Edge("json-null", "FROM a\nCMD [null]\n", ERROR),
    Edge("json-copy-non-string", "FROM a\nCOPY [\"a\", 1]\n", ERROR),
    Edge("json-trailing-text", "FROM a\nCMD [\"a\"] b\n", AGREE),
    Edge("json-extra-bracket", "FROM a\nCMD [\"a\"]]\n", AGREE),
    Edge("json-then-heredoc", "FROM a\nRUN [ ] <<EOF\nEOF\n", REJECTED,
         "`[ ]` is JSON (trailing text ignored), so no heredoc: `EOF` is an instruction"),
    Edge("json-lone-surrogate", "FROM a\nCMD [\"\\ud800\"]\n", AGREE),
    Edge("shell-not-json", "FROM a\nSHELL sh -c\n", REJECTED),
    # ---- ENV / LABEL / ARG
    Edge("env-old-form", "FROM a\nENV A b c\n", AGREE),
    Edge("env-old-form-tabs", "FROM a\nENV A\t\tb  c\n", AGREE),
    Edge("env-quotes-and-escapes", "FROM a\nENV A=\"x y\" B='z w' C=a\\ b D=\"q \\\"r\\\"\"\n", AGREE),
    Edge("env-unterminated-quote", "FROM a\nENV A=\"x y\n", AGREE),
    Edge("env-equals-in-value", "FROM a\nENV A=b=c\n", AGREE),
    Edge("env-trailing-escape", "FROM a\nENV A=b\\\n", AGREE),
    Edge("env-unicode-space", "FROM a\nENV A=b\u00a0C=d\n", AGREE),
    Edge("env-one-word", "FROM a\nENV A\n", ERROR, "ENV must have two arguments"),
    Edge("env-missing-equals", "FROM a\nENV A=1 B\n", ERROR),
    Edge("env-empty", "FROM a\nENV\n", REJECTED),
    Edge("env-blank-name", "FROM a\nENV =x\n", REJECTED),
    Edge("label-old-form", "FROM a\nLABEL a b\n", AGREE),
    Edge("label-quoted-key", "FROM a\nLABEL \"a b\"=c\n", AGREE),
    Edge("arg-forms", "FROM a\nARG A\nARG B=1\nARG C=\"x y\"\nARG D E=2\n", AGREE),
    Edge("arg-empty", "FROM a\nARG\n", REJECTED),
    Edge("arg-blank-name", "FROM a\nARG =1\n", REJECTED),
    # ---- file level
    Edge("empty-file", "", ERROR),
    Edge("comment-only", "# just a comment\n", ERROR),
    Edge("blank-lines-only", "\n\n  \n", ERROR),
    Edge("no-from", "RUN a\n", REJECTED),
    Edge("arg-only", "ARG A\n", REJECTED),
    Edge("unknown-instruction", "FROM a\nFOO bar\n", REJECTED),
    # ---- FROM
    Edge("from-two-args", "FROM a b\n", REJECTED),
    Edge("from-four-args", "FROM a AS b c\n", REJECTED),
    Edge("from-no-args", "FROM\n", REJECTED),
    Edge("from-bad-stage-name", "FROM a AS 1b\n", REJECTED),
    Edge("from-stage-name-case", "FROM a AS Build\nFROM a as x.y\nFROM a As x_y\n", AGREE),
    Edge("from-platform", "FROM --platform=linux/amd64 a\n", AGREE),
    Edge("from-unknown-flag", "FROM --foo=bar a\n", REJECTED),
    # ---- flags
    Edge("flag-unknown", "FROM a\nRUN --foo=bar x\n", REJECTED),
    Edge("flag-upper-case", "FROM a\nRUN --MOUNT=type=cache,target=/x x\n", REJECTED, "flag names are case-sensitive"),
    Edge("flag-missing-value", "FROM a\nRUN --mount x\n", REJECTED),
    Edge("flag-double-dash-ends-flags", "FROM a\nRUN -- --mount x\n", AGREE),
    Edge("flag-only", "FROM a\nRUN --network=none\n", AGREE),
    Edge("flag-double-quoted", "FROM a\nRUN --mount=\"type=cache,target=/x\" x\n", AGREE),
    Edge("flag-single-quoted", "FROM a\nRUN --mount='type=cache,target=/x' x\n", AGREE),
    Edge("flag-escaped-space", "FROM a\nRUN --mount=type=cache,target=/a\\ b x\n", AGREE),
    Edge("flag-bad-mount-type", "FROM a\nRUN --mount=type=foo x\n", REJECTED),
    Edge("flag-bad-mount-key", "FROM a\nRUN --mount=type=cache,foo=bar x\n", REJECTED),
    Edge("flag-bad-network", "FROM a\nRUN --network=bogus x\n", REJECTED),
    Edge("flag-bad-security", "FROM a\nRUN --security=bogus x\n", REJECTED),
    Edge("flag-bool-bad-value", "FROM a\nCOPY --link=yes a b\n", REJECTED),
    Edge("flag-bool-empty-value", "FROM a\nCOPY --link= a b\n", REJECTED),
    Edge("flag-string-empty-value", "FROM a\nCOPY --chown= a b\n", AGREE),
    Edge("flag-duplicate", "FROM a\nCOPY --from=a --from=b a b\n", REJECTED),
    Edge("flag-repeatable", "FROM a\nCOPY --parents --exclude=x --exclude=y a b\n", AGREE),
    Edge("flag-quoted-from", "FROM a\nCOPY --from=\"b c\" x y\n", AGREE),
    Edge("flag-then-double-dash", "FROM a\nCOPY --chown=1 -- a b\n", AGREE),
    # ---- per-instruction argument checks
    Edge("copy-one-arg", "FROM a\nCOPY a\n", REJECTED),
    Edge("healthcheck-none-with-args", "FROM a\nHEALTHCHECK NONE x\n", REJECTED),
    Edge("healthcheck-bad-type", "FROM a\nHEALTHCHECK FOO x\n", REJECTED),
    Edge("healthcheck-cmd-without-command", "FROM a\nHEALTHCHECK CMD\n", REJECTED),
    Edge("healthcheck-bad-duration", "FROM a\nHEALTHCHECK --interval=abc CMD x\n", REJECTED),
    Edge("healthcheck-too-short", "FROM a\nHEALTHCHECK --interval=1ns CMD x\n", REJECTED),
    Edge("healthcheck-negative-retries", "FROM a\nHEALTHCHECK --retries=-1 CMD x\n", REJECTED),
    Edge("healthcheck-json", "FROM a\nHEALTHCHECK --interval=5s CMD [\"a\", \"b\"]\n", AGREE),
    Edge("onbuild-onbuild", "FROM a\nONBUILD ONBUILD RUN x\n", REJECTED),
    Edge("onbuild-from", "FROM a\nONBUILD FROM x\n", REJECTED),
    Edge("onbuild-maintainer", "FROM a\nONBUILD MAINTAINER x\n", REJECTED),
    Edge("onbuild-empty", "FROM a\nONBUILD\n", REJECTED),
    Edge("onbuild-unknown-flag", "FROM a\nONBUILD --foo RUN x\n", REJECTED),
    Edge("onbuild-trigger-flags", "FROM a\nONBUILD RUN --mount=type=cache,target=/x make\n", AGREE),
    Edge("onbuild-unknown-trigger", "FROM a\nONBUILD FOO x\n", NEWER,
         "BuildKit only parses the trigger when a child image builds",
         expect=[("FROM", ["a"]), ("ONBUILD", [""])]),
    Edge("one-arg-instructions-empty", "FROM a\nWORKDIR\n", REJECTED),
    Edge("user-empty", "FROM a\nUSER\n", REJECTED),
    Edge("expose-empty", "FROM a\nEXPOSE\n", REJECTED),
    Edge("volume-empty-string", "FROM a\nVOLUME [\"\"]\n", REJECTED),
    Edge("volume-empty-list", "FROM a\nVOLUME []\n", REJECTED),
    Edge("empty-run-cmd-entrypoint", "FROM a\nRUN\nCMD\nENTRYPOINT\nRUN    \n", AGREE),
    Edge("string-instructions-keep-spaces", "FROM a\nWORKDIR a b\nUSER a b\nMAINTAINER a b c\n", AGREE),
]


def _edge_params():
    for edge in EDGE_CASES:
        marks = []
        if edge.pending:
            marks.append(pytest.mark.xfail(strict=True, reason=PENDING_FIXES[edge.pending]))
        yield pytest.param(edge, id=edge.id, marks=marks)


def _ours_summary(df: Any) -> list[tuple[str, list[str]]]:
    out = []
    for ins in df.instructions:
        target = ins.onbuild_inner or ins
        out.append((ins.keyword, list(target.buildkit_value)))
    return out


@pytest.mark.parametrize("edge", list(_edge_params()))
def test_edge_case(edge: Edge):
    data = edge.data
    df, ours_err, cmds, theirs_err = None, None, None, None
    try:
        df = decruft.parse(data)
    except DockerfileSyntaxError as exc:
        ours_err = exc
    try:
        cmds = oracle_parse(data)
    except OracleError as exc:
        theirs_err = str(exc)
    except OracleCannotTell:
        cmds = "cannot tell"
    why = f" ({edge.why})" if edge.why else ""

    if edge.kind == ERROR:
        assert theirs_err is not None, f"oracle accepts it; the table is wrong{why}"
        assert ours_err is not None, f"BuildKit rejects this ({theirs_err}); decruft parses it{why}"
        return
    if edge.kind == REJECTED:
        assert theirs_err is None, f"oracle's parser rejects it ({theirs_err}); use ERROR{why}"
        assert ours_err is not None, f"BuildKit's instruction layer rejects this; decruft parses it{why}"
        return
    if edge.kind == NEWER:
        if edge.expect == "error":
            assert ours_err is not None, f"current BuildKit rejects this; decruft parses it{why}"
        else:
            assert ours_err is None, f"current BuildKit accepts this; decruft: {ours_err}{why}"
            assert _ours_summary(df) == edge.expect, why
        return
    # AGREE
    if theirs_err is not None:
        assert ours_err is not None, f"BuildKit rejects this ({theirs_err}); decruft parses it{why}"
        return
    assert ours_err is None, f"BuildKit accepts this; decruft: {ours_err}{why}"
    assert df.to_bytes() == data
    if cmds == "cannot tell":
        return
    mismatches = compare(df, cmds)
    assert not mismatches, report(mismatches, data)


def test_edge_case_ids_are_unique():
    ids = [e.id for e in EDGE_CASES]
    assert len(ids) == len(set(ids))


def test_known_error_positions():
    """Errors carry the place BuildKit reports (1-based line of the offending instruction)."""
    cases = {
        "FROM a\nRUN <<EOF\nx\n": 2,
        "# escape=`\n# escape=`\nFROM a\n": 2,
        "FROM a\nRUN ok\nFOO bar\n": 3,
        "FROM a\nRUN a \\\n  b\nCOPY a\n": 4,
        "FROM a\nRUN " + "x" * 70000 + "\n": 2,
    }
    for source, line in cases.items():
        with pytest.raises(DockerfileSyntaxError) as info:
            decruft.parse(source, path="Dockerfile")
        assert info.value.line == line, (source[:40], info.value)
        assert info.value.file == "Dockerfile"


# =======================================================================================
# 3. Differential property test: Dockerfile-ish token soup, both parsers.

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TOKENS = [
    "RUN", "run", "COPY", "ADD", "ENV", "LABEL", "ARG", "CMD", "ENTRYPOINT", "ONBUILD", "WORKDIR", "USER",
    "EXPOSE", "VOLUME", "HEALTHCHECK", "SHELL", "STOPSIGNAL", "MAINTAINER", "FROM", "AS",
    " ", " ", " ", "  ", "\t", "\\", "\\", "`", "#", "# c", "=", "a", "b=c", "x", "EOF", "<<EOF", "<<-EOF",
    "<<'EOF'", "3<<EOF", "\tEOF", "[", "]", "\"", "'", ",", "\"a\"", "[\"a\", \"b\"]", "${A:-b}", "$A",
    "--mount=type=cache,target=/x", "--from=a", "--chown=1:1", "--link", "--", "--network=none",
    "\r", "CMD", "NONE", "\\\\", "\u00e9",
]
LINE_ENDS = ["\n", "\n", "\n", "\r\n", "\\\n", " \\\n", "`\n", "\r\r\n"]


@st.composite
def dockerfileish(draw) -> bytes:
    parts = []
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["# escape=`\n", "# syntax=x\n", "# check=a\n", "\ufeff", "\n"])))
    if draw(st.integers(0, 3)):
        parts.append("FROM a\n")
    for _ in range(draw(st.integers(1, 8))):
        line = "".join(draw(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=8)))
        parts.append(line + draw(st.sampled_from(LINE_ENDS)))
    return "".join(parts).encode("utf-8")


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfileish())
def test_differential_token_soup(data: bytes):
    """BuildKit parser error => decruft error; decruft parses => all fields match BuildKit."""
    assume(pending_fix_for(data) is None)
    try:
        df = decruft.parse(data)
        ours_err = None
    except DockerfileSyntaxError as exc:
        df, ours_err = None, exc
    try:
        cmds = oracle_parse(data)
    except OracleError as exc:
        assert ours_err is not None, f"BuildKit rejects ({exc}); decruft parses {data!r}"
        return
    except OracleCannotTell:
        return
    if ours_err is not None:
        return  # may be the instruction layer (unknown instruction, bad flag...)
    if b"# check=" in data[:40]:
        return  # KNOWN_DIFFERENCES["check-directive"]
    mismatches = compare(df, cmds)
    assert not mismatches, report(mismatches, data)
