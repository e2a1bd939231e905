"""BuildKit's word lexer and variable expansion."""

import pytest

from decruft.dockerfile.words import ExpansionError, process

ENV = {"A": "a", "EMPTY": "", "PATH": "/bin:/usr/bin", "FILE": "archive.tar.gz"}

CASES = [
    ("$A", "a"),
    ("${A}", "a"),
    ("${UNSET:-dflt}", "dflt"),
    ("${EMPTY:-dflt}", "dflt"),
    ("${EMPTY-dflt}", ""),
    ("${UNSET-dflt}", "dflt"),
    ("${A:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("x${A}y", "xay"),
    ("'$A'", "$A"),
    ('"$A b"', "a b"),
    ("\\$A", "$A"),
    ("$", "$"),
    ("${FILE%.gz}", "archive.tar"),
    ("${FILE%%.*}", "archive"),
    ("${FILE#*.}", "tar.gz"),
    ("${FILE##*.}", "gz"),
    ("${PATH/bin/sbin}", "/sbin:/usr/bin"),
    ("${PATH//bin/sbin}", "/sbin:/usr/sbin"),
    ("$UNSET", ""),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_expansion(text, expected):
    assert process(text, ENV).result == expected


def test_words_split_after_expansion():
    assert process('$PATH "a b" c', {"PATH": "x y"}).words == ["x", "y", "a b", "c"]


def test_backtick_escape():
    assert process("a`$A", ENV, escape="`").result == "a$A"


@pytest.mark.parametrize("text", ["${A", "${}", "'open", '"open', "${UNSET:?must be set}", "${A!x}"])
def test_errors(text):
    with pytest.raises(ExpansionError):
        process(text, ENV)


def test_skip_unset_keeps_reference():
    assert process("${X:-y} $Z", {}, skip_unset=True).result == "${X:-y} $Z"
