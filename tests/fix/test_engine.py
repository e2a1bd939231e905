"""The fix engine: span edits, rounds, idempotence, losslessness, safety on disk."""

import os

import pytest

from decruft.fix import FixError, FixOptions, fix_file, fix_source

WASTEFUL = (
    "# syntax=docker/dockerfile:1\r\n"
    "FROM debian:bookworm\r\n"
    "# keep this comment\r\n"
    "RUN apt-get update && apt-get install -y curl \\\r\n"
    "\t&& apt-get install -y git\r\n"
    "ONBUILD RUN echo keep\r\n"
)


def test_safe_fixes_are_applied_and_the_rest_is_byte_identical():
    result = fix_source(WASTEFUL, options=FixOptions(select=["DC103"]))
    assert result.fixed == WASTEFUL.replace("install -y", "install --no-install-recommends -y")
    assert [a.code for a in result.applied] == ["DC103", "DC103"]


def test_fixing_is_idempotent():
    once = fix_source(WASTEFUL).fixed
    twice = fix_source(once)
    assert twice.fixed == once and not twice.applied


def test_diff_mentions_both_versions():
    diff = fix_source(WASTEFUL, options=FixOptions(select=["DC103"])).diff()
    assert diff.startswith("--- a/Dockerfile\n+++ b/Dockerfile\n")
    assert "+RUN apt-get update && apt-get install --no-install-recommends -y curl" in diff


def test_syntax_error_refuses():
    with pytest.raises(FixError):
        fix_source("FROM a\nRUN <<EOF\n")


def test_fix_file_writes_backup_atomically(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_bytes(WASTEFUL.encode())
    result = fix_file(path, FixOptions(select=["DC103"]))
    assert result.changed
    assert (tmp_path / "Dockerfile.orig").read_bytes() == WASTEFUL.encode()
    assert b"--no-install-recommends" in path.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".Dockerfile.")]


def test_fix_file_no_write_leaves_file(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_bytes(WASTEFUL.encode())
    fix_file(path, FixOptions(select=["DC103"]), write=False)
    assert path.read_bytes() == WASTEFUL.encode()
    assert not (tmp_path / "Dockerfile.orig").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files; see test below")
def test_read_only_file_is_untouched(tmp_path):  # pragma: no cover - non-root path
    path = tmp_path / "Dockerfile"
    path.write_bytes(WASTEFUL.encode())
    path.chmod(0o444)
    with pytest.raises(FixError):
        fix_file(path, FixOptions(select=["DC103"]))


def test_read_only_directory_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "Dockerfile"
    path.write_bytes(WASTEFUL.encode())
    monkeypatch.setattr(os, "access", lambda *_args, **_kw: False)
    with pytest.raises(FixError, match="read-only"):
        fix_file(path, FixOptions(select=["DC103"]))
    assert path.read_bytes() == WASTEFUL.encode()


def test_file_changed_during_run_is_untouched(tmp_path, monkeypatch):
    import decruft.fix as fix_module

    path = tmp_path / "Dockerfile"
    path.write_bytes(WASTEFUL.encode())
    real = fix_module.fix_source

    def racing(*args, **kwargs):
        result = real(*args, **kwargs)
        path.write_text(WASTEFUL + "RUN echo changed\n")
        return result

    monkeypatch.setattr(fix_module, "fix_source", racing)
    with pytest.raises(FixError, match="changed on disk"):
        fix_file(path, FixOptions(select=["DC103"]))
    assert path.read_text().endswith("RUN echo changed\n")


@pytest.mark.parametrize(
    "run, mount, superseded_text",
    [
        ("RUN pip install flask", "--mount=type=cache,target=/root/.cache/pip", "--no-cache-dir"),
        ("RUN npm install -g pnpm", "--mount=type=cache,target=/root/.npm", "npm cache clean"),
        ("RUN apt-get update && apt-get install -y --no-install-recommends curl",
         "--mount=type=cache,target=/var/lib/apt/lists", "rm -rf /var/lib/apt/lists"),
        ("RUN dnf install -y curl", "--mount=type=cache,target=/var/cache/dnf", "dnf clean all"),
    ],
)
def test_a_cache_mount_fix_supersedes_the_cache_removal_fix_on_the_same_run(run, mount, superseded_text):
    source = f"# syntax=docker/dockerfile:1\nFROM python:3.11-slim\n{run}\n"
    fixed = fix_source(source).fixed
    assert mount in fixed
    assert superseded_text not in fixed
    assert fix_source(fixed).fixed == fixed


def test_without_the_cache_mount_fix_the_removal_fix_still_applies():
    source = "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nRUN pip install flask\n"
    fixed = fix_source(source, options=FixOptions(ignore=["DC131"])).fixed
    assert "pip install --no-cache-dir flask" in fixed and "--mount" not in fixed
