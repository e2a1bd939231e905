"""The cruft matcher's shortcuts (per-directory memo, merged basename tests, literal pre-checks
of globs) against its exhaustive reference: every class in table order, every pattern in order,
excludes handing the path on (``_Matcher._slow``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decruft.image.cruft import load_table

TABLE = load_table()
MATCHER = TABLE._matcher

# names that occur in the table's patterns, so random paths hit patterns, excludes and
# the corners between them (a file named like a directory pattern, files directly inside it)
_WORDS = sorted({
    piece
    for cls in TABLE.classes
    for pattern in cls.paths + cls.exclude
    for piece in pattern.replace("*", "/").replace("{", "/").replace("}", "/").replace(",", "/").split("/")
    if piece and not any(c in piece for c in "?[]")
})
_COMPONENT = st.one_of(
    st.sampled_from(_WORDS),
    st.builds(lambda a, b: a + b, st.sampled_from(_WORDS), st.sampled_from(["", ".md", ".pyc", ".pem", ".log", "-1", ".a"])),
    st.sampled_from(["a", "lib", "x.y", "python3.11", "go-1.19", "llvm-14"]),
)
_PATH = st.lists(_COMPONENT, min_size=1, max_size=7).map("/".join)


@settings(max_examples=1000, deadline=None)
@given(_PATH)
def test_fast_matcher_agrees_with_the_exhaustive_search(path):
    assert MATCHER.match(path) == MATCHER._slow(path)


@pytest.mark.parametrize("path,expected", [
    # files directly inside a "DIR/**" directory part: "usr/**/*.pyc" covers usr/x.pyc
    ("usr/stray.pyc", "python-bytecode-installed"),
    ("usr/lib/python3/dist-packages/x.pyc", "python-bytecode-installed"),
    ("app/node_modules/README.md", "node-tests"),
    # an exclude "X/**" hands on what is below X, not a file named X
    ("etc/ssl/private/tests", "secret-key"),
    ("etc/ssl/private/tests/server.key", None),
])
def test_directory_pattern_corners(path, expected):
    cls = TABLE.class_of(path)
    assert (cls.id if cls else None) == expected
