"""Results of a parallel audit equal a sequential one's (`decruft.audit.transfer` carries them
from the workers as JSON rows, so every field must survive the trip with its type)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from decruft.audit import AuditOptions, FileResult, audit_files, audit_source
from decruft.audit import transfer
from decruft.audit.rule import Applicability, Edit, Finding, Fix, Severity, Stake
from decruft.dockerfile.nodes import Span
from tests.corpus.generate import realworld, typical


def _fields(cls) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))


def test_rows_name_every_field():
    assert transfer.FINDING_ROW == _fields(Finding)
    assert transfer.STAKE_ROW == _fields(Stake)
    assert transfer.FIX_ROW == _fields(Fix)
    assert _fields(Edit) == ("span", "replacement")
    assert _fields(Span) == ("start", "end")
    assert tuple(f for f in _fields(FileResult) if f != "syntax_error") == transfer.FILE_ROW


def _error_fields(error) -> tuple | None:
    if error is None:
        return None
    return type(error), error.message, error.file, error.line, error.column, error.end_line, str(error)


def _assert_same(decoded: list[FileResult], original: list[FileResult]) -> None:
    # exceptions compare by identity: compare a syntax error by its fields
    assert [_error_fields(r.syntax_error) for r in decoded] == [_error_fields(r.syntax_error) for r in original]
    assert [dataclasses.replace(r, syntax_error=None) for r in decoded] == \
        [dataclasses.replace(r, syntax_error=None) for r in original]
    for back, there in zip(decoded, original):
        for finding, expected in zip(back.findings, there.findings):
            assert type(finding.severity) is Severity and finding.severity is expected.severity
            if finding.fix is not None:
                assert finding.fix.applicability is expected.fix.applicability
                assert all(type(edit.span) is Span for edit in finding.fix.edits)


def test_round_trip_keeps_every_value_and_type():
    results = [audit_source(data, name) for name, data in realworld()]
    results += [audit_source(data, f"typical-{i}") for i, data in enumerate(typical(60))]
    assert sum(len(r.findings) for r in results) > 300
    assert any(f.fix and f.fix.edits for r in results for f in r.findings)
    assert any(f.stake and f.stake.bytes for r in results for f in r.findings)
    _assert_same(transfer.unpack(*transfer.pack(results)), results)


def test_round_trip_of_unusual_values():
    finding = Finding(
        "DC999", "x", Severity.ERROR, "caf\u00e9 \U0001f600 \udcff line\nbreak", None, None, 1, 1, 1, 1,
        stage=None, stake=Stake(None, True, "re-runs", None),
        fix=Fix("d", Applicability.DISPLAY, [], ".dockerignore"), notes=["a", ""], hadolint="DL3009",
    )
    surrogates = [FileResult("p", [finding])]
    encoding, data, errors = transfer.pack(surrogates)
    assert encoding == "pickle"  # not JSON: a lone surrogate from a non-UTF-8 Dockerfile
    _assert_same(transfer.unpack(encoding, data, errors), surrogates)
    finding.message = "caf\u00e9 \U0001f600 line\nbreak"
    assert transfer.pack(surrogates)[0] == "json"
    results = [FileResult("p", [finding], warnings=["w"], fail_on="never"),
               FileResult("q", error="unreadable", internal_errors=["rule DC999 failed on this file"]),
               audit_source("FROM\n", "broken")]
    assert results[2].syntax_error is not None
    decoded = transfer.unpack(*transfer.pack(results))
    _assert_same(decoded, results)


@pytest.fixture
def projects(tmp_path: Path) -> list[str]:
    """40 small projects (a Dockerfile, context files, sometimes a .dockerignore), a broken file
    and an unreadable path: enough for audit_files to use worker processes."""
    paths = []
    sources = [data for _, data in realworld()] + typical(8)
    for index, data in enumerate(sources[:40]):
        project = tmp_path / f"p{index:02d}"
        project.mkdir()
        (project / "Dockerfile").write_bytes(data)
        (project / "app.py").write_text("print('hi')\n" * index)
        if index % 3 == 0:
            (project / ".env").write_text("SECRET=1\n")
        if index % 4 == 0:
            (project / ".dockerignore").write_text("*.log\n")
        paths.append(str(project / "Dockerfile"))
    broken = tmp_path / "broken.Dockerfile"
    broken.write_text("FROM debian\nRUN <<EOF\nnever closed\n")
    latin1 = tmp_path / "latin1" / "Dockerfile"
    latin1.parent.mkdir()
    latin1.write_bytes(b"FROM debian\nRUN apt-get update\nRUN apt-get install -y caf\xe9\n")
    paths += [str(broken), str(latin1), str(tmp_path / "missing" / "Dockerfile")]
    return paths


def test_parallel_audit_equals_sequential(projects: list[str]):
    sequential = audit_files(projects, AuditOptions(), jobs=1)
    parallel = audit_files(projects, AuditOptions(), jobs=2)
    assert len(sequential.files) == len(projects)
    assert sum(1 for r in sequential.files if r.syntax_error or r.error) >= 1
    assert len(sequential.findings) > 100
    _assert_same(parallel.files, sequential.files)


def test_a_syntax_error_survives_pickling():
    import pickle

    error = audit_source("FROM debian\nRUN <<EOF\nnever closed\n", "some/Dockerfile").syntax_error
    assert error is not None and error.line == 2
    back = pickle.loads(pickle.dumps(error))
    assert _error_fields(back) == _error_fields(error)
