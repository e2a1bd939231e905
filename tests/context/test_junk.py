"""Junk detection by class, and .dockerignore proposals that respect COPY sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from decruft.context.dockerignore import DIALECTS, PatternMatcher, parse_ignore_text
from decruft.context.junk import (
    BLOCK_HEADER,
    detect_junk,
    escape_path,
    load_classes,
    propose_dockerignore,
)
from decruft.context.scan import scan_context

from .test_scan import make_tree

SMALL = 100  # a "large data" threshold for tests, so no test writes megabytes


def findings_by_class(root: Path, **kwargs) -> dict[str, dict[str, int]]:
    found = detect_junk(root, large_file_bytes=SMALL, **kwargs)
    return {f.junk.id: {p.path: p.size.bytes for p in f.paths} for f in found}


# --------------------------------------------------------------------------- the table


def test_table_rows_are_complete_and_unique():
    classes = load_classes()
    assert len({c.id for c in classes}) == len(classes)
    for junk in classes:
        assert junk.kind in ("waste", "secret") and junk.title and junk.why


def test_every_table_glob_is_a_valid_buildkit_pattern():
    for junk in load_classes():
        for glob in (*junk.dir_globs, *junk.file_globs, *junk.dir_names, *junk.file_names):
            PatternMatcher(["**/" + glob])  # raises on a bad pattern


# --------------------------------------------------------------------------- detection

DETECT_CASES = [
    # (tree, class id, {claimed path: bytes})
    ({".git/HEAD": "ref", ".git/objects/ab": "12345"}, "vcs", {".git": 8}),
    ({"sub/.hg/store": "xy"}, "vcs", {"sub/.hg": 2}),
    ({"node_modules/a/i.js": "abc", "web/node_modules/b.js": "de"}, "node-modules",
     {"node_modules": 3, "web/node_modules": 2}),
    ({"myenv/pyvenv.cfg": "home=/usr", "myenv/lib/x.py": "x"}, "python-venv", {"myenv": 10}),
    ({"pkg/__pycache__/m.cpython-311.pyc": "abcd", "pkg/stray.pyc": "ab"}, "python-bytecode",
     {"pkg/__pycache__": 4, "pkg/stray.pyc": 2}),
    ({".pytest_cache/v": "1", "x.egg-info/PKG-INFO": "22"}, "tool-caches",
     {".pytest_cache": 1, "x.egg-info": 2}),
    ({"dist/app.whl": "123", "web/.next/b": "4", ".coverage": "55"}, "build-output",
     {".coverage": 2, "dist": 3, "web/.next": 1}),
    ({".idea/ws.xml": "abc", "a/.DS_Store": "12", "f.py~": "1"}, "ide-os",
     {".idea": 3, "a/.DS_Store": 2, "f.py~": 1}),
    ({"logs/app.log": "abc"}, "logs", {"logs/app.log": 3}),
    ({"data/big.csv": "x" * 150, "data/small.csv": "x", "m.BIN": "y" * 200}, "large-data",
     {"data/big.csv": 150, "m.BIN": 200}),
    ({".env": "A=1", ".env.prod": "B=2", ".env.example": "C=", "a/prod.env": "D"}, "secret-env",
     {".env": 3, ".env.prod": 3, "a/prod.env": 1}),
    ({"certs/server.key": "k", "id_rsa": "r", "id_rsa.pub": "p", "tls.pem": "pem"}, "secret-key",
     {"certs/server.key": 1, "id_rsa": 1, "tls.pem": 3}),
    ({"home/.aws/credentials": "[default]", "k/.kube/config": "c", ".netrc": "m"},
     "secret-credentials", {"home/.aws/credentials": 9, "k/.kube/config": 1, ".netrc": 1}),
    ({".npmrc": "//r/:_authToken=abc\n", "web/.npmrc": "registry=https://x\n"},
     "secret-registry-token", {".npmrc": 20}),
]


@pytest.mark.parametrize("tree,class_id,expected", DETECT_CASES, ids=[c[1] for c in DETECT_CASES])
def test_detects_each_class_with_exact_bytes(tmp_path, tree, class_id, expected):
    make_tree(tmp_path, tree)
    assert findings_by_class(tmp_path).get(class_id) == expected


def test_outermost_claimed_directory_wins(tmp_path):
    make_tree(tmp_path, {"node_modules/p/.git/HEAD": "ref", "node_modules/p/.env": "S=1"})
    assert findings_by_class(tmp_path) == {"node-modules": {"node_modules": 6}}


def test_detection_sees_only_what_is_sent(tmp_path):
    make_tree(tmp_path, {".dockerignore": ".git\n", ".git/HEAD": "ref", "__pycache__/a.pyc": "x"})
    assert set(findings_by_class(tmp_path)) == {"python-bytecode"}


def test_directory_bytes_include_everything_below(tmp_path):
    make_tree(tmp_path, {"node_modules/a/b/c/d.js": "1234", "node_modules/e.js": "56"})
    [finding] = detect_junk(tmp_path)
    size = finding.paths[0].size
    assert (size.entries, size.files, size.bytes) == (6, 2, 6)


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("path", ["a*b", "we[ir]d?", "#hash", "!bang", " lead", "trail ",
                                  "back\\slash", "c++/x", "a(b)c|d{1}^e$.f"])
def test_escaped_path_matches_exactly_that_path(path, dialect):
    pattern = escape_path(path)
    [rule] = parse_ignore_text(pattern + "\n")
    matcher = PatternMatcher([rule], dialect=dialect)
    assert matcher.matches_or_parent_matches(path)
    assert not matcher.matches_or_parent_matches(path + "x")


def test_paths_a_line_cannot_hold_are_not_proposed():
    assert escape_path("new\nline") is None and escape_path("bad\udcff") is None


# --------------------------------------------------------------------------- proposals

PROJECT = {
    ".git/HEAD": "ref", ".git/objects/aa": "x" * 50,
    "src/app/__init__.py": "", "src/app/__pycache__/m.pyc": "pyc",
    "node_modules/lib/i.js": "js", "web/node_modules/lib/i.js": "js",
    "data/train.csv": "c" * 300, "data/model.bin": "m" * 400,
    ".env": "SECRET=1", "requirements.txt": "flask\n", "Dockerfile": "FROM python\n",
    "stray.pyc": "p",
}


def _propose(root: Path, needed, existing=None, **kwargs):
    return propose_dockerignore(root, needed, existing, large_file_bytes=SMALL, **kwargs)


def test_proposal_excludes_junk_but_keeps_specific_sources(tmp_path):
    make_tree(tmp_path, PROJECT)
    proposal = _propose(tmp_path, ["requirements.txt", "src/", "data/model.bin", "."])
    assert [p.pattern for p in proposal.patterns] == [
        ".env", ".git", "**/node_modules", "**/__pycache__", "*.pyc", "data/train.csv"]
    assert proposal.kept == [("data/model.bin",
                              "needed: COPY/ADD source 'data/model.bin' (data/model.bin)")]
    after = set(scan_context(tmp_path, patterns=parse_ignore_text(proposal.text)).sent_paths)
    assert {"data/model.bin", "requirements.txt", "src/app/__init__.py"} <= after
    assert "src/app/__pycache__" not in after and ".git" not in after


def test_proposal_numbers_come_from_really_evaluating_the_new_file(tmp_path):
    make_tree(tmp_path, PROJECT)
    proposal = _propose(tmp_path, ["."])
    assert proposal.before == scan_context(tmp_path).sent
    (tmp_path / ".dockerignore").write_text(proposal.text)
    assert proposal.after == scan_context(tmp_path).sent
    # What the patterns keep out, less the new .dockerignore that is now sent too.
    junk_bytes = sum(p.size.bytes for p in proposal.patterns)
    assert proposal.saved.bytes == junk_bytes - len(proposal.text.encode())
    # Applying it leaves nothing more to propose.
    assert _propose(tmp_path, ["."]).patterns == []


def test_existing_file_is_extended_not_rewritten(tmp_path):
    make_tree(tmp_path, PROJECT)
    existing = "# team rules\n*.md\n!KEEP.md   \n.git"  # no final newline, odd spacing
    proposal = _propose(tmp_path, ["."], existing)
    assert proposal.text.startswith(existing + "\n\n" + BLOCK_HEADER + "\n")
    assert ".git\n" not in proposal.text[len(existing):]  # already there: not repeated


def test_existing_file_on_disk_is_read_when_not_given(tmp_path):
    make_tree(tmp_path, {**PROJECT, ".dockerignore": "node_modules\n"})
    proposal = _propose(tmp_path, ["."])
    assert proposal.ignore_file == tmp_path / ".dockerignore"
    assert proposal.existing_text == "node_modules\n"
    assert "**/node_modules" in [p.pattern for p in proposal.patterns]  # web/node_modules


def test_wide_pattern_narrows_when_a_source_lies_inside_it(tmp_path):
    make_tree(tmp_path, PROJECT)
    proposal = _propose(tmp_path, ["web/node_modules/lib/i.js"])
    patterns = [p.pattern for p in proposal.patterns]
    assert "**/node_modules" not in patterns and "node_modules" in patterns
    assert proposal.kept[0][0] == "web/node_modules"


def test_glob_sources_protect_what_they_match(tmp_path):
    make_tree(tmp_path, PROJECT)
    proposal = _propose(tmp_path, ["data/*.csv"])
    assert "data/train.csv" not in [p.pattern for p in proposal.patterns]


def test_explicit_exceptions_in_the_existing_file_are_respected(tmp_path):
    make_tree(tmp_path, PROJECT)
    proposal = _propose(tmp_path, ["."], "*.txt\n!.env\n")
    assert ".env" not in [p.pattern for p in proposal.patterns]
    assert any(".env" in w for w in proposal.warnings)  # a secret that stays is called out


def test_needed_source_already_excluded_is_warned(tmp_path):
    make_tree(tmp_path, PROJECT)
    proposal = _propose(tmp_path, ["requirements.txt"], "*.txt\n")
    assert any("requirements.txt" in w and "excluded" in w for w in proposal.warnings)


def test_no_junk_means_no_change(tmp_path):
    make_tree(tmp_path, {"app.py": "print()", "Dockerfile": "FROM python\n"})
    proposal = _propose(tmp_path, ["."], "")
    assert proposal.patterns == [] and proposal.text == "" and proposal.saved.bytes == 0


def test_proposal_for_dockerfile_specific_ignore_file(tmp_path):
    make_tree(tmp_path, {**PROJECT, "df/app.Dockerfile": "FROM x\n",
                         "df/app.Dockerfile.dockerignore": "# specific\n"})
    proposal = _propose(tmp_path, ["."], dockerfile=tmp_path / "df/app.Dockerfile")
    assert proposal.ignore_file == tmp_path / "df/app.Dockerfile.dockerignore"
    assert proposal.text.startswith("# specific\n")
