"""Every vector in shared/testdata/dockerignore_vectors.json (patternmatcher's own tests, the
Docker docs and fsutil walker tests) evaluated with the function the vector names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from decruft.context.dockerignore import (
    DockerignoreError,
    PatternMatcher,
    matches,
    parse_ignore_text,
)

PACKAGE_MATCHES = "Matches(file, patterns) [package-level; cleans file]"
OR_PARENT = "MatchesOrParentMatches"
WALKER = "walker (MatchesUsingParentResults)"


def shared_dir() -> Path:
    """shared/ lies beside the clone; DECRUFT_SHARED overrides (CI lays it out itself)."""
    override = os.environ.get("DECRUFT_SHARED")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / ".." / "shared"


VECTOR_FILE = shared_dir() / "testdata" / "dockerignore_vectors.json"
VECTORS = json.loads(VECTOR_FILE.read_text()) if VECTOR_FILE.is_file() else []


def _vector_id(index: int, vector: dict) -> str:
    short = {PACKAGE_MATCHES: "Matches", OR_PARENT: "OrParent", WALKER: "walker"}
    text = f"{index:03d}-{short.get(vector['func'], '?')}-{vector['patterns']}-{vector['path']}"
    return text[:90]


def _patterns(vector: dict) -> list:
    if vector.get("preprocess"):
        return parse_ignore_text("\n".join(vector["patterns"]) + "\n", file=".dockerignore")
    return vector["patterns"]


def evaluate(vector: dict) -> bool:
    """Run the patternmatcher entry point the vector was recorded with."""
    func, path = vector["func"], vector["path"]
    if func == PACKAGE_MATCHES:
        return matches(path, [getattr(p, "pattern", p) for p in _patterns(vector)])
    matcher = PatternMatcher(_patterns(vector))
    if func == OR_PARENT:
        return matcher.matches_or_parent_matches(path)
    if func == WALKER:
        return matcher.walker_excludes(path)
    raise AssertionError(f"unknown func {func!r}")


def test_vector_file_is_complete():
    assert VECTOR_FILE.is_file(), f"missing {VECTOR_FILE} (set DECRUFT_SHARED)"
    assert len(VECTORS) == 168
    assert sum("error" in v for v in VECTORS) == 18


@pytest.mark.parametrize(
    "vector", VECTORS, ids=[_vector_id(i, v) for i, v in enumerate(VECTORS)]
)
def test_vector(vector):
    if "error" in vector:
        with pytest.raises(DockerignoreError):
            evaluate(vector)
        # patternmatcher must keep failing on repeated calls, never start matching
        with pytest.raises(DockerignoreError):
            evaluate(vector)
        return
    assert evaluate(vector) is vector["excluded"]
