"""`decruft parse`, `--version`, `--help` and syntax-error exit codes."""

import json
import subprocess
import sys

from click.testing import CliRunner

from decruft import __version__
from decruft.cli import main

SOURCE = (
    "# syntax=docker/dockerfile:1\nARG BASE=debian\nFROM ${BASE}:bookworm AS build\n"
    "RUN --mount=type=cache,target=/var/cache/apt apt-get update \\\n && apt-get install -y gcc\n"
    "FROM debian:bookworm-slim\nCOPY --from=build /usr/bin/gcc /usr/local/bin/\n"
    "RUN <<EOF\nset -e\necho hi\nEOF\nCMD [\"gcc\", \"--version\"]\n"
)


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input, catch_exceptions=False)


def test_version_and_help():
    assert __version__ in run(["--version"]).output
    output = run(["--help"]).output
    assert "audit" in output and "parse" in output


def test_parse_json_model(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(SOURCE)
    result = run(["parse", str(path), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [d["name"] for d in data["directives"]] == ["syntax"]
    assert data["meta_args"][0]["value"] == "debian"
    build, final = data["stages"]
    assert build["base_resolved"] == "debian:bookworm" and build["name"] == "build"
    assert final["final"] and final["dependencies"][0]["stage"] == 0
    run_ins = build["instructions"][1]
    assert run_ins["kind"] == "RUN" and (run_ins["line"], run_ins["end_line"]) == (4, 5)
    assert run_ins["flags"][0]["name"] == "mount"
    commands = run_ins["shell"]["commands"]
    assert [c["name"] for c in commands] == ["apt-get", "apt-get"]
    assert commands[1]["operator"] == "&&" and commands[1]["line"] == 5
    heredoc_run = final["instructions"][2]
    assert heredoc_run["heredocs"][0]["content"] == "set -e\necho hi\n"
    assert heredoc_run["shell"]["origin"] == "heredoc"
    assert final["instructions"][3]["json"] is True


def test_parse_stdin_text_output():
    result = run(["parse", "-"], input=SOURCE)
    assert result.exit_code == 0
    assert "stage 0 'build' FROM debian:bookworm" in result.output


def test_parse_syntax_error_exits_2():
    result = CliRunner().invoke(main, ["parse", "-"], input="FROM a\nRUN <<EOF\nx\n")
    assert result.exit_code == 2
    assert "-:2:1: unterminated heredoc" in result.output


def test_audit_syntax_error_exits_2_with_location(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM a\nCOPY --nope x y\n")
    proc = subprocess.run(
        [sys.executable, "-m", "decruft", "audit", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert f"{path}:2:6: unknown flag: --nope" in proc.stderr


def test_missing_file_is_a_clear_error():
    result = CliRunner().invoke(main, ["parse", "/nonexistent/Dockerfile"])
    assert result.exit_code == 2
    assert "no such file" in result.output
