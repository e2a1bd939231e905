"""Bytes a COPY takes from the context: sources matched as BuildKit does (Go's filepath.Match)."""

from pathlib import Path

import pytest

from decruft.audit.context import RuleContext
from decruft.audit.facts import copied_bytes
from decruft.dockerfile import parse
from decruft.dockerfile.model import build_model

FILES = {"a.txt": 10, "b.txt": 20, "src/app.py": 300, "src/lib/x.py": 4000, "[x].txt": 50000, "a*": 600000}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    for name, size in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
    return tmp_path


@pytest.mark.parametrize(
    "sources, expected",
    [
        ("*.txt", 10 + 20 + 50000),
        ("src", 300 + 4000),
        ("src/*.py", 300),  # `*` never crosses `/`
        ("*/*.py", 300),
        ("src/*", 300 + 4000),  # a matched directory is copied whole
        ("[ab].txt", 10 + 20),
        ("\\[x\\].txt", 50000),  # escaped brackets are literal
        ("a\\*", 600000),
        ("[", 0),  # malformed: BuildKit fails the COPY, nothing is sent
        (". ", sum(FILES.values())),
    ],
)
def test_copied_bytes_match_copy_sources_like_buildkit(project, sources, expected):
    dockerfile = parse(f"FROM scratch\nCOPY {sources} /dst/\n")
    context = RuleContext(dockerfile, build_model(dockerfile), context_dir=project)
    assert copied_bytes(context, dockerfile.instructions[1]) == expected
