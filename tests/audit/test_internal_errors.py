"""A rule that raises (a decruft bug) costs neither the other rules nor the other files: the
error is reported for that file, in every output format, and the exit code is 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from decruft.audit import AuditOptions, audit_files
from decruft.audit import rule as rule_module
from decruft.audit.report import print_text, to_github, to_json, to_sarif
from decruft.cli import main

WASTEFUL = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
MARKER = "explode-here"


@pytest.fixture
def broken_dc102(monkeypatch):
    """DC102 raises on any Dockerfile that contains MARKER (after yielding what it found)."""
    registered = rule_module.get_rule("DC102")
    original = registered.check

    def check(context):
        yield from original(context)
        if MARKER in context.dockerfile.text:
            raise ZeroDivisionError("boom")

    monkeypatch.setattr(registered, "check", check)
    return registered


def _projects(tmp_path: Path, count: int) -> list[str]:
    paths = []
    for index in range(count):
        project = tmp_path / f"p{index:02d}"
        project.mkdir()
        text = WASTEFUL + (f"# {MARKER}\n" if index % 10 == 3 else "")
        (project / "Dockerfile").write_text(text)
        paths.append(str(project / "Dockerfile"))
    return paths


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_rule_costs_only_its_own_findings(tmp_path, broken_dc102, jobs):
    paths = _projects(tmp_path, 40)
    result = audit_files(paths, AuditOptions(scan_context=False), jobs=jobs)
    broken = [r for r in result.files if r.internal_errors]
    assert [Path(r.path).parent.name for r in broken] == ["p03", "p13", "p23", "p33"]
    for file in result.files:
        codes = {f.code for f in file.findings}
        assert "DC103" in codes  # the other rules ran
        assert ("DC102" in codes) == (file not in broken)  # the failing rule's partial output is dropped
    [message] = broken[0].internal_errors
    assert "rule DC102 failed on this file (ZeroDivisionError: boom)" in message and "decruft bug" in message
    assert result.exit_code() == 2


def test_internal_errors_in_every_format(tmp_path, broken_dc102):
    paths = _projects(tmp_path, 4)
    result = audit_files(paths, AuditOptions(scan_context=False), jobs=1)
    errors = to_json(result)["errors"]
    assert [(Path(e["file"]).parent.name, e["kind"]) for e in errors] == [("p03", "internal")]
    sarif = to_sarif(result)["runs"][0]["invocations"][0]
    assert not sarif["executionSuccessful"] and "ZeroDivisionError" in sarif["toolExecutionNotifications"][0]["message"]["text"]
    assert any(line.startswith("::error file=") and "DC102" in line for line in to_github(result))
    out = io.StringIO()
    print_text(result, Console(file=out, width=200, color_system=None))
    assert out.getvalue().count("warning DC103") == 4  # the broken file's report is still shown


def test_cli_exit_code_and_stderr(tmp_path, broken_dc102):
    paths = _projects(tmp_path, 4)
    runner = CliRunner()
    run = runner.invoke(main, ["audit", "--format", "json", *paths])
    assert run.exit_code == 2
    data = json.loads(run.stdout)
    assert data["summary"]["exit_code"] == 2 and data["summary"]["files"] == 4
    text_run = runner.invoke(main, ["audit", *paths])
    assert text_run.exit_code == 2 and "internal error:" in text_run.stderr


def test_a_crash_outside_the_rules_is_contained(tmp_path, monkeypatch):
    import decruft.audit as audit_module

    paths = _projects(tmp_path, 4)
    original = audit_module.build_model

    def build_model(dockerfile, **kwargs):
        if MARKER in dockerfile.text:
            raise RuntimeError("model bug")
        return original(dockerfile, **kwargs)

    monkeypatch.setattr(audit_module, "build_model", build_model)
    result = audit_files(paths, AuditOptions(scan_context=False), jobs=1)
    assert [bool(r.internal_errors) for r in result.files] == [False, False, False, True]
    assert "the audit failed on this file (RuntimeError: model bug)" in result.files[3].internal_errors[0]
    assert all(r.findings for r in result.files[:3]) and result.exit_code() == 2


def test_audit_source_contains_a_crash_too(monkeypatch):
    import decruft.audit as audit_module

    monkeypatch.setattr(audit_module, "build_model", lambda dockerfile, **kwargs: 1 / 0)
    result = audit_module.audit_source(WASTEFUL, "Dockerfile", AuditOptions(scan_context=False))
    assert result.findings == [] and "ZeroDivisionError" in result.internal_errors[0]
