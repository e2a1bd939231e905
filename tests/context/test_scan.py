"""The context walker: BuildKit's decisions, exclusion accounting, and bad input."""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decruft.context import scan as scan_mod
from decruft.context.dockerignore import PatternMatcher
from decruft.context.scan import (
    DIR,
    FILE,
    OTHER,
    SYMLINK,
    find_ignore_file,
    scan_context,
    size_of,
)


def make_tree(root: Path, files: dict[str, str | bytes | None]) -> Path:
    """Create files (str/bytes content) and directories (value None) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def sent(result) -> list[str]:
    return result.sent_paths


# --------------------------------------------------------------------------- BuildKit decisions

FSUTIL_TREE = {"bar": "b", "foo/bar2": "f", "foo2": "2"}

DECISION_CASES = [
    # (patterns, tree, expected sent paths)  -- fsutil's own walker tests first
    (["foo*", "!foo/bar2"], FSUTIL_TREE, ["bar", "foo", "foo/bar2"]),
    (["foo", "!foo/bar"], {"foo/bar": "x", "foo/baz": "y"}, ["foo", "foo/bar"]),
    (["*/c", "!a"], {"a/c": "1", "a/d": "2", "b/c": "3"}, ["a", "a/d", "b"]),
    (["docs", "!docs/README.md"], {"docs/README.md": "r", "docs/sub/x.md": "x", "src/m.py": "m"},
     ["docs", "docs/README.md", "src", "src/m.py"]),
    (["build", "!**/keep.txt"], {"build/x/keep.txt": "k", "build/y/z.txt": "z"},
     ["build", "build/x", "build/x/keep.txt"]),
    (["*", "!src", "src/**/*.log"], {"src/a.py": "a", "src/d/e.log": "e", "top.txt": "t"},
     ["src", "src/a.py", "src/d"]),
    (["**/__pycache__", "**/*.pyc"], {"a/__pycache__/x.pyc": "x", "a/b.pyc": "b", "a/c.py": "c"},
     ["a", "a/c.py"]),
    (["*.md"], {"README.md": "r", "docs/guide.md": "g"}, ["docs", "docs/guide.md"]),
    (["empty"], {"empty": None, "full/x": "x"}, ["full", "full/x"]),
    (["/"], {"a": "a"}, ["a"]),
]


@pytest.mark.parametrize("patterns,tree,expected", DECISION_CASES,
                         ids=[" ".join(c[0]) for c in DECISION_CASES])
def test_sent_paths(tmp_path, patterns, tree, expected):
    make_tree(tmp_path, tree)
    assert sent(scan_context(tmp_path, patterns=patterns)) == expected


def test_without_ignore_file_everything_is_sent_and_nothing_matched(tmp_path):
    make_tree(tmp_path, {"a/b": "12", "c": "345"})
    result = scan_context(tmp_path)
    assert result.matcher is None and result.ignore_file is None
    assert sent(result) == ["a", "a/b", "c"]
    assert (result.sent.entries, result.sent.files, result.sent.bytes) == (3, 2, 5)
    assert result.excluded.entries == 0 and result.top_excluded == []


def test_the_dockerignore_file_is_read_and_sent_unless_excluded(tmp_path):
    make_tree(tmp_path, {".dockerignore": "*.log\n", "a.log": "x", "b": "y"})
    result = scan_context(tmp_path)
    assert result.ignore_file == str(tmp_path / ".dockerignore")
    assert sent(result) == [".dockerignore", "b"]


def test_dockerfile_specific_ignore_file_replaces_the_root_one(tmp_path):
    make_tree(tmp_path, {
        "ctx/.dockerignore": "*.txt\n", "ctx/a.txt": "a", "ctx/b.md": "b",
        "df/app.Dockerfile": "FROM scratch\n", "df/app.Dockerfile.dockerignore": "*.md\n",
    })
    result = scan_context(tmp_path / "ctx", tmp_path / "df/app.Dockerfile")
    assert result.ignore_file == str(tmp_path / "df/app.Dockerfile.dockerignore")
    assert sent(result) == [".dockerignore", "a.txt"]
    # Without that Dockerfile, the root file applies.
    assert sent(scan_context(tmp_path / "ctx")) == [".dockerignore", "b.md"]


def test_default_dockerfile_ignore_file_in_the_context(tmp_path):
    make_tree(tmp_path, {"Dockerfile.dockerignore": "x\n", ".dockerignore": "y\n"})
    assert find_ignore_file(tmp_path) == tmp_path / "Dockerfile.dockerignore"


def test_excluded_directory_with_no_possible_exception_is_skipped(tmp_path, monkeypatch):
    make_tree(tmp_path, {"node_modules/p/i.js": "12345", "node_modules/q/j.js": "678", "a": "1"})
    checked: list[str] = []
    original = PatternMatcher.decide

    def spy(self, path, parent=None):
        checked.append(path)
        return original(self, path, parent)

    monkeypatch.setattr(PatternMatcher, "decide", spy)
    result = scan_context(tmp_path, patterns=["node_modules"])
    assert checked == ["a", "node_modules"]  # BuildKit returns SkipDir: no matching below
    assert sent(result) == ["a"]
    # ... but decruft still measures what the exclusion keeps out.
    assert (result.excluded.entries, result.excluded.files, result.excluded.bytes) == (5, 2, 8)
    [tree] = result.top_excluded
    assert (tree.path, tree.size.bytes, tree.rule, tree.size.files) == ("node_modules", 8, "node_modules", 2)


def test_top_excluded_keeps_the_largest_and_names_the_rule(tmp_path):
    make_tree(tmp_path, {".dockerignore": "# big ones\n*.bin\nlogs\n", "a.bin": "x" * 10,
                         "b.bin": "x" * 30, "logs/1": "x" * 20, "keep": "k"})
    result = scan_context(tmp_path, top_n=2)
    assert [(t.path, t.size.bytes, t.rule, t.line) for t in result.top_excluded] == [
        ("b.bin", 30, "*.bin", 2), ("logs", 20, "logs", 3)]
    assert result.excluded.bytes == 60


def test_by_top_level_adds_up_to_the_totals(tmp_path):
    make_tree(tmp_path, {"a/x": "12", "a/y.log": "345", "b.log": "6", "c/d/e": "78"})
    result = scan_context(tmp_path, patterns=["**/*.log"])
    assert result.by_top_level["a"].sent.bytes == 2
    assert result.by_top_level["a"].excluded.bytes == 3
    assert sum(t.sent.bytes for t in result.by_top_level.values()) == result.sent.bytes
    assert sum(t.excluded.entries for t in result.by_top_level.values()) == result.excluded.entries


def test_keep_entries_false_keeps_only_totals(tmp_path):
    make_tree(tmp_path, {f"d{i}/f{j}": "x" for i in range(5) for j in range(5)})
    full = scan_context(tmp_path, patterns=["d1"])
    lean = scan_context(tmp_path, patterns=["d1"], keep_entries=False)
    assert lean.entries is None
    assert (lean.sent, lean.excluded) == (full.sent, full.excluded)


def test_exception_kept_entries_are_marked(tmp_path):
    make_tree(tmp_path, {"a.md": "a", "README.md": "r", "x": "x"})
    kept = {e.path: e.kept_by_exception for e in scan_context(tmp_path, patterns=["*.md", "!README.md"]).entries}
    assert kept == {"README.md": True, "x": False}


# --------------------------------------------------------------------------- symlinks and specials


def test_symlinks_are_sent_as_links_and_never_followed(tmp_path):
    outside = make_tree(tmp_path / "outside", {f"f{i}": "x" for i in range(20)})
    ctx = make_tree(tmp_path / "ctx", {"real/a": "a"})
    (ctx / "to_outside").symlink_to(outside)
    (ctx / "to_real").symlink_to("real")
    (ctx / "dangling").symlink_to("nowhere")
    (ctx / "loop").symlink_to("loop")
    (ctx / "real/up").symlink_to("..")
    result = scan_context(ctx)
    kinds = {e.path: (e.kind, e.target) for e in result.entries}
    assert kinds == {
        "dangling": (SYMLINK, "nowhere"), "loop": (SYMLINK, "loop"), "real": (DIR, None),
        "real/a": (FILE, None), "real/up": (SYMLINK, ".."), "to_outside": (SYMLINK, str(outside)),
        "to_real": (SYMLINK, "real"),
    }
    assert result.sent.bytes == 1 and result.warnings == []


def test_fifo_and_socket_are_listed_never_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock"))
        result = scan_context(tmp_path)
    finally:
        server.close()
    assert {(e.path, e.kind) for e in result.entries} == {("pipe", OTHER), ("sock", OTHER)}


def test_undecodable_names_match_byte_for_byte(tmp_path):
    os.mkdir(os.path.join(os.fsencode(tmp_path), b"caf\xe9"))
    (tmp_path / ".dockerignore").write_bytes(b"caf\xe9\n")
    (tmp_path / "other").write_text("x")
    assert sent(scan_context(tmp_path)) == [".dockerignore", "other"]


# --------------------------------------------------------------------------- bad input


def test_permission_denied_directory_warns_and_the_walk_goes_on(tmp_path, monkeypatch):
    make_tree(tmp_path, {"locked/secret": "s", "open/file": "f", "z": "z"})
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(scan_mod.os, "scandir", scandir)
    result = scan_context(tmp_path)
    assert sent(result) == ["locked", "open", "open/file", "z"]
    [warning] = result.warnings
    assert warning.path == "locked" and warning.fails_build and "Permission denied" in warning.message
    assert result.would_fail_build


def test_permission_denied_inside_excluded_directory_does_not_fail(tmp_path, monkeypatch):
    make_tree(tmp_path, {"cache/locked/x": "x", "cache/keep": "k"})
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(scan_mod.os, "scandir", scandir)
    result = scan_context(tmp_path, patterns=["cache", "!cache/keep"])
    assert sent(result) == ["cache", "cache/keep"]
    assert not result.would_fail_build  # fsutil ignores EACCES below an excluded dir


class _VanishingEntry:
    """A DirEntry whose file disappears between listing and stat."""

    def __init__(self, real):
        self.name, self.path = real.name, real.path

    def stat(self, follow_symlinks=True):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", self.path)

    def is_dir(self, follow_symlinks=True):
        return False

    def is_symlink(self):
        return False

    def is_file(self, follow_symlinks=True):
        return True


class _Listing:
    def __init__(self, entries):
        self.entries = entries

    def __enter__(self):
        return iter(self.entries)

    def __exit__(self, *exc):
        return False


def test_file_vanishing_during_the_walk_is_a_warning(tmp_path, monkeypatch):
    make_tree(tmp_path, {"gone": "g", "here": "h"})
    real_scandir = os.scandir

    def scandir(path):
        with real_scandir(path) as listing:
            entries = [(_VanishingEntry(e) if e.name == "gone" else e) for e in listing]
        return _Listing(entries)

    monkeypatch.setattr(scan_mod.os, "scandir", scandir)
    result = scan_context(tmp_path)
    assert sent(result) == ["here"]
    assert [w.path for w in result.warnings] == ["gone"]


def test_path_longer_than_path_max_fails_even_for_root(tmp_path):
    # ENAMETOOLONG is a real failure for root too (Go's walker fails the same way).
    root_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    fds = [root_fd]
    try:
        for _ in range(24):
            os.mkdir("d" * 200, dir_fd=fds[-1])
            fds.append(os.open("d" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        result = scan_context(tmp_path)
    finally:
        for fd in fds:
            os.close(fd)
    assert any("too long" in w.message.lower() for w in result.warnings)
    assert result.sent.entries >= 15
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_bind_mount_style_directory_loop_is_not_entered(tmp_path, monkeypatch):
    make_tree(tmp_path, {"a/b/f": "f"})
    real_scandir = os.scandir

    def scandir(path):
        # Make a/b look like it contains the context root again (what a bind mount does).
        if os.fspath(path).endswith("a/b"):
            return real_scandir(tmp_path)
        return real_scandir(path)

    monkeypatch.setattr(scan_mod.os, "scandir", scandir)
    result = scan_context(tmp_path)
    assert any("loop" in w.message for w in result.warnings)
    assert result.sent.entries < 20


def test_binary_ignore_file_gives_warnings_and_the_walk_goes_on(tmp_path):
    noise = bytes(range(256)) * 8 + b"\n[\n!\n*.log\n"
    make_tree(tmp_path, {".dockerignore": noise, "a.log": "x", "b": "y"})
    result = scan_context(tmp_path)
    assert "b" in sent(result) and "a.log" not in sent(result)
    messages = " ".join(w.message for w in result.warnings)
    assert "binary" in messages and "illegal exclusion" in messages
    assert result.would_fail_build


def test_huge_ignore_file_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_mod, "MAX_IGNORE_BYTES", 1000)
    monkeypatch.setattr(scan_mod, "MAX_PATTERNS", 50)
    lines = "".join(f"pattern-{i}\n" for i in range(500)) + "a.log\n"
    make_tree(tmp_path, {".dockerignore": lines, "a.log": "x", "pattern-3": "p"})
    result = scan_context(tmp_path)
    assert len(result.matcher) == 50
    assert sent(result) == [".dockerignore", "a.log"]
    assert len(result.warnings) == 2


def test_bad_regexp_fails_build_only_when_reached(tmp_path):
    make_tree(tmp_path, {"a": "a", "b": "b"})
    quiet = scan_context(tmp_path, patterns=["!x[z-a]"])
    assert sent(quiet) == ["a", "b"] and not quiet.warnings
    loud = scan_context(tmp_path, patterns=["a", "!x[z-a]"])
    assert loud.would_fail_build and len(loud.warnings) == 1


def test_context_that_is_not_a_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    result = scan_context(tmp_path / "f")
    assert result.would_fail_build and result.sent.entries == 0


# --------------------------------------------------------------------------- size_of


def test_size_of_reports_each_path(tmp_path):
    make_tree(tmp_path, {"a/b/c": "123", "a/d": "45", "e": "6789"})
    (tmp_path / "link").symlink_to("a")
    sizes = size_of([tmp_path / "a", tmp_path / "e", tmp_path / "link", tmp_path / "missing"])
    assert [(s.entries, s.files, s.bytes) for s in sizes.values()] == [
        (4, 2, 5), (1, 1, 4), (1, 0, 0), (0, 0, 0)]


# --------------------------------------------------------------------------- model check

_NAMES = st.sampled_from(["a", "b", "c.md", "d.log"])
_TREE = st.lists(st.lists(_NAMES, min_size=1, max_size=3).map("/".join), min_size=1, max_size=8)
_PATTERN = st.sampled_from(["a", "b", "*.md", "**/*.log", "*/c.md", "a/*", "a/b", "**/b", "*"])
_RULES = st.lists(st.tuples(st.booleans(), _PATTERN), max_size=4).map(
    lambda rules: [("!" if neg else "") + p for neg, p in rules])


def _expected_sent(tree_paths: set[str], dirs: set[str], matcher: PatternMatcher) -> set[str]:
    """BuildKit's rule written naively: visit unless an ancestor was skipped; a visited path
    is sent when not excluded, an excluded dir comes back when a descendant is sent."""
    def skipped(path: str) -> bool:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            ancestor = "/".join(parts[:depth])
            if matcher.walker_excludes(ancestor) and not matcher.may_reinclude_below(ancestor):
                return True
        return False

    direct = {p for p in tree_paths if not skipped(p) and not matcher.walker_excludes(p)}
    parents = {"/".join(p.split("/")[:i]) for p in direct for i in range(1, p.count("/") + 1)}
    return direct | (parents & dirs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_TREE, _RULES)
def test_walk_agrees_with_a_naive_model(tmp_path_factory, files, rules):
    root = tmp_path_factory.mktemp("ctx")
    created: set[str] = set()
    dirs: set[str] = set()
    for rel in files:
        parts = rel.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts))]
        if rel in dirs or any(p in created - dirs for p in prefixes):
            continue
        for prefix in prefixes:
            (root / prefix).mkdir(exist_ok=True)
            dirs.add(prefix)
        (root / rel).write_text("x")
        created.add(rel)
    created |= dirs
    result = scan_context(root, patterns=rules)
    if result.matcher is None:
        assert set(sent(result)) == created
        return
    assert set(sent(result)) == _expected_sent(created, dirs, result.matcher)
