"""Table tests for the .dockerignore reader, pattern compiler and evaluation helpers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decruft.context import _goregex
from decruft.context.dockerignore import (
    EXACT,
    PREFIX,
    REGEX,
    SUFFIX,
    DockerignoreError,
    PatternMatcher,
    buildkit_regex_source,
    go_clean,
    go_dir,
    go_path_match,
    go_trim_space,
    parse_ignore_text,
    pattern_syntax_error,
)
from decruft.errors import DecruftError

# --------------------------------------------------------------------------- ignorefile.ReadAll

PARSE_CASES = [
    # (file bytes, patterns ReadAll returns, why)
    (b"*.pyc\n", ["*.pyc"], "plain line"),
    (b"\xef\xbb\xbf*.pyc\n", ["*.pyc"], "BOM stripped on line 1"),
    (b"a\n\xef\xbb\xbfb\n", ["a", "\ufeffb"], "BOM kept on later lines"),
    (b"# comment\n", [], "comment"),
    (b"  # not a comment\n", ["# not a comment"], "comment only when raw line starts with #"),
    (b"#\n", [], "bare #"),
    (b"  foo  \n\n\t\n", ["foo"], "trimmed, blank lines skipped"),
    (b"\xc2\xa0foo\xe2\x80\x83\n", ["foo"], "Go trims Unicode spaces (NBSP, em space)"),
    (b"\x1cfoo\n", ["\x1cfoo"], "Go does not trim \\x1c (str.strip would)"),
    (b"!foo\n", ["!foo"], "exception"),
    (b"!  foo/ \n", ["!foo"], "exception text trimmed again and cleaned"),
    (b"!\n", ["!"], "bare ! kept: New rejects it"),
    (b"! \n", ["!"], "! with spaces is still bare"),
    (b"/foo/bar/\n", ["foo/bar"], "one leading slash dropped, trailing slash cleaned"),
    (b"//foo\n", ["foo"], "Clean collapses slashes first"),
    (b"!/foo\n", ["!foo"], "leading slash dropped after !"),
    (b"/\n", ["/"], "lone slash stays"),
    (b"./a//b/.\n", ["a/b"], "Clean"),
    (b"a/../b\n", ["b"], "Clean resolves .."),
    (b"../x\n", ["../x"], "leading .. kept"),
    (b"/..\n", ["/"], "rooted .. becomes /"),
    (b".\n", ["."], "dot stays (matches nothing)"),
    (b"a\r\nb\r\n", ["a", "b"], "CRLF"),
    (b"a\r\r\n", ["a"], "one CR dropped, the other is trimmed as space"),
    (b"last", ["last"], "no final newline"),
    (b"foo\\\n", ["foo\\"], "backslash kept for the pattern compiler"),
    (b"\xff\xfe\n", ["\udcff\udcfe"], "bad UTF-8 kept byte for byte"),
]


@pytest.mark.parametrize("data,expected,why", PARSE_CASES, ids=[c[2] for c in PARSE_CASES])
def test_read_all(data, expected, why):
    assert [r.pattern for r in parse_ignore_text(data)] == expected


def test_rules_carry_line_numbers_counting_comments_and_blanks():
    rules = parse_ignore_text(b"# c\n\nfoo\n  \n!bar\n", file="ctx/.dockerignore")
    assert [(r.pattern, r.line, r.file) for r in rules] == [
        ("foo", 3, "ctx/.dockerignore"),
        ("!bar", 5, "ctx/.dockerignore"),
    ]


def test_str_input_is_read_like_bytes():
    assert [r.pattern for r in parse_ignore_text("é/*.txt\n")] == ["é/*.txt"]


def test_line_over_64k_fails_like_bufio_scanner():
    ok = b"a" * (64 * 1024 - 1) + b"\n"
    assert len(parse_ignore_text(ok)) == 1
    with pytest.raises(DockerignoreError) as raised:
        parse_ignore_text(b"x\n" + b"a" * (64 * 1024) + b"\ny\n", file=".dockerignore")
    assert raised.value.line == 2 and "64 KiB" in str(raised.value)


def test_line_over_64k_is_recorded_when_lenient():
    problems: list[DockerignoreError] = []
    rules = parse_ignore_text(b"a" * 70000 + b"\nkeep\n", problems=problems)
    assert [r.pattern for r in rules] == ["keep"]
    assert len(problems) == 1 and problems[0].fails_build


# --------------------------------------------------------------------------- Go helpers

CLEAN_CASES = [
    ("", "."), (".", "."), ("a/", "a"), ("a//b", "a/b"), ("/a/../..", "/"), ("a/../..", ".."),
    ("//a", "/a"), ("/", "/"), ("a/./b/.", "a/b"), ("../../a", "../../a"), ("a/b/../../c", "c"),
]


@pytest.mark.parametrize("path,expected", CLEAN_CASES)
def test_go_clean(path, expected):
    assert go_clean(path) == expected


@pytest.mark.parametrize("path,expected", [("a/b", "a"), ("a", "."), ("/a", "/"), ("a/b/", "a/b")])
def test_go_dir(path, expected):
    assert go_dir(path) == expected


def test_go_trim_space_is_narrower_than_str_strip():
    assert go_trim_space("\x1c a \x1f") == "\x1c a \x1f"
    assert go_trim_space("\u3000a\u00a0") == "a"


MATCH_CASES = [
    ("*.txt", "a.txt", True), ("*.txt", "d/a.txt", False), ("d/[a-c]?.txt", "d/bx.txt", True),
    ("[!a]", "!", True), ("[!a]", "b", False), ("[^a]", "b", True), ("a\\*", "a*", True),
    ("*", "", True), ("a*", "a/b", False), ("?", "/", False),
]


@pytest.mark.parametrize("pattern,name,expected", MATCH_CASES)
def test_go_path_match(pattern, name, expected):
    assert go_path_match(pattern, name) is expected


SYNTAX_CASES = [
    ("[", "unterminated"), ("a[", "unterminated"), ("[^bc", "unterminated"),
    ("[]a]", "']'"), ("[-]", "'-'"), ("[x-]", "']'"), ("[a-b-c]", "'-'"),
    ("\\", "trailing"), ("a/*/\\", "trailing"), ("*[", "unterminated"),
]


@pytest.mark.parametrize("pattern,reason", SYNTAX_CASES)
def test_pattern_syntax_errors_name_the_reason(pattern, reason):
    why = pattern_syntax_error(pattern)
    assert why is not None and reason in why


@pytest.mark.parametrize("pattern", ["*", "a/**", "[\\]a]", "[x\\-]", "a\\y", "[z-a]", "[[:foo:]]"])
def test_pattern_syntax_accepts_what_go_filepath_match_accepts(pattern):
    assert pattern_syntax_error(pattern) is None


def test_bad_pattern_error_says_file_line_and_pattern():
    with pytest.raises(DockerignoreError) as raised:
        PatternMatcher(parse_ignore_text(b"ok\n\n[x-\n", file="ctx/.dockerignore"))
    error = raised.value
    assert isinstance(error, DecruftError)
    assert (error.file, error.line, error.pattern, error.fails_build) == (
        "ctx/.dockerignore", 3, "[x-", True)
    assert str(error).startswith("ctx/.dockerignore:3: bad pattern '[x-'")


def test_lenient_matcher_drops_bad_patterns_and_reports_them():
    problems: list[DockerignoreError] = []
    matcher = PatternMatcher(["[", "!", "*.go"], problems=problems)
    assert [p.source for p in matcher.patterns] == ["*.go"]
    assert len(problems) == 2


# --------------------------------------------------------------------------- compile

COMPILE_CASES = [
    ("foo", EXACT, None),
    ("a.b+c", EXACT, None),
    ("foo/**", PREFIX, None),
    ("**/foo", SUFFIX, None),
    ("**", SUFFIX, None),
    ("**/foo.txt", SUFFIX, None),
    ("*.go", REGEX, "^[^/]*\\.go$"),
    ("**/*.go", REGEX, "^(.*/)?[^/]*\\.go$"),
    ("**/**", REGEX, "^(.*/)?.*$"),
    ("a/**/b", REGEX, "^a/(.*/)?b$"),
    ("**/a/**", REGEX, "^(.*/)?a/.*$"),
    ("a?", REGEX, "^a[^/]$"),
    ("a\\*b", REGEX, "^a\\*b$"),
    ("[ab]c", REGEX, "^[ab]c$"),
    ("\ufeff*.go", REGEX, "^[^/]*\\.go$"),
    ("x\udcff*", REGEX, "^x\ufffd[^/]*$"),
]


@pytest.mark.parametrize("pattern,kind,regex", COMPILE_CASES)
def test_buildkit_regex_source(pattern, kind, regex):
    got_kind, got_regex = buildkit_regex_source(pattern)
    assert got_kind == kind
    if regex is not None:
        assert got_regex == regex


# BuildKit hands the pattern's classes and escapes to Go's regexp: these follow Go, not re.
GO_REGEX_CASES = [
    ("a\\d", "a5", True), ("a\\d", "ad", False),
    ("[[:alpha:]]", "b", True), ("[[:alpha:]]", ":]", False),
    ("[[:^digit:]]x", "ax", True), ("[[:^digit:]]x", "1x", False),
    ("[*]", "[^]", True), ("[*]", "*", False),
    ("a^*", "a^b", False),
    ("a\\Qb*c", "ab[^/]*c$", True), ("a\\Qb*c", "abXc", False),
    ("x\\.y*", "x.yz", True), ("x\\x41*", "xA", True), ("x\\101*", "xA", True),
    ("[\\d]z", "7z", True), ("a\\sb*", "a b", True), ("a\\sb*", "a\vb", False),
    ("*.txt", "a.txt\n", False),
    ("a?b", "a\udcffb", True),
    ("a?b", "a\u263ab", True),
]


@pytest.mark.parametrize("pattern,path,expected", GO_REGEX_CASES)
def test_go_regexp_semantics(pattern, path, expected):
    assert PatternMatcher([pattern]).matches_exact(path) is expected


@pytest.mark.parametrize("pattern", ["a\\y*", "[z-a]", "[[:foo:]]x", "a\\1*", "a\\8*"])
def test_go_regexp_errors_are_deferred_until_a_path_reaches_them(pattern):
    matcher = PatternMatcher([pattern])  # New succeeds, as in Go
    error = matcher.patterns[0].deferred_error
    assert error is not None and error.fails_build
    with pytest.raises(DockerignoreError):
        matcher.matches_or_parent_matches("x")


def test_unreached_exception_with_bad_regexp_never_fails():
    # Exceptions are only evaluated once something matched, as in Go.
    assert PatternMatcher(["!a\\y*"]).matches_or_parent_matches("a") is False


def test_unicode_classes_are_reported_as_unsupported():
    pattern = PatternMatcher(["a\\pL*"]).patterns[0]
    assert pattern.deferred_error is not None and not pattern.deferred_error.fails_build


def test_catastrophic_pattern_uses_the_linear_matcher():
    matcher = PatternMatcher(["*a*a*a*a*a*a*a*a*a*a*b"])
    assert matcher.matches_exact("a" * 3000) is False
    assert matcher.matches_exact("a" * 30 + "b") is True


_PATTERN_ALPHABET = st.sampled_from(list("ab/*?.[]^-\\") + ["**", "[a-b]", "[^a]", "\\d"])
_PATH_ALPHABET = st.sampled_from(list("ab/.-^[]\\*") + ["\n", "\udcff", "7"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PATTERN_ALPHABET, max_size=8).map("".join), st.lists(_PATH_ALPHABET, max_size=10).map("".join))
def test_re_and_linear_back_ends_agree(pattern, path):
    kind, source = buildkit_regex_source(pattern)
    try:
        fast = _goregex.compile_go_regex(source)
        linear = _goregex.compile_go_regex(source, force_linear=True)
    except _goregex.GoRegexError:
        return
    assert fast(path) == linear(path)


# --------------------------------------------------------------------------- evaluation

WALKER_VS_OR_PARENT = [
    # (patterns, path, walker says excluded, MatchesOrParentMatches says excluded)
    (["*/c", "!a"], "a/c", True, False),
    (["foo", "!foo/bar"], "foo/bar", False, False),
    (["foo", "!foo/bar"], "foo/baz", True, True),
    (["**", "!a/b", "a/b/c"], "a/b/c/d", True, True),
    (["a/*", "!a/b/*"], "a/b/c", False, False),
]


@pytest.mark.parametrize("patterns,path,walker,or_parent", WALKER_VS_OR_PARENT)
def test_walker_and_or_parent_matches(patterns, path, walker, or_parent):
    matcher = PatternMatcher(patterns)
    assert matcher.walker_excludes(path) is walker
    assert matcher.matches_or_parent_matches(path) is or_parent


def test_matches_checks_only_the_parent_at_the_pattern_depth():
    # Go's deprecated Matches: "a" has one element, so only "x"'s first dir is tried.
    assert PatternMatcher(["a"]).matches("a/b/c") is True
    assert PatternMatcher(["b"]).matches("a/b/c") is False
    assert PatternMatcher(["b"]).matches_or_parent_matches("a/b/c") is False
    assert PatternMatcher(["a/b"]).matches_or_parent_matches("a/b/c") is True


REINCLUDE_CASES = [
    # (patterns, excluded dir, does fsutil descend?)
    (["node_modules"], "node_modules", False),
    (["node_modules", "!node_modules/keep"], "node_modules", True),
    (["node_modules", "!node_modules/keep"], "other", False),
    (["a", "!a/b/**"], "a", True),
    (["a", "!a/b/*"], "a/b", True),
    (["a", "!a/b/*"], "a/c", False),
    (["a", "!**/keep"], "a", True),
    (["a", "!a/x?"], "zzz", True),
]


@pytest.mark.parametrize("patterns,directory,expected", REINCLUDE_CASES)
def test_may_reinclude_below(patterns, directory, expected):
    assert PatternMatcher(patterns).may_reinclude_below(directory) is expected


def test_deciding_pattern_is_the_last_match():
    matcher = PatternMatcher(["*.md", "!README*.md", "README-secret.md"])
    _, info = matcher.matches_using_parent_results("README-secret.md")
    assert matcher.deciding_pattern(info).source == "README-secret.md"


def test_parent_info_length_is_checked():
    with pytest.raises(ValueError):
        PatternMatcher(["a", "b"]).matches_using_parent_results("x/y", (True,))


_SEGMENTS = st.sampled_from(["a", "b", "c.md", "x.pyc", "a+b", "\n", "keep"])
_RULE = st.sampled_from(["a", "**/*.pyc", "*.md", "a/**", "**/b", "!a/b", "!**/keep", "*/c.md",
                         "a+b", "[ab]", "!*", "**", "b/*/x.pyc", "*a*a*a*b"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_RULE, min_size=1, max_size=5), st.lists(_SEGMENTS, min_size=1, max_size=4))
def test_prefilter_never_changes_a_decision(rules, parts):
    """`decide` skips the per-pattern loop when one combined regexp rules every pattern
    out; the chain of decisions must equal Go's MatchesUsingParentResults chain."""
    matcher = PatternMatcher([r.replace("\n", "") or "a" for r in rules])
    fast_info = slow_info = None
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        fast, fast_info = matcher.decide(path, fast_info)
        slow, slow_info = matcher.matches_using_parent_results(path, slow_info)
        assert (fast, fast_info) == (slow, slow_info)


@settings(max_examples=300, deadline=None)
@given(st.lists(_RULE, min_size=1, max_size=5), st.lists(_SEGMENTS, min_size=1, max_size=4))
def test_docker_20_10_prefilter_never_changes_a_decision(rules, parts):
    matcher = PatternMatcher(rules, dialect="docker-20.10")
    path = "/".join(parts)
    assert matcher.decide(path, None)[0] == matcher.matches_every_pattern(path)
