"""`decruft audit` / `decruft rules` on the command line: exit codes, formats, rule
selection, input handling, and the pre-commit hook definition."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from decruft.cli import main
from decruft.files import MAX_DOCKERFILE_BYTES, is_dockerfile_name

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
SEL = ["--select", "DC101,DC102,DC103"]

WARNING = "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"  # DC103
CLEAN = "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\n"
# DC103 in a builder stage that only ships selected paths: reported as info.
INFO = "FROM debian AS build\nRUN apt-get install -y gcc\nFROM debian\nCOPY --from=build /usr/bin/gcc /usr/bin/\n"
ALL_THREE = "FROM debian\nRUN apt-get update\nRUN apt-get update && apt-get install -y curl\n"  # DC101-103


def audit(*args, input=None):
    return CliRunner().invoke(main, ["audit", *args], input=input, catch_exceptions=False)


def audit_json(*args, input=None):
    result = audit(*args, "--format", "json", input=input)
    return result.exit_code, json.loads(result.stdout)


def dockerfile(tmp_path: Path, text: str, name: str = "Dockerfile") -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    # Config discovery stops at a repository root: keep the test files in their own.
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------- exit codes
def test_exit_0_when_clean(tmp_path):
    result = audit(dockerfile(tmp_path, CLEAN), *SEL)
    assert result.exit_code == 0 and "no problems found" in result.stdout


def test_exit_1_at_or_above_fail_on(tmp_path):
    warn = dockerfile(tmp_path, WARNING)
    info = dockerfile(tmp_path, INFO, "info.Dockerfile")
    assert audit(warn, *SEL).exit_code == 1  # default: warning
    assert audit(warn, *SEL, "--fail-on", "warning").exit_code == 1
    assert audit(warn, *SEL, "--fail-on", "error").exit_code == 0
    assert audit(warn, *SEL, "--fail-on", "never").exit_code == 0
    assert audit(info, *SEL).exit_code == 0
    assert audit(info, *SEL, "--fail-on", "info").exit_code == 1


def test_fail_on_from_config_and_cli_wins(tmp_path):
    (tmp_path / ".decruft.toml").write_text('fail-on = "error"\nseverity = { DC102 = "error" }\n')
    warn = dockerfile(tmp_path, WARNING)
    assert audit(warn, *SEL).exit_code == 0
    assert audit(warn, *SEL, "--fail-on", "warning").exit_code == 1
    code, data = audit_json(dockerfile(tmp_path, ALL_THREE, "all/Dockerfile"), *SEL)
    assert code == 1 and data["summary"]["by_severity"] == {"error": 1, "warning": 2, "info": 0}


@pytest.mark.parametrize(
    "args",
    [
        [],  # no PATHS
        ["Dockerfile", "--fail-on", "sometimes"],
        ["Dockerfile", "--format", "xml"],
        ["Dockerfile", "--no-such-option"],
        ["Dockerfile", "--build-arg", "=x"],
    ],
)
def test_usage_errors_exit_2(tmp_path, args):
    dockerfile(tmp_path, CLEAN)
    assert audit(*args).exit_code == 2


def test_syntax_error_and_unknown_target_exit_2(tmp_path):
    bad = dockerfile(tmp_path, "FROM a\nRUN <<EOF\n", "Dockerfile.bad")
    result = audit(bad)
    assert result.exit_code == 2 and "unterminated heredoc" in result.stderr
    result = audit(dockerfile(tmp_path, CLEAN), "--target", "nope")
    assert result.exit_code == 2 and "target stage 'nope' not found" in result.stderr


def test_errors_beat_findings_and_never(tmp_path):
    warn = dockerfile(tmp_path, WARNING)
    assert audit(warn, "missing/Dockerfile", "--fail-on", "never").exit_code == 2


# ---------------------------------------------------------------------- selection
@pytest.mark.parametrize(
    "args,expected",
    [
        (["--select", "DC101,DC102,DC103"], ["DC101", "DC102", "DC103"]),
        (["--select", "DC10"], ["DC101", "DC102", "DC103"]),
        (["--select", "dc103"], ["DC103"]),
        (["--select", "DC101, DC103"], ["DC101", "DC103"]),
        (["--select", "DC10", "--ignore", "DC102"], ["DC101", "DC103"]),
        (["--select", "DC10", "--ignore", "DC10"], []),
        (["--select", "DC9"], []),
    ],
)
def test_select_and_ignore(tmp_path, args, expected):
    _, data = audit_json(dockerfile(tmp_path, ALL_THREE), *args)
    assert sorted({f["rule"] for f in data["findings"]}) == expected


def test_cli_ignore_adds_to_config_and_select_replaces_it(tmp_path):
    (tmp_path / ".decruft.toml").write_text('select = ["DC101"]\nignore = ["DC102"]\n')
    path = dockerfile(tmp_path, ALL_THREE)
    assert [f["rule"] for f in audit_json(path)[1]["findings"]] == ["DC101"]
    assert sorted(f["rule"] for f in audit_json(path, "--select", "DC10")[1]["findings"]) == ["DC101", "DC103"]
    assert audit_json(path, "--ignore", "DC101")[1]["findings"] == []


# ---------------------------------------------------------------------- inputs
def test_directory_discovery(tmp_path):
    names = [
        "Dockerfile", "api.Dockerfile", "Dockerfile.dev", "Containerfile", "worker.dockerfile",
        "deep/er/Dockerfile", "Dockerfile.dockerignore", "Dockerfile.orig", "Dockerfile~", "README.md",
        "node_modules/pkg/Dockerfile", ".git/Dockerfile", "dockerfile.txt",
    ]
    for name in names:
        dockerfile(tmp_path / "proj", WARNING, name)
    code, data = audit_json(str(tmp_path / "proj"), *SEL)
    found = sorted(str(Path(f["file"]).relative_to(tmp_path / "proj")) for f in data["findings"])
    assert found == sorted(
        ["Containerfile", "Dockerfile", "Dockerfile.dev", "api.Dockerfile", "deep/er/Dockerfile", "worker.dockerfile"]
    )
    assert code == 1 and data["summary"]["files"] == 6


def test_same_file_twice_is_audited_once(tmp_path):
    dockerfile(tmp_path, WARNING)
    _, data = audit_json(".", "Dockerfile", *SEL)
    assert data["summary"]["files"] == 1 and len(data["findings"]) == 1


def test_stdin(tmp_path):
    code, data = audit_json("-", *SEL, input=WARNING)
    assert code == 1
    [finding] = data["findings"]
    assert finding["file"] == "-" and finding["rule"] == "DC103" and finding["line"] == 2
    assert audit("-", *SEL, input=CLEAN).exit_code == 0
    # the text report quotes the audited source, also from stdin
    assert "   2 | RUN apt-get update && apt-get install -y curl" in audit("-", *SEL, input=WARNING).stdout


def test_bad_inputs_are_reported_and_the_run_continues(tmp_path):
    good = dockerfile(tmp_path, WARNING, "good/Dockerfile")
    binary = tmp_path / "bin" / "Dockerfile"
    binary.parent.mkdir()
    binary.write_bytes(b"FROM debian\n\0\0\0\1ELF")
    (binary.parent / "tool.Dockerfile").write_bytes(b"\x7fELF\0\0")
    huge = tmp_path / "huge" / "Dockerfile"
    huge.parent.mkdir()
    huge.write_text("FROM debian\n" + "# padding\n" * (MAX_DOCKERFILE_BYTES // 10 + 1))
    (tmp_path / "empty").mkdir()
    syntax = dockerfile(tmp_path, "FROM a\nCOPY --nope x y\n", "syntax/Dockerfile")
    later = dockerfile(tmp_path, ALL_THREE, "later/Dockerfile")
    args = [
        "missing/Dockerfile", str(binary), str(huge), str(tmp_path / "empty"), syntax, good,
        str(tmp_path / "bin"), later, *SEL,
    ]
    code, data = audit_json(*args)
    assert code == 2
    assert {Path(f["file"]).parent.name for f in data["findings"]} == {"good", "later"}
    assert len(data["findings"]) == 4
    messages = sorted(e["message"] for e in data["errors"])
    assert any("missing/Dockerfile: no such file or directory" in m for m in messages)
    assert any("empty: no Dockerfile found" in m for m in messages)
    assert sum("binary file" in m for m in messages) == 2  # bin/Dockerfile once, bin/tool.Dockerfile
    assert any("too large for a Dockerfile" in m for m in messages)
    assert any("unknown flag: --nope" in m for m in messages)
    # Text output: errors on stderr, findings from the good files still on stdout.
    result = audit(*args)
    assert result.exit_code == 2
    assert "no such file or directory" in result.stderr and "binary file" in result.stderr
    assert "DC103" in result.stdout and "later/Dockerfile" in result.stdout


def test_unreadable_file(tmp_path, monkeypatch):
    path = Path(dockerfile(tmp_path, WARNING))

    def guarded_open(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied")
        return open(file, *args, **kwargs)

    # chmod 0 does not stop root: refuse the one file where decruft opens it
    monkeypatch.setattr("decruft.files.open", guarded_open, raising=False)
    result = audit(str(path), dockerfile(tmp_path, WARNING, "b/Dockerfile"), *SEL)
    assert result.exit_code == 2 and "permission denied" in result.stderr
    assert "b/Dockerfile" in result.stdout


def test_empty_directory_alone_exits_2(tmp_path):
    (tmp_path / "nothing").mkdir()
    result = audit(str(tmp_path / "nothing"))
    assert result.exit_code == 2 and "no Dockerfile found" in result.stderr


# ---------------------------------------------------------------------- other formats via the CLI
def test_sarif_and_github_formats(tmp_path):
    path = dockerfile(tmp_path, ALL_THREE)
    result = audit(path, *SEL, "--format", "sarif")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["version"] == "2.1.0" and len(document["runs"][0]["results"]) == 3
    result = audit(path, *SEL, "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(re.match(r"^::warning file=.*,line=\d+,col=\d+,", line) for line in lines)


# ---------------------------------------------------------------------- rules
def test_rules_listing_and_docs():
    result = CliRunner().invoke(main, ["rules", "--format", "json"])
    assert result.exit_code == 0
    rules = json.loads(result.stdout)
    codes = [r["code"] for r in rules]
    assert codes == sorted(codes) and {"DC101", "DC102", "DC103"} <= set(codes)
    dc102 = next(r for r in rules if r["code"] == "DC102")
    assert dc102["hadolint"] == ["DL3009"] and dc102["applicability"] == "safe"
    for rule in rules:
        assert rule["summary"] and rule["why"] and rule["bad"] and rule["good"]
    text = CliRunner().invoke(main, ["rules"]).stdout
    assert "DC103" in text
    docs = CliRunner().invoke(main, ["rules", "dc103"])
    assert docs.exit_code == 0
    assert "Why it matters" in docs.stdout and "--no-install-recommends" in docs.stdout and "DL3015" in docs.stdout
    assert json.loads(CliRunner().invoke(main, ["rules", "DC101", "--format", "json"]).stdout)["code"] == "DC101"
    unknown = CliRunner().invoke(main, ["rules", "DC999"])
    assert unknown.exit_code == 2 and "unknown rule" in unknown.stderr


# ---------------------------------------------------------------------- the real executable
def test_real_subprocess_json(tmp_path):
    project = tmp_path / "proj"
    dockerfile(project, ALL_THREE)
    dockerfile(project, CLEAN, "svc/Dockerfile.prod")
    proc = subprocess.run(
        [str(BIN / "decruft"), "audit", "--format", "json", *SEL, str(project)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["summary"]["files"] == 2 and data["summary"]["by_rule"] == {"DC101": 1, "DC102": 1, "DC103": 1}
    assert proc.stderr == ""
    proc = subprocess.run(
        [str(BIN / "decruft"), "audit", "-", "--fail-on", "never", *SEL],
        input=ALL_THREE, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 0 and "DC101" in proc.stdout


# ---------------------------------------------------------------------- pre-commit hook
def _hook():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list)
    [hook] = [h for h in hooks if h["id"] == "decruft-audit"]
    return hook


def test_pre_commit_hook_definition():
    hook = _hook()
    assert {"id", "name", "entry", "language", "files"} <= set(hook)
    assert hook["language"] == "python"
    assert shlex.split(hook["entry"])[:2] == ["decruft", "audit"]
    files, exclude = re.compile(hook["files"]), re.compile(hook.get("exclude", "^$"))
    samples = [
        "Dockerfile", "docker/Dockerfile", "a/b/api.Dockerfile", "Dockerfile.dev", "ci/Dockerfile.prod",
        "Containerfile", "x/Containerfile", "w.dockerfile", ".Dockerfile", "Dockerfile.dockerignore",
        "Dockerfile.orig", "Dockerfile.bak", "Dockerfile~", "Dockerfile.swp", "dockerfile", "Dockerfiles/README.md",
        "myDockerfile", "README.md", "Dockerfile/x.py", "docs/Dockerfile.md", "Containerfile.dev",
    ]
    for path in samples:
        selected = bool(files.search(path)) and not exclude.search(path)
        assert selected == is_dockerfile_name(Path(path).name), path


def test_pre_commit_hook_entry_runs(tmp_path):
    hook = _hook()
    command = shlex.split(hook["entry"])
    command[0] = str(BIN / command[0])  # pre-commit runs it from the hook's own environment
    clean = dockerfile(tmp_path, CLEAN, "Dockerfile")
    bad = dockerfile(tmp_path, WARNING, "svc/Dockerfile.prod")
    args = [*hook.get("args", []), *SEL]
    proc = subprocess.run([*command, *args, clean], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([*command, *args, clean, bad], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "DC103" in proc.stdout
