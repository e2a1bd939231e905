"""The plain-script fast path splits exactly as the tree-sitter walk does, or declines.

`decruft.shell._split_plain` handles most RUN bodies without tree-sitter; every script it
accepts must give the same commands, words, values, spans, operators and pipeline flags as
the tree-sitter path, on real and generated Dockerfiles and on random token soups.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decruft.dockerfile import parse
from decruft.errors import DockerfileSyntaxError
from decruft.shell import _Builder, _split_plain, parse_script

ROOT = Path(__file__).resolve().parent.parent


def _module(name: str, path: Path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


def shape(script) -> tuple:
    return (script.complete, script.source, [
        (c.text, c.operator, c.index, c.in_pipeline, c.redirects, c.assignments, c._bytes,
         [(w.text, w.value, w.literal, w._bytes) for w in c.words])
        for c in script.commands
    ])


def by_tree_sitter(source: str):
    return _Builder(source, None, "shell-form").build(None)


def run_bodies() -> list[str]:
    """Shell-form RUN bodies of the examples, the real-world corpus, the parser corpus and
    the audit benchmark's generator (apt/pip/npm/... lines as people write them)."""
    texts: list[str] = []
    generator = _module("decruft_corpus_generate", ROOT / "tests" / "corpus" / "generate.py")
    texts += [data.decode("utf-8", "surrogateescape") for _, data in generator.generate(600, 11)]
    texts += [data.decode("utf-8", "surrogateescape") for _, data in generator.realworld()]
    texts += [path.read_text(errors="surrogateescape") for path in sorted(ROOT.glob("examples/*/Dockerfile*"))]
    bench = _module("decruft_bench_audit", ROOT / "benchmarks" / "bench_audit.py")
    gen = bench.Gen(20261127)
    texts += [bench.generate(index, gen)[0] for index in range(400)]
    bodies = []
    for text in texts:
        try:
            dockerfile = parse(text)
        except DockerfileSyntaxError:
            continue
        bodies += [i.args for i in dockerfile.instructions
                   if i.keyword == "RUN" and not i.is_json and not i.heredocs]
    return bodies


def test_fast_path_matches_tree_sitter_on_every_corpus_run():
    bodies = run_bodies()
    accepted = 0
    for body in bodies:
        fast = _split_plain(body, None, "shell-form")
        if fast is None:
            continue
        accepted += 1
        assert shape(fast) == shape(by_tree_sitter(body)), body
    # The fast path must stay the common case, or it only adds code.
    assert accepted > len(bodies) * 0.6, (accepted, len(bodies))


ATOMS = [
    "a", "apt-get", "install", "-y", "--no-cache", "x=1", "A=b", "A+=c", "_x=", "=x", "==", "=", "~", "~/x",
    "a~b", "*", "?", "*.py", "/var/lib/apt/lists/*", '"q"', '"a b"', "'s'", "''", '""', 'x"y"', "a'b c'd",
    "1", "22", "2.5", "%", "^", "^x", "@", "a@b", "@scope/pkg", "a:b", "+", "-", "--", ".", "..", "./x",
    "a,b", "if", "then", "fi", "do", "done", "export", "local", "for", "in", "time", "env", "sudo", "true",
    "!x", "{a,b}", "[x]", "echo", "3a", "9", "ls", "#", "a#b", "x^y", "?x", "a=b=c", "A_1=2", "$HOME",
    "`date`", "a\\ b", ">", "2>&1", "<x", "(", ")", "é",
]
OPERATORS = [" && ", " || ", " ; ", " | ", " & ", "&&", "||", ";", "|", "&", " ", "  ", "\t", "\n"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ATOMS), st.sampled_from(OPERATORS)), min_size=1, max_size=8),
       st.booleans(), st.booleans())
def test_fast_path_matches_tree_sitter_on_token_soup(parts, drop_last, leading_space):
    source = "".join(atom + operator for atom, operator in parts)
    if drop_last:
        source = source[: -len(parts[-1][1])]
    if leading_space:
        source = " " + source
    fast = _split_plain(source, None, "shell-form")
    if fast is not None:
        assert shape(fast) == shape(by_tree_sitter(source))


@pytest.mark.parametrize("source", [
    "a == b",  # tree-sitter drops the bare `==`
    "- x",  # not a command to tree-sitter
    "export A=1",
    "FOO=bar",  # an assignment alone is not a command
    "a &&",  # incomplete: tree-sitter reports the error
    "echo hi > /tmp/x",
    "echo $HOME",
    "cd /x\nmake",
    "echo 'é'",
    "if true; then x; fi",
])
def test_what_the_fast_path_leaves_to_tree_sitter(source):
    assert _split_plain(source, None, "shell-form") is None


def test_fast_path_words_values_and_spans():
    script = parse_script("A=1 apt-get install -y \"curl\" 'x y'z && rm -rf /var/lib/apt/lists/* | cat", None,
                          "shell-form")
    install, remove, cat = script.commands
    assert install.assignments == ["A=1"]
    assert install.argv == ["apt-get", "install", "-y", "curl", "x yz"]
    assert (remove.operator, remove.in_pipeline, cat.operator, cat.in_pipeline) == ("&&", True, "|", True)
    assert install.in_pipeline is False
    assert script.source[install.span.start:install.span.end] == install.text
    assert script.complete


@pytest.mark.parametrize("source,in_pipeline", [
    # tree-sitter-bash nests `&& d` inside a pipeline of three or more commands; bash runs it after
    ("a | b | c && d", [True, True, True, False]),
    ("a | b | c && d && e", [True, True, True, False, False]),
    ("a | b | c && d | e", [True, True, True, True, True]),
    ("a | b | c || d; e", [True, True, True, False, False]),
])
def test_commands_after_a_long_pipeline_are_not_in_it(source, in_pipeline):
    assert [c.in_pipeline for c in by_tree_sitter(source).commands] == in_pipeline
    assert [c.in_pipeline for c in _split_plain(source, None, "shell-form").commands] == in_pipeline
