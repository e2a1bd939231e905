"""Parser behaviour: spans, trivia, heredocs, flags, directives, errors."""

import pytest

from decruft.dockerfile import parse
from decruft.errors import DockerfileSyntaxError


def text_of(df, span):
    return df.text[span.start : span.end]


def test_round_trip_keeps_every_byte():
    source = b"\xef\xbb\xbf# syntax=docker/dockerfile:1\r\nFROM a\r\n\r\n  # c\nRUN x \\\r\n\t# inner\n\n y\nCMD [\"a\"]"
    assert parse(source).to_bytes() == source


def test_invalid_utf8_round_trips():
    source = b"FROM a\nLABEL x=\xff\xfe\nRUN echo \xc3\n"
    df = parse(source)
    assert df.to_bytes() == source


def test_instruction_spans_and_lines():
    source = "FROM a AS b\n\nRUN apt-get update \\\n  # note\n  && echo hi\nCOPY --from=b --chown=1:2 /x /y\n"
    df = parse(source)
    frm, run, copy = df.instructions
    assert (run.start_line, run.end_line) == (3, 5)
    assert text_of(df, run.span) == "RUN apt-get update \\\n  # note\n  && echo hi\n"
    assert run.logical_line == "RUN apt-get update   && echo hi"
    assert text_of(df, run.keyword_span) == "RUN"
    assert text_of(df, run.args_span) == "apt-get update \\\n  # note\n  && echo hi"
    assert [f.raw for f in copy.flags] == ["--from=b", "--chown=1:2"]
    assert [text_of(df, f.span) for f in copy.flags] == ["--from=b", "--chown=1:2"]
    assert copy.flag_value("chown") == "1:2"
    assert copy.words == ["/x", "/y"]
    assert df.position(copy.flags[1].span.start).column == 15


def test_lowercase_keywords_and_leading_whitespace():
    df = parse("  from a\n\trun   echo hi\n")
    assert [i.keyword for i in df.instructions] == ["FROM", "RUN"]
    assert df.instructions[1].args == "echo hi"
    assert df.instructions[1].position.column == 2


def test_comments_and_blank_lines_are_trivia():
    df = parse("# top\n\nFROM a\n# between\nRUN x\n")
    assert [(c.line, c.text) for c in df.comments()] == [(1, "# top"), (2, ""), (4, "# between")]


def test_heredoc_followed_directly_by_instruction():
    source = "FROM a\nRUN <<EOF\necho hi\nEOF\nRUN echo next\n"
    df = parse(source)
    run, nxt = df.instructions[1:]
    [heredoc] = run.heredocs
    assert heredoc.content == "echo hi\n"
    assert (run.start_line, run.end_line, nxt.start_line) == (2, 4, 5)
    assert text_of(df, heredoc.body) == "echo hi\n"


def test_heredoc_chomp_quoted_fd_and_several_per_line():
    source = "FROM a\nCOPY <<-\"A\" 3<<B /dst/\n\tx $V\n\tA\ny\nB\n"
    df = parse(source)
    first, second = df.instructions[1].heredocs
    assert (first.name, first.chomp, first.expand, first.fd) == ("A", True, False, 0)
    assert first.text == "x $V\n"
    assert (second.name, second.fd, second.expand) == ("B", 3, True)


def test_heredoc_in_exec_form_is_not_a_heredoc():
    df = parse('FROM a\nRUN ["cat", "<<EOF"]\n')
    assert df.instructions[1].heredocs == []


def test_onbuild_inner_instruction_and_heredoc():
    df = parse("FROM a\nONBUILD COPY --from=x a b\nONBUILD RUN <<EOF\necho\nEOF\n")
    copy = df.instructions[1].onbuild_inner
    assert copy.keyword == "COPY" and copy.flag_value("from") == "x"
    assert text_of(df, copy.flags[0].span) == "--from=x"
    run = df.instructions[2]
    assert run.onbuild_inner.keyword == "RUN" and run.heredocs[0].content == "echo\n"


def test_json_form_and_fallback_to_shell_form():
    df = parse('FROM a\nCMD ["a", "b"]\nCMD [a, b]\nENTRYPOINT []\n')
    assert df.instructions[1].json_args == ["a", "b"]
    assert df.instructions[2].is_json is False and df.instructions[2].buildkit_value == ["[a, b]"]
    assert df.instructions[3].json_args == []


def test_escape_directive_backtick():
    df = parse("# escape=`\nFROM a\nRUN echo a `\n  b\n")
    assert df.escape == "`"
    assert df.instructions[1].logical_line == "RUN echo a   b"
    assert df.directive("escape").value == "`"


def test_directive_after_comment_is_just_a_comment():
    df = parse("# hello\n# escape=`\nFROM a\nRUN echo `\n")
    assert df.escape == "\\"
    assert df.directives == []


def test_check_directive_is_honoured():
    df = parse("# check=skip=all\n# escape=`\nFROM a\n")
    assert [d.name for d in df.directives] == ["check", "escape"]


def test_escaped_escape_is_not_continuation():
    df = parse("FROM a\nRUN echo \\\\\nRUN b\n")
    assert len(df.instructions) == 3


def test_mount_flags_parsed():
    df = parse("FROM a\nRUN --mount=type=cache,target=/root/.cache,sharing=locked --network=none pip install x\n")
    run = df.instructions[1]
    assert run.flag_values("mount") == ["type=cache,target=/root/.cache,sharing=locked"]
    assert run.flag_value("network") == "none"


ERRORS = [
    ("RUN x\n", "before the first FROM", 1, 1),
    ("FROM a\nFOO bar\n", "unknown instruction: FOO", 2, 1),
    ("FROM a\nRUN <<EOF\nx\n", "unterminated heredoc", 2, 1),
    ("# just a comment\n\n", "file with no instructions", 2, 1),
    ("ARG A=1\n", "no stages", 1, 1),
    ("FROM a\nCOPY --bogus=1 x y\n", "unknown flag: --bogus", 2, 6),
    ("FROM a\nCOPY --from x y\n", "missing a value on flag: --from", 2, 6),
    ("FROM a\nCOPY --link=maybe x y\n", "expecting boolean", 2, 6),
    ("FROM a b\n", "FROM requires either one or three arguments", 1, 1),
    ("FROM a AS 1x\n", "invalid name for build stage", 1, 1),
    ("# escape=x\nFROM a\n", "invalid escape token", 1, 1),
    ("# escape=`\n# escape=`\nFROM a\n", "only one escape parser directive", 2, 1),
    ("FROM a\nENV A\n", "ENV must have two arguments", 2, 1),
    ("FROM a\nENV A=1 B\n", "can't find =", 2, 1),
    ('FROM a\nCMD ["a", 1]\n', "arrays must be comprised of strings", 2, 1),
    ("FROM a\nCOPY onlyone\n", "requires at least two arguments", 2, 1),
    ("FROM a\nSHELL /bin/bash\n", "JSON form", 2, 1),
    ("FROM a\nHEALTHCHECK --interval=5x CMD true\n", "invalid duration", 2, 1),
    ("FROM a\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD", 2, 1),
    ("FROM a\nRUN --mount=type=nope,target=/x true\n", "unsupported mount type", 2, 5),
    ("FROM a\nRUN --mount=type=cache true\n", "mount destination not specified", 2, 5),
    ("FROM a\nRUN x\n" + "RUN " + "y" * 70000 + "\n", "max allowed size", 3, 1),
]


@pytest.mark.parametrize("source,message,line,column", ERRORS)
def test_errors_carry_position(source, message, line, column):
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(source, path="Dockerfile")
    error = info.value
    assert message in error.message
    assert (error.line, error.column) == (line, column)
    assert str(error).startswith(f"Dockerfile:{line}:{column}: ")


def test_healthcheck_none_ignores_flags_like_buildkit():
    parse("FROM a\nHEALTHCHECK NONE\n")
    with pytest.raises(DockerfileSyntaxError):
        parse("FROM a\nHEALTHCHECK NONE x\n")
