"""The shell layer: commands, operators, spans, wrappers, heredoc scripts."""

from decruft.dockerfile import parse


def script(source):
    df = parse(source)
    return df, df.instructions[-1].shell


def test_commands_operators_and_spans():
    df, sh = script(
        "FROM a\nRUN apt-get update \\\n # c\n && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y \"curl\" \\\n"
        " && rm -rf /var/lib/apt/lists/* || true; echo $(date) | tee /x\n"
    )
    names = [(c.operator, c.name) for c in sh.commands]
    assert names[:4] == [(None, "apt-get"), ("&&", "apt-get"), ("&&", "rm"), ("||", "true")]
    install = sh.commands[1]
    assert install.argv == ["apt-get", "install", "-y", "curl"]
    assert install.subcommand == "install" and install.has_flag("-y")
    assert df.text[install.span.start : install.span.end].startswith("sudo DEBIAN_FRONTEND")
    assert sh.complete


def test_heredoc_script_spans_point_into_body():
    df, sh = script("FROM a\nRUN <<EOF\nset -e\npip install --no-cache-dir x\nEOF\n")
    pip = sh.find("pip")[0]
    assert df.text[pip.span.start : pip.span.end] == "pip install --no-cache-dir x"
    assert sh.origin == "heredoc"


def test_heredoc_with_non_shell_shebang_is_not_parsed_as_shell():
    _, sh = script("FROM a\nRUN <<EOF\n#!/usr/bin/env python3\nprint('hi')\nEOF\n")
    assert sh.commands == []


def test_command_with_heredoc_input_parses_the_command_line():
    _, sh = script("FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\n")
    assert [c.name for c in sh.commands] == ["python3"]


def test_exec_form_has_no_shell():
    df = parse('FROM a\nRUN ["apt-get", "update"]\n')
    assert df.instructions[-1].shell is None


def test_syntax_errors_degrade_gracefully():
    _, sh = script("FROM a\nRUN echo ok && ( broken ((( \n")
    assert not sh.complete
    assert sh.commands[0].name == "echo"


def test_flag_groups_and_option_values():
    _, sh = script("FROM a\nRUN curl -fsSLo /tmp/x.tgz https://e.com/x.tgz && tar --directory=/opt -xzf /tmp/x.tgz\n")
    curl, tar = sh.commands
    assert curl.has_flag("-L") and curl.has_flag("-o")
    assert tar.word_after("-C", "--directory") == "/opt"


def test_env_wrapper_is_stripped():
    _, sh = script("FROM a\nRUN env PIP_NO_CACHE_DIR=1 pip install x\n")
    assert sh.commands[0].name == "pip"


def test_redirects_are_attached_to_the_command():
    _, sh = script("FROM a\nRUN curl -fsSL https://e.com/x.tgz > /tmp/x.tgz && tar -xzf /tmp/x.tgz\n")
    assert sh.commands[0].redirects == ["> /tmp/x.tgz"]


def test_shell_form_with_heredoc_input_parses_completely():
    df, sh = script("FROM a\nRUN cat <<EOF > /etc/app.conf && echo done\nkey=value\nEOF\n")
    assert sh.complete
    assert [c.name for c in sh.commands] == ["cat", "echo"]
    echo = sh.commands[1]
    assert df.text[echo.span.start : echo.span.end] == "echo done"


def test_shell_reading_a_heredoc_runs_it_as_its_script():
    for line in ("RUN <<-EOT bash\n", "RUN bash -e <<EOT\n"):
        df, sh = script("FROM a\n" + line + "\tpip install x\nEOT\n")
        assert sh.origin == "heredoc" and [c.name for c in sh.commands] == ["pip"]
    _, sh = script("FROM a\nRUN bash -c 'echo hi' <<EOT\ndata\nEOT\n")
    assert sh.origin == "shell-form"
