"""Audit configuration (``[tool.decruft]`` / ``.decruft.toml``), inline pragmas
(decruft's and hadolint's) and severity overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from decruft.audit import AuditOptions, audit_files, audit_source
from decruft.audit.config import AuditConfig, ConfigError, find_config, load_config, parse_config
from decruft.audit.rule import Severity

SELECT = ["DC101", "DC102", "DC103"]

# DC101 on line 2; DC102 and DC103 on the RUN of lines 3-5 (DC103 points at line 4).
SOURCE = (
    "FROM debian:bookworm\n"
    "RUN apt-get update\n"
    "RUN apt-get update && \\\n"
    "    apt-get install -y curl && \\\n"
    "    rm -rf /tmp/*\n"
)


def codes(result) -> list[tuple[str, int]]:
    assert result.error is None and result.syntax_error is None, (result.error, result.syntax_error)
    return sorted((f.code, f.line) for f in result.findings)


def run(source: str, **config) -> list[tuple[str, int]]:
    config.setdefault("select", list(SELECT))
    options = AuditOptions(config=AuditConfig(**config), scan_context=False)
    return codes(audit_source(source, "Dockerfile", options))


# ---------------------------------------------------------------------- discovery
def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_find_config_nearest_wins_and_decruft_toml_beats_pyproject(tmp_path):
    (tmp_path / ".git").mkdir()
    root_py = write(tmp_path / "pyproject.toml", '[tool.decruft]\nignore = ["DC101"]\n')
    sub = tmp_path / "services" / "api"
    sub.mkdir(parents=True)
    assert find_config(sub) == root_py
    write(sub / "pyproject.toml", "[project]\nname = 'x'\n")  # no [tool.decruft]: skipped
    assert find_config(sub) == root_py
    own = write(sub / ".decruft.toml", 'select = ["DC103"]\n')
    assert find_config(sub) == own
    write(sub / "pyproject.toml", '[tool.decruft]\nselect = ["DC102"]\n')
    assert find_config(sub) == own  # same directory: .decruft.toml first


def test_find_config_stops_at_repository_root(tmp_path):
    write(tmp_path / ".decruft.toml", 'ignore = ["DC1"]\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert find_config(repo / ".git" / "..") is None
    assert load_config(None) == AuditConfig()


def test_config_discovered_from_the_dockerfile_directory(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", '[tool.decruft]\nselect = ["DC10"]\nignore = ["DC101"]\n')
    dockerfile = write(tmp_path / "app" / "Dockerfile", SOURCE)
    monkeypatch.chdir("/")  # the working directory plays no part
    result = audit_files([str(dockerfile)], AuditOptions(scan_context=False))
    assert codes(result.files[0]) == [("DC102", 3), ("DC103", 4)]


def test_stdin_uses_config_of_working_directory(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".decruft.toml", 'select = ["DC103"]\n')
    monkeypatch.chdir(tmp_path)
    result = audit_source(SOURCE, "-", AuditOptions(scan_context=False))
    assert codes(result) == [("DC103", 4)]


# ---------------------------------------------------------------------- keys
def test_each_key():
    config = parse_config(
        {"select": "dc1", "ignore": ["DC102 ", "dc2"], "severity": {"dc103": "ERROR"}, "fail-on": "info"}, "x"
    )
    assert config.select == ["DC1"] and config.ignore == ["DC102", "DC2"]
    assert config.severity == {"DC103": Severity.ERROR} and config.fail_on == "info"
    assert parse_config({"fail_on": "never"}).fail_on == "never"
    assert parse_config({}).fail_on == "warning" and parse_config({}).select is None


def test_select_and_ignore_take_prefixes():
    assert run(SOURCE, select=["DC10"]) == [("DC101", 2), ("DC102", 3), ("DC103", 4)]
    assert run(SOURCE, select=["DC103"]) == [("DC103", 4)]
    assert run(SOURCE, select=["DC10"], ignore=["DC101", "DC102"]) == [("DC103", 4)]
    assert run(SOURCE, select=["DC10"], ignore=["DC1"]) == []
    assert run(SOURCE, select=["DC9"]) == []


@pytest.mark.parametrize(
    "table,message",
    [
        ({"colour": "red"}, "unknown decruft setting(s): colour"),
        ({"select": 3}, "select must be a list"),
        ({"ignore": ["DC101", 5]}, "ignore must be a list"),
        ({"severity": {"DC101": "fatal"}}, "severity of DC101 must be error, warning or info"),
        ({"severity": "error"}, "severity must be a table"),
        ({"fail-on": "sometimes"}, "fail-on must be one of error, warning, info, never"),
    ],
)
def test_bad_settings_are_clear_errors(table, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_config(table, "cfg")


def test_bad_config_file_fails_the_file_with_exit_2(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path / ".decruft.toml", "select = [\n")
    dockerfile = write(tmp_path / "Dockerfile", SOURCE)
    result = audit_files([str(dockerfile)], AuditOptions(scan_context=False))
    assert "invalid TOML" in result.files[0].error and result.exit_code() == 2
    write(tmp_path / ".decruft.toml", 'severity = "error"\n')
    result = audit_files([str(dockerfile)], AuditOptions(scan_context=False))
    assert "severity must be a table" in result.files[0].error and result.exit_code() == 2


def test_tool_decruft_must_be_a_table(tmp_path):
    path = write(tmp_path / "pyproject.toml", "[tool]\ndecruft = 1\n")
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(path)


def test_options_override_config_without_mutating_it():
    config = AuditConfig(select=["DC101"], ignore=["DC102"], fail_on="error")
    options = AuditOptions(config=config, select=["DC10"], ignore=["DC103"], fail_on="never", scan_context=False)
    for _ in range(3):
        result = audit_source(SOURCE, "Dockerfile", options)
        assert codes(result) == [("DC101", 2)]
        assert result.fail_on == "never"
    assert config == AuditConfig(select=["DC101"], ignore=["DC102"], fail_on="error")


# ---------------------------------------------------------------------- severity and fail-on
def test_severity_override_and_fail_on():
    options = AuditOptions(
        config=AuditConfig(select=["DC103"], severity={"DC103": Severity.INFO}, fail_on="warning"),
        scan_context=False,
    )
    result = audit_source(SOURCE, "Dockerfile", options)
    [finding] = result.findings
    assert finding.severity is Severity.INFO
    from decruft.audit import AuditResult

    assert AuditResult(files=[result]).exit_code() == 0  # info < warning
    result.fail_on = "info"
    assert AuditResult(files=[result]).exit_code() == 1
    options.config = AuditConfig(select=["DC103"], severity={"DC103": Severity.ERROR}, fail_on="error")
    result = audit_source(SOURCE, "Dockerfile", options)
    assert result.findings[0].severity is Severity.ERROR
    assert AuditResult(files=[result]).exit_code() == 1


# ---------------------------------------------------------------------- pragmas
def test_pragma_silences_next_instruction_only():
    source = SOURCE.replace("RUN apt-get update &&", "# decruft: ignore=DC103\nRUN apt-get update &&")
    source += "RUN apt-get install -y wget\n"
    # The pragma is on line 3; the RUN of lines 4-6 has DC103 on its *second* line (5).
    assert run(source) == [("DC101", 2), ("DC102", 4), ("DC103", 7)]


def test_pragma_reaches_a_finding_in_the_middle_of_a_multiline_run():
    source = "FROM debian\n# decruft: ignore=DC103\nRUN apt-get update \\\n && true \\\n && apt-get install -y a \\\n   b c\n"
    assert run(source, select=["DC103"]) == []
    assert run(source.replace("# decruft: ignore=DC103\n", ""), select=["DC103"]) == [("DC103", 4)]


def test_pragma_forms():
    base = "FROM debian\n{}RUN apt-get update && apt-get install -y curl\n"
    both = [("DC102", 2), ("DC103", 2)]
    assert run(base.format(""), select=["DC102", "DC103"]) == both
    for pragma in (
        "# decruft: ignore=DC102,DC103\n",
        "# decruft: ignore=DC102, DC103\n",
        "#decruft:ignore=dc102,dc103\n",
        "# DECRUFT ignore=DC102 DC103\n",
        "# decruft: ignore=DC102\n# decruft: ignore=DC103\n",  # stacked comment lines
        "# hadolint ignore=DL3009,DL3015\n",
        "# hadolint ignore=DL3015\n# decruft: ignore=DC102\n",
    ):
        source = base.format(pragma)
        assert [code for code, _ in run(source, select=["DC102", "DC103"])] == [], pragma
    assert [c for c, _ in run(base.format("# hadolint ignore=DL3015\n"), select=["DC102", "DC103"])] == ["DC102"]
    # hadolint codes without a decruft equivalent silence nothing.
    assert [c for c, _ in run(base.format("# hadolint ignore=DL3008,DL3059\n"), select=["DC102", "DC103"])] == [
        "DC102",
        "DC103",
    ]
    # decruft codes in a hadolint pragma are not decruft's to honour.
    assert [c for c, _ in run(base.format("# hadolint ignore=DC103\n"), select=["DC103"])] == ["DC103"]


def test_pragma_does_not_apply_to_a_later_instruction():
    source = "FROM debian\n# decruft: ignore=DC103\nENV A=1\nRUN apt-get install -y curl\n"
    assert run(source, select=["DC103"]) == [("DC103", 4)]


def test_global_pragmas_apply_to_the_whole_file():
    tail = "RUN apt-get install -y wget\n"
    for pragma in ("# decruft: global ignore=DC103\n", "# hadolint global ignore=DL3015\n"):
        assert run(pragma + SOURCE + tail, select=["DC103"]) == []
        assert run(SOURCE + pragma + tail, select=["DC103"]) == []  # anywhere in the file
    assert [c for c, _ in run("# decruft: global ignore=DC101\n" + SOURCE)] == ["DC102", "DC103"]


def test_pragma_text_inside_a_heredoc_is_not_a_pragma():
    source = "FROM debian\nRUN <<EOF\n# decruft: global ignore=DC103\napt-get install -y curl\nEOF\n"
    assert run(source, select=["DC103"]) == [("DC103", 4)]


def test_suppressed_findings_do_not_fail_the_run(tmp_path):
    dockerfile = write(tmp_path / "Dockerfile", "# decruft: global ignore=DC101,DC102,DC103\n" + SOURCE)
    result = audit_files([str(dockerfile)], AuditOptions(config=AuditConfig(select=list(SELECT)), scan_context=False))
    assert result.findings == [] and result.exit_code() == 0


def test_config_lookup_resolves_directories_like_realpath(tmp_path, monkeypatch):
    from decruft.audit.config import _real_directory

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "x" / "y").mkdir(parents=True)
    (tmp_path / "a" / "link").symlink_to(tmp_path / "x" / "y")
    (tmp_path / "lx").symlink_to(tmp_path / "x")
    monkeypatch.chdir(tmp_path / "a" / "link")
    root = str(tmp_path)
    cache: dict = {}
    for path in [f"{root}/a/b", f"{root}/a/link", f"{root}/a/link/..", f"{root}/a/link/../y", f"{root}/lx/y",
                 f"{root}/lx/y/", f"{root}//a//b", f"{root}/a/./b", ".", "..", "../y", "/", f"{root}/missing/z"]:
        for lookup in (cache, None, cache):  # the second cached lookup reuses the parent's answer
            assert _real_directory(path, lookup) == os.path.realpath(path), path
