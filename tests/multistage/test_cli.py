"""`decruft fix --multistage` without an engine: files that cannot be converted are reported
with their reason and left exactly as they were (the planning happens before any build)."""

from __future__ import annotations

from click.testing import CliRunner

from decruft.cli import main


def test_not_converted_is_one_line_and_the_file_stays(tmp_path):
    path = tmp_path / "Dockerfile"
    text = "FROM python:3.11-slim\nONBUILD COPY . /app\nRUN pip install --no-cache-dir flask\nCMD [\"flask\", \"run\"]\n"
    path.write_text(text)
    outcome = CliRunner().invoke(main, ["fix", "--multistage", "--select", "DC101", str(path)])
    assert outcome.exit_code == 0, outcome.output
    assert f"{path}: not converted: ONBUILD triggers run in child images" in outcome.output
    assert path.read_text() == text
    assert not (tmp_path / "Dockerfile.orig").exists()


def test_good_multi_stage_file_is_left_alone(tmp_path):
    path = tmp_path / "Dockerfile"
    text = ("FROM golang:1.19 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app .\n"
            "FROM scratch\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n")
    path.write_text(text)
    outcome = CliRunner().invoke(main, ["fix", "--multistage", "--diff", "--select", "DC101", str(path)])
    assert outcome.exit_code == 0
    assert "not converted: already multi-stage and the final stage ships no toolchain: left alone" in outcome.output
    assert path.read_text() == text


def test_help_mentions_multistage():
    outcome = CliRunner().invoke(main, ["fix", "--help"])
    assert "--multistage" in outcome.output
