"""Audit output formats: JSON (documented schema), SARIF 2.1.0 (official schema plus what
GitHub code scanning needs), GitHub workflow annotations and the human text.

Findings come from DC101-DC103 only (``select``), so rules added later do not change
these tests.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console
from rich.text import Text

from decruft.audit import AuditOptions, AuditResult, FileResult, audit_files
from decruft.audit.config import AuditConfig
from decruft.audit.report import (
    FINGERPRINT_KEY,
    _gh_escape,
    finding_to_dict,
    print_text,
    to_github,
    to_json,
    to_sarif,
)
from decruft.audit.rule import Finding, Severity, all_rules

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "sarif-schema-2.1.0.json"
SELECT = ["DC101", "DC102", "DC103"]

# DC101 on line 2, DC102 + DC103 on the RUN of lines 4-6 (DC103 points at line 5).
WASTEFUL = (
    "FROM debian:bookworm\n"
    "RUN apt-get update\n"
    "RUN apt-get install -y --no-install-recommends git\n"
    "RUN apt-get update && \\\n"
    "    apt-get install -y curl && \\\n"
    "    rm -rf /tmp/*\n"
)
CLEAN = (
    "FROM debian:bookworm\n"
    "RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n"
    " && rm -rf /var/lib/apt/lists/*\n"
)

FINDING_KEYS = {
    "file", "rule", "name", "severity", "line", "end_line", "column", "end_column",
    "message", "stage", "stake", "notes", "fix",
}


def options(**kwargs) -> AuditOptions:
    kwargs.setdefault("config", AuditConfig(select=list(SELECT)))
    return AuditOptions(scan_context=False, **kwargs)


def audit_tree(tmp_path: Path, files: dict[str, str | bytes], **kwargs) -> AuditResult:
    paths = []
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        paths.append(str(path))
    return audit_files(paths, options(**kwargs))


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


# ---------------------------------------------------------------------- JSON
def test_json_has_documented_fields_for_every_finding(tmp_path):
    result = audit_tree(tmp_path, {"Dockerfile": WASTEFUL, "svc/api.Dockerfile": CLEAN})
    data = json.loads(json.dumps(to_json(result)))  # really JSON-serialisable
    assert data["schema_version"] == 1
    assert data["tool"]["name"] == "decruft" and data["tool"]["version"]
    findings = data["findings"]
    assert {f["rule"] for f in findings} == {"DC101", "DC102", "DC103"}
    for finding in findings:
        assert set(finding) == FINDING_KEYS
        assert finding["file"] == str(tmp_path / "Dockerfile")
        assert finding["severity"] in ("error", "warning", "info")
        assert finding["name"] and finding["message"]
        for key in ("line", "end_line", "column", "end_column"):
            assert isinstance(finding[key], int) and finding[key] >= 1
        assert (finding["end_line"], finding["end_column"]) >= (finding["line"], finding["column"])
        assert finding["fix"] is None or (
            set(finding["fix"]) == {"description", "applicability"}
            and finding["fix"]["applicability"] in ("safe", "unsafe", "display")
        )
        assert finding["stake"] is None or set(finding["stake"]) == {"bytes", "measured", "rebuild", "note"}
        assert isinstance(finding["notes"], list)
    dc103 = next(f for f in findings if f["rule"] == "DC103")
    assert (dc103["line"], dc103["column"], dc103["end_line"]) == (5, 5, 5)
    assert dc103["fix"] == {"description": "insert --no-install-recommends", "applicability": "safe"}
    dc101 = next(f for f in findings if f["rule"] == "DC101")
    assert (dc101["line"], dc101["end_line"]) == (2, 2)
    summary = data["summary"]
    assert set(summary) == {"files", "findings", "by_severity", "by_rule", "bytes_at_stake", "exit_code"}
    assert summary["files"] == 2 and summary["findings"] == 3
    assert summary["by_rule"] == {"DC101": 1, "DC102": 1, "DC103": 1}
    assert summary["by_severity"] == {"error": 0, "warning": 3, "info": 0}
    assert summary["bytes_at_stake"] > 0 and summary["exit_code"] == 1
    assert data["errors"] == []


def test_json_fix_null_for_rules_without_edits():
    finding = Finding("DC101", "apt-update-separate-layer", Severity.WARNING, "m", "Dockerfile", None, 1, 1, 1, 2)
    assert finding_to_dict(finding)["fix"] is None


def test_json_errors_and_exit_code(tmp_path):
    result = audit_tree(
        tmp_path, {"Dockerfile": CLEAN, "Dockerfile.bad": "FROM a\nRUN <<EOF\n", "Dockerfile.bin": b"FROM a\n\0\1"}
    )
    result.input_errors.append("nowhere: no such file or directory")
    data = to_json(result)
    kinds = {(e["kind"], Path(e["file"]).name if e["file"] else None) for e in data["errors"]}
    assert kinds == {("input", None), ("syntax", "Dockerfile.bad"), ("input", "Dockerfile.bin")}
    syntax = next(e for e in data["errors"] if e["kind"] == "syntax")
    assert (syntax["line"], syntax["column"]) == (2, 1) and "heredoc" in syntax["message"]
    assert data["summary"]["exit_code"] == 2 and data["findings"] == []


# ---------------------------------------------------------------------- SARIF
def test_sarif_schema_file_is_the_official_2_1_0():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$id"].endswith("/sarif-schema-2.1.0.json")
    assert "2.1.0" in schema["title"]
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert len(schema["definitions"]) == 52


def _sarif_cases(tmp_path):
    yield "findings", audit_tree(tmp_path / "a", {"Dockerfile": WASTEFUL, "b/x.Dockerfile": WASTEFUL})
    yield "clean", audit_tree(tmp_path / "b", {"Dockerfile": CLEAN})
    yield "errors", audit_tree(
        tmp_path / "c", {"Dockerfile": WASTEFUL, "Dockerfile.bad": "FROM a\nRUN <<EOF\n", "Dockerfile.bin": b"\0"}
    )
    yield "empty", AuditResult(input_errors=["x: no Dockerfile found"])


def test_sarif_validates_against_official_schema(tmp_path, sarif_validator):
    for name, result in _sarif_cases(tmp_path):
        document = json.loads(json.dumps(to_sarif(result)))
        errors = sorted(sarif_validator.iter_errors(document), key=lambda e: e.path)
        assert not errors, (name, [f"{e.json_path}: {e.message}" for e in errors])


# RFC 3986 URI-reference characters (jsonschema only checks `format: uri-reference`
# when an optional URI package is installed, so check it directly).
_URI_REFERENCE = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")


def _all_uris(document):
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("uri", "informationUri", "$schema"):
                yield value
            else:
                yield from _all_uris(value)
    elif isinstance(document, list):
        for item in document:
            yield from _all_uris(item)


def test_sarif_meets_github_code_scanning_requirements(tmp_path):
    result = audit_tree(tmp_path, {"Dockerfile": WASTEFUL, "with space/Dockerfile.dev": WASTEFUL})
    document = to_sarif(result)
    [run] = document["runs"]
    assert document["version"] == "2.1.0"
    driver = run["tool"]["driver"]
    assert driver["name"] == "decruft" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    assert {r.code for r in all_rules()} <= {r["id"] for r in rules}
    for rule in rules:
        assert rule["id"] and rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        tags = rule["properties"]["tags"]
        assert len(tags) == len(set(tags)) <= 20
    assert len(run["results"]) == 6
    for entry in run["results"]:
        assert rules[entry["ruleIndex"]]["id"] == entry["ruleId"]
        assert entry["level"] in ("error", "warning", "note") and entry["message"]["text"]
        [location] = entry["locations"]
        region = location["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert region["endLine"] >= region["startLine"]
        assert set(entry["partialFingerprints"]) == {FINGERPRINT_KEY}
    for uri in _all_uris(document):
        assert _URI_REFERENCE.match(uri), uri
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {(tmp_path / "Dockerfile").as_uri(), (tmp_path / "with space" / "Dockerfile.dev").as_uri()}
    assert all(uri.startswith("file:///") and " " not in uri for uri in uris)


def test_sarif_relative_paths_stay_relative_and_encoded(tmp_path, monkeypatch, sarif_validator):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my app").mkdir()
    (tmp_path / "my app" / "Dockerfile").write_text(WASTEFUL)
    result = audit_files(["./my app/Dockerfile"], options())
    document = to_sarif(result)
    assert not list(sarif_validator.iter_errors(document))
    uri = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20app/Dockerfile"


def test_sarif_stdin_uri(sarif_validator):
    from decruft.audit import audit_source

    result = AuditResult(files=[audit_source(WASTEFUL, "-", options())])
    document = to_sarif(result)
    assert not list(sarif_validator.iter_errors(document))
    [first, *_] = document["runs"][0]["results"]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stdin"
    assert first["partialFingerprints"][FINGERPRINT_KEY]


def test_sarif_fingerprints_survive_line_shifts_and_tell_duplicates_apart(tmp_path):
    def fingerprints(source):
        path = tmp_path / "Dockerfile"
        path.write_text(source)
        result = audit_files([str(path)], options())
        return {
            (r["ruleId"], r["partialFingerprints"][FINGERPRINT_KEY])
            for r in to_sarif(result)["runs"][0]["results"]
        }

    before = fingerprints(WASTEFUL)
    shifted = fingerprints(WASTEFUL.replace("FROM debian:bookworm\n", "FROM debian:bookworm\n# a\n\nLABEL x=y\n"))
    assert before == shifted
    twice = fingerprints(WASTEFUL + "RUN apt-get update && \\\n    apt-get install -y curl && \\\n    rm -rf /tmp/*\n")
    dc103 = [fp for rule, fp in twice if rule == "DC103"]
    assert len(dc103) == 2 and len(set(dc103)) == 2


def test_sarif_fix_replacements_apply_to_the_file(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(WASTEFUL)
    document = to_sarif(audit_files([str(path)], options()))
    [dc103] = [r for r in document["runs"][0]["results"] if r["ruleId"] == "DC103"]
    [change] = dc103["fixes"][0]["artifactChanges"]
    text = WASTEFUL
    for replacement in sorted(change["replacements"], key=lambda r: -r["deletedRegion"]["charOffset"]):
        start = replacement["deletedRegion"]["charOffset"]
        end = start + replacement["deletedRegion"]["charLength"]
        text = text[:start] + replacement["insertedContent"]["text"] + text[end:]
    assert "apt-get install --no-install-recommends -y curl" in text


def test_sarif_errors_become_notifications(tmp_path):
    result = audit_tree(tmp_path, {"Dockerfile.bad": "FROM a\nRUN <<EOF\n"})
    [invocation] = to_sarif(result)["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "heredoc" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 2


# ---------------------------------------------------------------------- GitHub annotations
_ANNOTATION = re.compile(
    r"^::(?P<level>error|warning|notice) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
    r"endLine=(?P<endLine>\d+),endColumn=(?P<endColumn>\d+),title=(?P<title>[^,]+)::(?P<message>.+)$"
)


def test_github_annotation_format(tmp_path):
    result = audit_tree(tmp_path, {"Dockerfile": WASTEFUL})
    lines = to_github(result)
    assert len(lines) == 3
    parsed = [_ANNOTATION.match(line) for line in lines]
    assert all(parsed), lines
    dc103 = next(m for m in parsed if m["title"].startswith("DC103"))
    assert dc103["level"] == "warning"
    assert dc103["file"] == str(tmp_path / "Dockerfile").replace(":", "%3A").replace(",", "%2C")
    assert (dc103["line"], dc103["col"], dc103["endLine"]) == ("5", "5", "5")
    assert dc103["title"] == "DC103 apt-install-recommends"
    assert "--no-install-recommends" in dc103["message"]


def test_github_escaping():
    assert _gh_escape("100% a\r\nb") == "100%25 a%0D%0Ab"
    assert _gh_escape("a:b,c%\n", property_value=True) == "a%3Ab%2Cc%25%0A"
    finding = Finding(
        "DC103", "apt-install-recommends", Severity.INFO, "50% of it\nis: waste, really",
        "dir,with:odd%chars/Dockerfile", None, 3, 2, 4, 7,
    )
    result = AuditResult(files=[FileResult("x", findings=[finding])])
    [line] = to_github(result)
    assert line == (
        "::notice file=dir%2Cwith%3Aodd%25chars/Dockerfile,line=3,col=2,endLine=4,endColumn=7,"
        "title=DC103 apt-install-recommends::50%25 of it%0Ais: waste, really"
    )


def test_github_errors(tmp_path):
    result = audit_tree(tmp_path, {"Dockerfile.bad": "FROM a\nRUN <<EOF\n"})
    result.input_errors.append("nope: no such file or directory")
    lines = to_github(result)
    assert lines[0] == "::error::nope: no such file or directory"  # ':' is only escaped in properties
    assert re.match(r"^::error file=[^,]+Dockerfile\.bad,line=2::.*heredoc", lines[1])


# ---------------------------------------------------------------------- text
def _text(result) -> str:
    buffer = io.StringIO()
    print_text(result, Console(file=buffer, width=200, highlight=False, color_system=None))
    return buffer.getvalue()


def test_text_output_shows_source_verbatim(tmp_path):
    result = audit_tree(tmp_path, {"Dockerfile": WASTEFUL.replace("curl", "curl[extra]")})
    output = _text(result)
    # A continued line ends in exactly one backslash (rich's escape() used to double it),
    # and brackets in the source are shown, not taken as markup.
    assert "   5 |     apt-get install -y curl[extra] && \\\n" in output
    assert "\\\\" not in output
    assert "5:5 warning DC103 apt-install-recommends" in output
    assert "3 finding(s) (3 warning)" in output


def test_reports_quote_the_text_that_was_audited(tmp_path):
    result = audit_tree(tmp_path, {"Dockerfile": WASTEFUL})
    (tmp_path / "Dockerfile").write_text("FROM scratch\n# edited after the audit\n")
    assert "   2 | RUN apt-get update\n" in _text(result)
    fingerprints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in to_sarif(result)["runs"][0]["results"]]
    (tmp_path / "Dockerfile").write_text(WASTEFUL)
    fresh = audit_tree(tmp_path, {"Dockerfile": WASTEFUL})
    assert fingerprints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in to_sarif(fresh)["runs"][0]["results"]]


def test_text_output_clean_file(tmp_path):
    output = _text(audit_tree(tmp_path, {"Dockerfile": CLEAN}))
    assert "no problems found" in output


def test_text_output_without_colours_is_what_rich_renders(tmp_path):
    """Without colours the report is written as plain text directly; it must equal rich's own
    rendering of the same styled text (tabs expanded, control codes dropped)."""
    source = WASTEFUL.replace("curl", "curl\t[x]\x07").replace("FROM", "# a\tcomment\nFROM", 1)
    result = audit_tree(tmp_path, {"Dockerfile": source})
    colourless = _text(result)
    buffer = io.StringIO()
    print_text(result, Console(file=buffer, width=200, highlight=False, force_terminal=True, color_system="truecolor"))
    assert "\x1b[" in buffer.getvalue()
    assert colourless == Text.from_ansi(buffer.getvalue()).plain
    assert "\t" not in colourless and "\x07" not in colourless
    assert re.search(r"curl +\[x\] &&", colourless)  # the source line's tab shown as spaces


def test_text_marker_lines_up_with_tab_indented_source(tmp_path):
    source = "FROM debian:bookworm\nRUN apt-get update && \\\n\tapt-get install -y\tcurl && \\\n\trm -rf /var/lib/apt/lists/*\n"
    output = _text(audit_tree(tmp_path, {"Dockerfile": source}))
    shown, marker = re.search(r"\n( +3 \| .*)\n( +\| +\^+)\n", output).groups()
    # the tabs are shown as editors do (stops every 8 columns of the source line) and the
    # marker covers exactly `apt-get install -y<tab>curl` as shown
    assert shown.endswith("|         apt-get install -y      curl && \\")
    start = marker.index("^")
    assert shown[start:len(marker)] == "apt-get install -y      curl"
