"""The project copy, the files the source and dependency changes edit, and the edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from decruft.bench.workspace import Editor, choose_manifest, choose_source, copied_files, prepare


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize("copied, source, manifest", [
    (["app.py", "requirements.txt", "README.md"], "app.py", "requirements.txt"),
    (["package.json", "package-lock.json", "src/index.ts", "tsconfig.json"], "src/index.ts", "package.json"),
    (["go.mod", "go.sum", "main.go", "internal/kv/kv.go"], "main.go", "go.mod"),
    (["Makefile", "zcheck.c"], "zcheck.c", None),
    (["Dockerfile", ".dockerignore", "requirements-dev.txt"], None, "requirements-dev.txt"),
    (["index.html", "css/site.css", "nginx.conf"], "index.html", None),
    (["nginx.conf", "notes.txt"], "nginx.conf", None),
])
def test_chosen_files(copied, source, manifest):
    assert choose_source(copied) == source
    assert choose_manifest(copied) == manifest


def test_copied_files_follow_copy_sources_and_dockerignore(tmp_path):
    write(tmp_path, {
        "Dockerfile": "FROM busybox\nCOPY requirements.txt /app/\nCOPY src/ /app/src/\nCOPY *.cfg /etc/\n",
        "requirements.txt": "x\n", "src/app.py": "print(1)\n", "src/skip.log": "", "app.cfg": "",
        "notes.md": "", "tests/test_app.py": "", ".dockerignore": "src/*.log\n",
    })
    files = copied_files((tmp_path / "Dockerfile").read_text(), str(tmp_path / "Dockerfile"), tmp_path)
    assert sorted(files) == ["app.cfg", "requirements.txt", "src/app.py"]


def test_copy_dot_takes_everything_sent(tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox\nCOPY . /app\n", "a.py": "", "b/c.go": "", ".dockerignore": "b\n"})
    files = copied_files((tmp_path / "Dockerfile").read_text(), str(tmp_path / "Dockerfile"), tmp_path)
    assert "a.py" in files and "b/c.go" not in files


def test_an_edit_changes_the_content_each_time_and_restores_it(tmp_path):
    target = tmp_path / "app.py"
    target.write_bytes(b"print('hi')")  # no final newline
    before = target.stat().st_mtime_ns
    editor = Editor()
    seen = set()
    for _ in range(3):
        with editor.edited(target):
            text = target.read_text()
            assert text.startswith("print('hi')\n")
            extra = text[len("print('hi')\n"):]
            assert extra.strip() == "" and extra.startswith(" ") and extra.endswith("\n")
            seen.add(text)
        assert target.read_bytes() == b"print('hi')"
    assert len(seen) == 3
    assert target.stat().st_mtime_ns == before


def test_an_edit_is_undone_when_the_build_raises(tmp_path):
    target = tmp_path / "main.go"
    target.write_text("package main\n")
    with pytest.raises(KeyboardInterrupt):
        with Editor().edited(target):
            raise KeyboardInterrupt
    assert target.read_text() == "package main\n"


def test_an_edited_python_file_still_runs(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "app.py"
    target.write_text("if True:\n    print('ok')\n")
    with Editor().edited(target):
        out = subprocess.run([sys.executable, str(target)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "ok\n"


def test_prepare_never_touches_the_project(tmp_path):
    project = write(tmp_path / "project", {
        "Dockerfile": "FROM python:3.11\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n",
        "requirements.txt": "", "app.py": "",
    })
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    work = tmp_path / "work"
    work.mkdir()
    workspace = prepare(work, project / "Dockerfile", project)
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before
    assert workspace.original == work / "context" / "Dockerfile"
    assert workspace.optimised.parent == work / "optimised"
    assert workspace.optimised.read_text() == workspace.optimised_text
    assert workspace.optimised_text != before[project / "Dockerfile"].decode()
    assert workspace.fixes  # the pip cache at least
    assert workspace.source_file() == "app.py" and workspace.manifest_file() == "requirements.txt"


def test_prepare_against_uses_the_given_file(tmp_path):
    project = write(tmp_path / "project", {"Dockerfile": "FROM busybox\nCOPY . /\n", "x.sh": ""})
    other = write(tmp_path / "other", {"Dockerfile.slim": "FROM busybox\nCOPY x.sh /\n",
                                       "Dockerfile.slim.dockerignore": "*.md\n"})
    work = tmp_path / "work"
    work.mkdir()
    workspace = prepare(work, project / "Dockerfile", project, against=other / "Dockerfile.slim")
    assert workspace.optimised_text == "FROM busybox\nCOPY x.sh /\n"
    assert workspace.fixes == []
    assert (workspace.optimised.parent / "Dockerfile.dockerignore").read_text() == "*.md\n"
