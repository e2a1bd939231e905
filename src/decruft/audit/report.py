"""Audit output: human (rich), JSON, SARIF 2.1.0 and GitHub workflow annotations.

JSON schema (``schema_version`` 1)::

    {"schema_version": 1, "tool": {"name": "decruft", "version": str},
     "findings": [{"file", "rule", "name", "severity", "line", "end_line", "column",
                   "end_column", "message", "stage", "stake": null | {"bytes", "measured",
                   "rebuild", "note"}, "notes": [str],
                   "fix": null | {"description", "applicability"}}],
     "errors": [{"file", "line", "column", "message",
                 "kind": "input" | "syntax" | "internal"}],
     "summary": {"files", "findings", "by_severity": {...}, "by_rule": {...},
                 "bytes_at_stake", "exit_code"}}
"""

from __future__ import annotations

import hashlib
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from typing import TYPE_CHECKING

from decruft import jsonout
from decruft import __version__
from decruft.audit import AuditResult
from decruft.audit.rule import Finding, Severity, all_rules, format_bytes, get_rule
from decruft.errors import DecruftError
from decruft.gcpause import gc_paused

if TYPE_CHECKING:
    from rich.console import Console

# rich is imported by the human-output functions only: JSON, SARIF and GitHub output (CI,
# pre-commit) skip its import, a third of a one-file audit's start-up.

SCHEMA_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    stake = finding.stake
    return {
        "file": finding.file,
        "rule": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "line": finding.line,
        "end_line": finding.end_line,
        "column": finding.column,
        "end_column": finding.end_column,
        "message": finding.message,
        "stage": finding.stage,
        "stake": None
        if stake is None
        else {"bytes": stake.bytes, "measured": stake.measured, "rebuild": stake.rebuild, "note": stake.note},
        "notes": finding.notes,
        "fix": None
        if finding.fix is None
        else {"description": finding.fix.description, "applicability": finding.fix.applicability.value},
    }


def _errors(result: AuditResult) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = [
        {"file": None, "line": None, "column": None, "message": text, "kind": "input"}
        for text in result.input_errors
    ]
    for file in result.files:
        if file.syntax_error is not None:
            exc = file.syntax_error
            errors.append(
                {"file": file.path, "line": exc.line, "column": exc.column, "message": exc.message, "kind": "syntax"}
            )
        if file.error is not None:
            errors.append({"file": file.path, "line": None, "column": None, "message": file.error, "kind": "input"})
        errors.extend({"file": file.path, "line": None, "column": None, "message": text, "kind": "internal"}
                      for text in file.internal_errors)
    return errors


def summary(result: AuditResult) -> dict[str, Any]:
    findings = result.findings
    by_rule: dict[str, int] = {}
    for finding in findings:
        by_rule[finding.code] = by_rule.get(finding.code, 0) + 1
    return {
        "files": len(result.files),
        "findings": len(findings),
        "by_severity": {level.value: sum(f.severity is level for f in findings) for level in Severity},
        "by_rule": dict(sorted(by_rule.items())),
        "bytes_at_stake": sum(f.stake.bytes for f in findings if f.stake and f.stake.bytes),
        "exit_code": result.exit_code(),
    }


def to_json(result: AuditResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "decruft", "version": __version__},
        "findings": [finding_to_dict(f) for f in result.findings],
        "errors": _errors(result),
        "summary": summary(result),
    }


# ---------------------------------------------------------------------- SARIF
def _rule_metadata(code: str) -> dict[str, Any]:
    registered = get_rule(code)
    if registered is None:
        return {"id": code}
    help_text = f"{registered.why}\n\nBad:\n{registered.bad}\n\nGood:\n{registered.good}"
    if registered.fix:
        help_text += f"\n\nFix: {registered.fix}"
    return {
        "id": registered.code,
        "name": _pascal(registered.name),
        "shortDescription": {"text": registered.summary},
        "fullDescription": {"text": registered.why},
        "help": {"text": help_text, "markdown": _rule_markdown(registered)},
        "defaultConfiguration": {"level": _SARIF_LEVEL[registered.severity]},
        "properties": {"tags": list(dict.fromkeys([registered.category, "docker"])), "decruft-name": registered.name},
    }


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def _rule_markdown(registered) -> str:
    parts = [f"**{registered.code} {registered.name}**: {registered.summary}", "", registered.why, "",
             "Bad:", "```dockerfile", registered.bad, "```", "Good:", "```dockerfile", registered.good, "```"]
    if registered.fix:
        parts += ["", f"Fix ({registered.applicability.value if registered.applicability else 'manual'}): {registered.fix}"]
    return "\n".join(parts)


def to_sarif(result: AuditResult) -> dict[str, Any]:
    codes = sorted({f.code for f in result.findings} | {r.code for r in all_rules()})
    index = {code: position for position, code in enumerate(codes)}
    results = []
    fingerprints = _Fingerprints(result)
    for finding in result.findings:
        # SARIF (and GitHub code scanning) need 1-based lines and columns.
        start_line = max(finding.line, 1)
        end_line = max(finding.end_line, start_line)
        region = {
            "startLine": start_line,
            "startColumn": max(finding.column, 1),
            "endLine": end_line,
            "endColumn": max(finding.end_column, 1),
        }
        if end_line == start_line and region["endColumn"] < region["startColumn"]:
            region["endColumn"] = region["startColumn"]
        message = finding.message
        if finding.stake is not None:
            message += f" (at stake: {finding.stake.describe()})"
        entry: dict[str, Any] = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(finding.file)},
                        "region": region,
                    }
                }
            ],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprints.of(finding)},
            "properties": {"stage": finding.stage, "notes": finding.notes},
        }
        if finding.fix is not None and finding.fix.edits and finding.fix.file is None:
            entry["fixes"] = [
                {
                    "description": {"text": finding.fix.description},
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": _uri(finding.file)},
                            "replacements": [
                                {
                                    "deletedRegion": {"charOffset": edit.span.start, "charLength": edit.span.end - edit.span.start},
                                    "insertedContent": {"text": edit.replacement},
                                }
                                for edit in finding.fix.edits
                            ],
                        }
                    ],
                }
            ]
        results.append(entry)
    notifications = [
        {
            "level": "error",
            "message": {"text": error["message"]},
            **(
                {"locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(error["file"])},
                                                      "region": {"startLine": error["line"] or 1}}}]}
                if error["file"]
                else {}
            ),
        }
        for error in _errors(result)
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "decruft",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/decruft/",
                        "rules": [_rule_metadata(code) for code in codes],
                    }
                },
                "invocations": [
                    {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}
                ],
                "results": results,
            }
        ],
    }


@lru_cache(maxsize=4096)  # every result and fingerprint of a file asks again
def _uri(path: str | None) -> str:
    """A valid URI reference for a path: relative paths percent-encoded, absolute ones as file:// URIs."""
    if not path or path == "-":
        return "stdin"
    posix = path.replace("\\", "/")
    while posix.startswith("./"):
        posix = posix[2:]
    if Path(path).is_absolute() or posix.startswith("/"):
        return Path(path).as_uri() if Path(path).is_absolute() else "file://" + quote(posix)
    return quote(posix, safe="/")


FINGERPRINT_KEY = "decruftFindingHash/v1"


class _Fingerprints:
    """Stable ids for ``partialFingerprints``: rule, file and the flagged source text.

    Line numbers are left out so that an alert survives edits above it; identical
    findings in one file are told apart by their order.  Without the source (stdin)
    the message with digits masked stands in for the text.
    """

    def __init__(self, result: AuditResult) -> None:
        self._files = {file.path: file for file in result.files}
        self._lines: dict[str, list[str]] = {}
        self._seen: dict[str, int] = {}

    def _source(self, path: str | None) -> list[str]:
        if not path or path == "-":
            return []
        if path not in self._lines:
            file = self._files.get(path)
            self._lines[path] = _source_lines(file) if file is not None else _read_lines(path)
        return self._lines[path]

    def of(self, finding: Finding) -> str:
        lines = self._source(finding.file)
        if lines and 1 <= finding.line <= len(lines):
            last = min(max(finding.end_line, finding.line), len(lines))
            text = " ".join(" ".join(lines[number - 1].split()) for number in range(finding.line, last + 1))
        else:
            text = re.sub(r"\d+", "#", finding.message)
        key = "\0".join((finding.code, _uri(finding.file), text))
        occurrence = self._seen.get(key, 0)
        self._seen[key] = occurrence + 1
        return hashlib.sha256(f"{key}\0{occurrence}".encode()).hexdigest()[:32] + f":{occurrence + 1}"


# ---------------------------------------------------------------------- GitHub annotations
def _gh_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def to_github(result: AuditResult) -> list[str]:
    lines = []
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    for finding in result.findings:
        props = (
            f"file={_gh_escape(finding.file or 'Dockerfile', True)},line={finding.line},col={finding.column},"
            f"endLine={finding.end_line},endColumn={finding.end_column},"
            f"title={_gh_escape(f'{finding.code} {finding.name}', True)}"
        )
        message = finding.message
        if finding.stake is not None:
            message += f" (at stake: {finding.stake.describe()})"
        lines.append(f"::{level[finding.severity]} {props}::{_gh_escape(message)}")
    for error in _errors(result):
        where = f" file={_gh_escape(error['file'], True)},line={error['line'] or 1}" if error["file"] else ""
        lines.append(f"::error{where}::{_gh_escape(error['message'])}")
    return lines


# ---------------------------------------------------------------------- human output
def print_text(result: AuditResult, console: "Console | None" = None) -> None:
    # Each file's report is built as one styled Text and printed at once: rich parses markup and
    # measures the console on every print call, which cost ~2 ms per finding (8 calls each).
    # Without colours (a file, a pipe, a CI log) the report is built as plain strings instead:
    # rich's Text.append (control codes stripped piece by piece, spans kept) was 90 % of the
    # text output's cost, 1.9 s for the 12,916 findings of the benchmark corpus.
    from rich.console import Console
    from rich.markup import escape
    from rich.text import Text

    console = console or Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    styled = console.color_system is not None or console.record
    new_report = Text if styled else _PlainReport
    for text in result.input_errors:
        err.print(f"[bold red]error:[/] {escape(text)}")
    for file in result.files:
        if file.error:
            err.print(f"[bold red]error:[/] {escape(file.error)}")
            continue
        if file.syntax_error is not None:
            exc = file.syntax_error
            err.print(f"[bold red]syntax error:[/] {escape(str(exc))}")
            continue
        for text in file.internal_errors:
            err.print(f"[bold red]internal error:[/] {escape(file.path)}: {escape(text)}")
        report = new_report()
        if not file.findings:
            if not file.internal_errors:  # not "no problems" when a rule could not run
                report.append("✓", "green")
                report.append(f" {file.path}: no problems found")
                _emit(console, report)
            continue
        report.append(file.path, "bold underline")
        lines = _source_lines(file)
        for finding in file.findings:
            _append_finding(report, finding, lines)
        for warning in file.warnings:
            report.append(f"\n  note: {warning}", "dim")
        _emit(console, report)
    data = summary(result)
    if data["findings"]:
        counts = ", ".join(f"{count} {level}" for level, count in data["by_severity"].items() if count)
        stake = f"; about {format_bytes(data['bytes_at_stake'])} at stake" if data["bytes_at_stake"] else ""
        console.print(f"\n[bold]{data['findings']} finding(s)[/] ({counts}){stake}")


def _expand_tabs(text: str, tab_size: int = 8) -> tuple[str, list[int]]:
    """``text`` with tabs expanded to the next multiple of ``tab_size`` columns of the source line
    (as an editor shows it), and the display column of each character index (one more entry for
    the end), so that the marker under a span lines up with what is shown."""
    if "\t" not in text:
        return text, list(range(len(text) + 1))
    pieces: list[str] = []
    columns: list[int] = []
    column = 0
    for char in text:
        columns.append(column)
        width = tab_size - column % tab_size if char == "\t" else 1
        pieces.append(" " * width if char == "\t" else char)
        column += width
    columns.append(column)
    return "".join(pieces), columns


class _PlainReport:
    """The parts of rich's ``Text`` a report uses, for output without colours: the pieces are
    only joined (styles dropped)."""

    __slots__ = ("pieces",)

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def append(self, text: str, style: str | None = None) -> None:
        self.pieces.append(text)


def _emit(console: "Console", report: "Text | _PlainReport") -> None:
    """Print ``report``; a plain one is written as rich would write it (control codes dropped,
    then tabs expanded), skipping rich's segment rendering."""
    if not isinstance(report, _PlainReport):
        console.print(report)
        return
    from rich.control import STRIP_CONTROL_CODES, strip_control_codes

    plain = "".join(report.pieces)
    # str.translate looks every character up (0.5 s, profiled, for the corpus's 7.9 MB report):
    # only when there is something to strip
    if any(chr(code) in plain for code in STRIP_CONTROL_CODES):
        plain = strip_control_codes(plain)
    if "\t" in plain:
        from rich.text import Text

        expanded = Text(plain)
        expanded.expand_tabs(console.tab_size)
        plain = expanded.plain
    console.file.write(plain + "\n")


def _source_lines(file) -> list[str]:
    return file.source.splitlines() if file.source is not None else _read_lines(file.path)


def _read_lines(path: str | None) -> list[str]:
    from decruft.files import read_source

    if not path or path == "-":
        return []
    try:
        return read_source(path).data.decode("utf-8", "replace").splitlines()
    except DecruftError:
        return []


def _append_finding(report: "Text | _PlainReport", finding: Finding, lines: list[str]) -> None:
    """One finding, each of its lines starting with a newline: the heading, the message, what is
    at stake, the source lines with the span marked, notes and the fix."""
    append = report.append
    style = _STYLE[finding.severity]
    append("\n  ")
    append(f"{finding.line}:{finding.column}", "bold")
    append(" ")
    append(finding.severity.value, style)
    append(" ")
    append(finding.code, "bold")
    append(f" {finding.name}")
    if finding.stage:
        append(" ")
        append(f"(stage {finding.stage})", "dim")
    append(f"\n    {finding.message}")
    if finding.stake is not None:
        append("\n    ")
        append("at stake:", "magenta")
        append(f" {finding.stake.describe()}")
    if lines and 1 <= finding.line <= len(lines):
        last = min(finding.end_line, finding.line + 3, len(lines))
        for number in range(finding.line, last + 1):
            text = lines[number - 1]
            shown, display_column = _expand_tabs(text)
            append("\n")
            append(f"    {number:>4} |", "dim")
            append(f" {shown}")
            start = finding.column if number == finding.line else 1
            end = finding.end_column if number == finding.end_line else len(text) + 1
            if end > start and number in (finding.line, finding.end_line):
                left = display_column[min(start - 1, len(text))]
                right = display_column[min(end - 1, len(text))]
                append("\n    ")
                append("     |", "dim")
                append(" " + " " * left)
                append("^" * max(1, min(right - left, len(shown) - left)), style)
        if finding.end_line > last:
            append("\n    ")
            append(f"     | … ({finding.end_line - last} more line(s))", "dim")
    for note in finding.notes:
        append("\n    ")
        append(f"note: {note}", "dim")
    if finding.fix is not None:
        append("\n    ")
        append(f"fix ({finding.fix.applicability.value}):", "green")
        append(f" {finding.fix.description}")


def render(result: AuditResult, output_format: str) -> None:
    # The reports are trees of fresh dicts and strings: the cyclic GC would only re-walk the
    # audit's results (a 2,000-file SARIF report spent most of its time in collections).
    with gc_paused():
        _render(result, output_format)


def _render(result: AuditResult, output_format: str) -> None:
    if output_format == "json":
        sys.stdout.write(jsonout.dumps(to_json(result)) + "\n")
    elif output_format == "sarif":
        sys.stdout.write(jsonout.dumps(to_sarif(result)) + "\n")
    elif output_format == "github":
        for line in to_github(result):
            sys.stdout.write(line + "\n")
    else:
        print_text(result)


# ---------------------------------------------------------------------- rule docs
def rule_to_dict(registered) -> dict[str, Any]:
    return {
        "code": registered.code,
        "name": registered.name,
        "severity": registered.severity.value,
        "category": registered.category,
        "summary": registered.summary,
        "why": registered.why,
        "bad": registered.bad,
        "good": registered.good,
        "fix": registered.fix,
        "applicability": registered.applicability.value if registered.applicability else None,
        "hadolint": list(registered.hadolint),
        "supersedes": list(registered.supersedes),
    }


def print_rules(output_format: str = "text") -> None:
    from rich.console import Console
    from rich.table import Table

    rules = all_rules()
    if output_format == "json":
        sys.stdout.write(jsonout.dumps([rule_to_dict(r) for r in rules]) + "\n")
        return
    table = Table(title="decruft rules", show_lines=False)
    for column in ("code", "name", "severity", "fix", "hadolint", "summary"):
        table.add_column(column)
    for registered in rules:
        table.add_row(
            registered.code,
            registered.name,
            registered.severity.value,
            registered.applicability.value if registered.applicability else "-",
            ",".join(registered.hadolint) or "-",
            registered.summary,
        )
    Console(highlight=False).print(table)


def print_rule_docs(code: str, output_format: str = "text") -> None:
    from rich.console import Console
    from rich.markup import escape

    registered = get_rule(code)
    if registered is None:
        raise DecruftError(f"unknown rule {code!r}; `decruft rules` lists them")
    if output_format == "json":
        sys.stdout.write(jsonout.dumps(rule_to_dict(registered)) + "\n")
        return
    console = Console(highlight=False)
    console.print(f"[bold]{registered.code} {registered.name}[/] ({registered.severity.value})")
    console.print(registered.summary)
    console.print("\n[bold]Why it matters[/]")
    console.print(escape(registered.why))
    console.print("\n[bold]Bad[/]")
    console.print(escape(registered.bad))
    console.print("\n[bold]Good[/]")
    console.print(escape(registered.good))
    if registered.fix:
        applicability = registered.applicability.value if registered.applicability else "manual"
        console.print(f"\n[bold]Fix[/] ({applicability})")
        console.print(escape(registered.fix))
    if registered.hadolint:
        console.print(f"\nhadolint equivalent: {', '.join(registered.hadolint)} (its ignore pragmas are honoured)")
    if registered.supersedes:
        console.print(
            f"\nsupersedes: {', '.join(registered.supersedes)} (on the same instruction `decruft fix` "
            "applies this rule's fix instead of theirs)"
        )
