"""Audit results from a worker process to the parent as JSON rows, not pickled objects.

A parallel audit (:func:`decruft.audit.audit_files`) returns every finding from a forked
worker. pickle handles a slotted dataclass through Python-level ``__getstate__`` /
``__setstate__`` calls and memoizes each of its objects: for the 2,000-file benchmark corpus
(12,916 findings, about 80,000 objects) that cost 0.37 s in the workers and 0.35 s in the
parent, a fifth of the audit's own CPU time. Findings are plain data (strings, numbers,
offsets), so the workers send them as orjson arrays and the parent rebuilds the objects.
What is not plain data (a syntax error, an exception object) travels by pickle beside them,
and so do the rows of a chunk that quotes a non-UTF-8 Dockerfile (its lone surrogates are not
JSON).

The row layouts follow the dataclasses' fields; ``tests/audit/test_transfer.py`` fails
when a field is added to one of them and not here.
"""

from __future__ import annotations

import pickle
from typing import Any

import orjson

from decruft.audit.rule import Applicability, Edit, Finding, Fix, Severity, Stake
from decruft.dockerfile.nodes import Span

# The fields each row holds, in order (checked against the dataclasses by the tests).
FINDING_ROW = ("code", "name", "severity", "message", "file", "span", "line", "column", "end_line",
               "end_column", "stage", "stake", "fix", "notes", "hadolint")
STAKE_ROW = ("bytes", "measured", "rebuild", "note")
FIX_ROW = ("description", "applicability", "edits", "file")
FILE_ROW = ("path", "findings", "error", "warnings", "fail_on", "internal_errors", "source")  # syntax_error: by pickle
_SEVERITIES = {severity.value: severity for severity in Severity}
_APPLICABILITIES = {applicability.value: applicability for applicability in Applicability}


def pack(files: list) -> tuple[str, bytes, dict[int, Any]]:
    """``FileResult`` objects as one JSON document, and their syntax errors by position."""
    rows = []
    syntax_errors: dict[int, Any] = {}
    for position, result in enumerate(files):
        if result.syntax_error is not None:
            syntax_errors[position] = result.syntax_error
        rows.append((result.path, [_finding_row(f) for f in result.findings], result.error,
                     result.warnings, result.fail_on, result.internal_errors, result.source))
    try:
        return "json", orjson.dumps(rows), syntax_errors
    except TypeError:  # a lone surrogate: text from a Dockerfile that is not UTF-8
        return "pickle", pickle.dumps(rows, pickle.HIGHEST_PROTOCOL), syntax_errors


def unpack(encoding: str, data: bytes, syntax_errors: dict[int, Any]) -> list:
    """The ``FileResult`` objects :func:`pack` was given."""
    from decruft.audit import FileResult  # the package imports this module's callers

    rows = orjson.loads(data) if encoding == "json" else pickle.loads(data)
    files = []
    for position, (path, findings, error, warnings, fail_on, internal_errors, source) in enumerate(rows):
        files.append(FileResult(path, [_finding(row) for row in findings], syntax_errors.get(position),
                                error, warnings, fail_on, internal_errors, source))
    return files


def _finding_row(finding: Finding) -> tuple:
    span, stake, fix = finding.span, finding.stake, finding.fix
    return (
        finding.code, finding.name, finding.severity.value, finding.message, finding.file,
        None if span is None else (span.start, span.end),
        finding.line, finding.column, finding.end_line, finding.end_column, finding.stage,
        None if stake is None else (stake.bytes, stake.measured, stake.rebuild, stake.note),
        None if fix is None else (fix.description, fix.applicability.value,
                                  [(e.span.start, e.span.end, e.replacement) for e in fix.edits], fix.file),
        finding.notes, finding.hadolint,
    )


def _finding(row: list) -> Finding:
    (code, name, severity, message, file, span, line, column, end_line, end_column, stage,
     stake, fix, notes, hadolint) = row
    return Finding(
        code, name, _SEVERITIES[severity], message, file,
        None if span is None else Span(*span),
        line, column, end_line, end_column, stage,
        None if stake is None else Stake(*stake),
        None if fix is None else Fix(fix[0], _APPLICABILITIES[fix[1]],
                                     [Edit(Span(start, end), text) for start, end, text in fix[2]], fix[3]),
        notes, hadolint,
    )
