import pytest

from decruft.dockerfile import parse
from tests.rules.helpers import findings, lines

CATCHES = [
    # a remote archive extracted (and deleted) by a later RUN: the download ships anyway
    (
        "FROM debian\nADD https://e.com/tool-1.2.tar.gz /tmp/\n"
        "RUN tar -xzf /tmp/tool-1.2.tar.gz -C /opt && rm /tmp/tool-1.2.tar.gz\n",
        [2],
        "warning",
    ),
    ("FROM debian\nADD https://e.com/x.zip /tmp/x.zip\nRUN unzip /tmp/x.zip -d /opt\n", [2], "warning"),
    # pinned, but still extracted later
    (
        "FROM debian\nADD --checksum=sha256:0123 https://e.com/t.tgz /tmp/t.tgz\nRUN tar -xzf /tmp/t.tgz\n",
        [2],
        "warning",
    ),
    # relative destination, later deleted by name
    ("FROM debian\nWORKDIR /dl\nADD https://e.com/a.bin .\nRUN ./a.bin --install && rm a.bin\n", [3], "warning"),
    # unpinned download kept as is
    ("FROM debian\nADD https://e.com/tool /usr/local/bin/tool\n", [2], "info"),
    # a local archive with a destination named like a file: ADD makes it a directory
    ("FROM debian\nADD app.tar.gz /opt/app.tar.gz\n", [2], "warning"),
    # a local archive extracted by hand afterwards: the file is not there
    ("FROM debian\nWORKDIR /w\nADD pkg.tgz .\nRUN tar xzf pkg.tgz\n", [3], "warning"),
    # plain local files: COPY (hadolint DL3020)
    ("FROM debian\nADD src /src\n", [2], "info"),
    ('FROM debian\nADD ["requirements.txt", "/app/"]\n', [2], "info"),
    # continuation lines
    ("FROM debian\nADD \\\n  https://e.com/x \\\n  /x\n", [2], "info"),
]
ACCEPTS = [
    # pinned download kept as is
    "FROM debian\nADD --checksum=sha256:0123 https://e.com/tool /usr/local/bin/tool\n",
    # deliberate extraction of a local archive: the smallest way
    "FROM scratch\nADD rootfs.tar.xz /\n",
    "FROM debian\nADD vendor.tgz /opt/vendor/\n",
    # extraction spelled out
    "FROM debian\nADD --unpack=true app.tar.gz /opt/app.tar.gz\n",
    # git sources have no COPY equivalent
    "FROM debian\nADD https://github.com/moby/buildkit.git#v0.14.0 /src\n",
    "FROM debian\nADD git@github.com:moby/buildkit.git /src\n",
    "FROM debian\nCOPY src /src\n",
    # ONBUILD triggers are not this build
    "FROM debian\nONBUILD ADD . /app\n",
    # an unused stage
    "FROM debian AS old\nADD src /src\nFROM debian\nRUN true\n",
]


@pytest.mark.parametrize("source,expected,severity", CATCHES)
def test_catches(source, expected, severity):
    found = findings(source, "DC123")
    assert [finding.line for finding in found] == expected
    assert {finding.severity.value for finding in found} == {severity}


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC123") == []


def test_remote_archive_message_names_the_run():
    [finding] = findings(CATCHES[0][0], "DC123")
    assert "line 3" in finding.message and "extracts" in finding.message
    assert "curl" in finding.fix.description and finding.fix.edits == []


def test_plain_add_fix_replaces_the_keyword_keeping_case():
    source = "FROM debian\nadd --chown=app src /src\n"
    [finding] = findings(source, "DC123")
    [edit] = finding.fix.edits
    fixed = source[: edit.span.start] + edit.replacement + source[edit.span.end :]
    assert fixed == "FROM debian\ncopy --chown=app src /src\n"
    assert finding.fix.applicability.value == "unsafe"
    parse(fixed)


def test_hadolint_dl3020_pragma_is_honoured():
    source = "FROM debian\n# hadolint ignore=DL3020\nADD src /src\n"
    assert findings(source, "DC123") == []


def test_variables_are_expanded():
    source = "FROM debian\nARG V=1.2\nADD https://e.com/t-${V}.tgz /tmp/\nRUN tar -xzf /tmp/t-1.2.tgz\n"
    assert lines(source, "DC123") == [3]


def test_target_selection():
    source = "FROM debian AS dev\nADD src /src\nFROM debian AS prod\nRUN true\n"
    assert lines(source, "DC123") == []
    assert lines(source, "DC123", target="dev") == [2]
