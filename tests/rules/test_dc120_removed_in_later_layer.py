import pytest

from tests.rules.helpers import findings, lines

CATCHES = [
    # the classic: download, extract, delete in three layers
    (
        "FROM debian\n"
        "RUN curl -fsSLo /tmp/node.tar.xz https://nodejs.org/dist/node.tar.xz\n"
        "RUN tar -xJf /tmp/node.tar.xz -C /usr/local\n"
        "RUN rm /tmp/node.tar.xz\n",
        [4],
    ),
    # extracted and deleted in the second RUN: the download still ships in the first
    (
        "FROM debian\nRUN wget -O /tmp/x.zip https://e.com/x.zip\n"
        "RUN unzip /tmp/x.zip -d /opt && rm -f /tmp/x.zip\n",
        [3],
    ),
    # relative paths: WORKDIR and cd
    (
        "FROM debian\nWORKDIR /tmp\nRUN curl -LO https://e.com/pkg.tgz\nRUN cd /tmp && rm pkg.tgz\n",
        [4],
    ),
    # wget without -O saves under the URL's name in the working directory
    ("FROM debian\nWORKDIR /src\nRUN wget https://e.com/a/tool.tar.gz\nRUN rm -rf /src/*.tar.gz\n", [4]),
    # a glob removal covers the download
    ("FROM debian\nRUN curl -o /tmp/a.deb https://e.com/a.deb\nRUN dpkg -i /tmp/a.deb && rm -rf /tmp/*\n", [3]),
    # git clone, built, deleted later
    (
        "FROM debian\nRUN git clone --depth 1 -b v1 https://github.com/a/b.git /src/b && make -C /src/b\n"
        "RUN rm -rf /src/b\n",
        [3],
    ),
    # clone without a directory argument: the repository name
    ("FROM debian\nWORKDIR /build\nRUN git clone https://github.com/a/tool.git\nRUN rm -rf tool\n", [4]),
    # tar -C into a fresh directory, removed later
    ("FROM debian\nRUN curl -fsSL https://e.com/t.tgz | tar -xz -C /opt/tool\nRUN rm -rf /opt/tool/docs\n", [3]),
    # COPY of a directory, part of it deleted later
    ("FROM debian\nCOPY . /app\nRUN rm -rf /app/tests\n", [3]),
    # COPY of an archive, extracted and deleted later
    ("FROM debian\nCOPY dist/app.tar.gz /tmp/\nRUN tar -xzf /tmp/app.tar.gz -C /opt && rm /tmp/app.tar.gz\n", [3]),
    # the same image chain: created in the parent stage, removed in the child
    (
        "FROM debian AS base\nRUN curl -o /opt/big.bin https://e.com/big.bin\n"
        "FROM base\nRUN rm /opt/big.bin\n",
        [4],
    ),
    # heredoc bodies are checked
    (
        "FROM debian\nRUN curl -o /tmp/x.tgz https://e.com/x.tgz\nRUN <<EOF\ntar -xzf /tmp/x.tgz -C /opt\n"
        "rm /tmp/x.tgz\nEOF\n",
        [5],
    ),
    # continuation lines
    (
        "FROM debian\nRUN curl -fsSL \\\n    -o /tmp/x.tgz \\\n    https://e.com/x.tgz\n"
        "RUN tar -xzf /tmp/x.tgz \\\n && rm /tmp/x.tgz\n",
        [6],
    ),
    # variables from ENV and ARG
    (
        "FROM debian\nARG DL=/downloads\nENV TOOL=tool.tgz\nRUN curl -o $DL/$TOOL https://e.com/t.tgz\n"
        'RUN rm "${DL}/${TOOL}"\n',
        [5],
    ),
]
ACCEPTS = [
    # download, extract and delete in one RUN
    "FROM debian\nRUN curl -fsSLo /tmp/x.tgz https://e.com/x.tgz && tar -xzf /tmp/x.tgz -C /opt && rm /tmp/x.tgz\n",
    # a removal in the same RUN, then a broad cleanup later: nothing left to hide
    "FROM debian\nRUN curl -o /tmp/x.tgz https://e.com/x.tgz && tar -xzf /tmp/x.tgz && rm /tmp/x.tgz\n"
    "RUN rm -rf /tmp/*\n",
    # removing something no earlier layer we know of created
    "FROM debian\nRUN rm -rf /usr/share/doc\n",
    "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n",
    # a different stage chain
    "FROM debian AS a\nRUN curl -o /tmp/x https://e.com/x\nFROM debian\nRUN rm /tmp/x\n",
    # removal before the creation
    "FROM debian\nRUN rm -f /tmp/x.tgz\nRUN curl -o /tmp/x.tgz https://e.com/x.tgz\n",
    # something inside a shared system directory a COPY wrote to: not evidence of the same files
    "FROM debian\nCOPY bin /usr/local/bin/\nRUN rm /usr/local/bin/python2\n",
    # unknown variable: no guess
    "FROM debian\nRUN curl -o /tmp/x https://e.com/x\nRUN rm -f $UNKNOWN/x\n",
    # ONBUILD triggers are not part of this build
    "FROM debian\nRUN curl -o /tmp/x https://e.com/x\nONBUILD RUN rm /tmp/x\n",
    # exec form: no shell to read
    'FROM debian\nRUN curl -o /tmp/x https://e.com/x\nRUN ["rm", "/tmp/x"]\n',
    # a stage the target does not build
    "FROM debian AS unused\nRUN curl -o /tmp/x https://e.com/x\nRUN rm /tmp/x\nFROM debian\nRUN true\n",
    # ADD <url> later deleted is DC123's finding
    "FROM debian\nADD https://e.com/x.tgz /tmp/\nRUN rm /tmp/x.tgz\n",
]


@pytest.mark.parametrize("source,expected", CATCHES)
def test_catches(source, expected):
    assert lines(source, "DC120") == expected


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC120") == []


def test_points_at_the_removal_and_names_the_layer():
    source = CATCHES[0][0]
    [finding] = findings(source, "DC120")
    assert source[finding.span.start : finding.span.end] == "rm /tmp/node.tar.xz"
    assert "line 2" in finding.message and "downloaded" in finding.message
    assert finding.severity.value == "warning"
    assert finding.fix is not None and finding.fix.applicability.value == "unsafe"
    assert "lines 2, 3, 4" in finding.fix.description and finding.fix.edits


def test_reported_once_not_again_by_a_broader_cleanup():
    source = (
        "FROM debian\nRUN curl -o /tmp/x.tgz https://e.com/x.tgz\nRUN rm /tmp/x.tgz\nRUN rm -rf /tmp/*\n"
    )
    assert lines(source, "DC120") == [3]


def test_small_copied_manifest_is_only_a_hint():
    source = "FROM python:3.12-slim\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt && rm /tmp/requirements.txt\n"
    [finding] = findings(source, "DC120")
    assert finding.severity.value == "info"
    assert "bind" in finding.fix.description


def test_builder_stage_is_softened():
    source = (
        "FROM debian AS build\nRUN curl -o /tmp/x.tgz https://e.com/x.tgz\nRUN rm /tmp/x.tgz\n"
        "FROM debian\nCOPY --from=build /opt /opt\n"
    )
    [finding] = findings(source, "DC120")
    assert finding.severity.value == "info" and finding.stage == "build"


def test_target_selection():
    source = (
        "FROM debian AS dev\nRUN curl -o /tmp/x.tgz https://e.com/x.tgz\nRUN rm /tmp/x.tgz\n"
        "FROM debian AS prod\nRUN true\n"
    )
    assert lines(source, "DC120") == []
    assert lines(source, "DC120", target="dev") == [3]


def test_measured_stake_from_the_build_context(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data.bin").write_bytes(b"x" * 300_000)
    (tmp_path / "app.py").write_text("print('hi')\n")
    source = "FROM debian\nCOPY . /app\nRUN rm -rf /app/tests\n"
    [finding] = findings(source, "DC120", context=tmp_path)
    assert finding.stake.measured and finding.stake.bytes == 300_000
    assert finding.severity.value == "warning"


def test_measured_stake_respects_dockerignore(tmp_path):
    (tmp_path / "big.tar").write_bytes(b"x" * 200_000)
    (tmp_path / "other.tar").write_bytes(b"x" * 50_000)
    (tmp_path / ".dockerignore").write_text("other.tar\n")
    source = "FROM debian\nCOPY *.tar /opt/\nRUN rm -rf /opt/*.tar\n"
    [finding] = findings(source, "DC120", context=tmp_path)
    assert finding.stake.bytes == 200_000


def test_heredoc_copy_is_measured_from_its_body():
    source = "FROM debian\nCOPY <<EOF /etc/app.conf\nkey=value\nEOF\nRUN rm /etc/app.conf\n"
    [finding] = findings(source, "DC120")
    assert finding.line == 5 and finding.stake.bytes == len("key=value\n")
    assert finding.severity.value == "info"


def test_home_directory():
    source = "FROM debian\nENV HOME=/home/app\nRUN curl -o ~/tool.tgz https://e.com/t.tgz\nRUN rm ~/tool.tgz\n"
    [finding] = findings(source, "DC120")
    assert "/home/app/tool.tgz" in finding.message


def test_extensionless_files_are_files_not_directories():
    # `COPY Gemfile Gemfile.lock ./` writes two files, not the whole working directory
    source = "FROM ruby\nWORKDIR /app\nCOPY Gemfile Gemfile.lock ./\nRUN rm -rf /app/tmp\n"
    assert findings(source, "DC120") == []


def test_copy_from_stage_suggests_a_bind_mount():
    source = (
        "FROM python:3.12 AS build\nRUN pip wheel -w /wheels psycopg2\n"
        "FROM python:3.12-slim\nCOPY --from=build /wheels /wheels\n"
        "RUN pip install /wheels/* && rm -rf /wheels\n"
    )
    [finding] = findings(source, "DC120")
    assert finding.line == 5 and "from=build" in finding.fix.description


def test_removal_in_the_parent_stage_is_not_reported_again_in_the_child():
    source = (
        "FROM debian AS base\nRUN curl -o /tmp/x.tgz https://e.com/x.tgz\nRUN rm /tmp/x.tgz\n"
        "FROM base\nRUN rm -rf /tmp/*\n"
    )
    assert lines(source, "DC120") == [3]
