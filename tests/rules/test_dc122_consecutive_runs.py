import pytest

from decruft.dockerfile import parse
from tests.rules.helpers import findings, lines


def apply(source, fix):
    for edit in sorted(fix.edits, key=lambda edit: -edit.span.start):
        source = source[: edit.span.start] + edit.replacement + source[edit.span.end :]
    return source


CATCHES = [
    ("FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN apt-get install -y git\n", [3]),
    ("FROM debian\nRUN groupadd -r app\nRUN useradd -r -g app app\nRUN mkdir -p /data && chown app /data\n", [3]),
    ("FROM alpine\nRUN apk add --no-cache curl\nRUN apk add --no-cache git\n", [3]),
    # instructions that do not affect a RUN in between
    ("FROM debian\nRUN mkdir /data\nLABEL a=b\nEXPOSE 80\nRUN chmod 700 /data\n", [5]),
    # comments and blank lines in between
    ("FROM debian\nRUN mkdir /data\n\n# permissions\nRUN chmod 700 /data\n", [5]),
    # two groups split by an ENV
    ("FROM debian\nRUN mkdir /a\nRUN mkdir /b\nENV X=1\nRUN mkdir /c\nRUN mkdir /d\n", [3, 6]),
    # same flags
    (
        "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get install -y a\n"
        "RUN --mount=type=cache,target=/var/cache/apt apt-get install -y b\n",
        [3],
    ),
    # heredoc RUNs are reported (without edits)
    ("FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nRUN useradd app\n", [6]),
    # an ONBUILD trigger in between changes nothing for this build
    ("FROM debian\nRUN mkdir /a\nONBUILD RUN echo hi\nRUN mkdir /b\n", [4]),
]
ACCEPTS = [
    # dependency install then build step: kept apart for caching
    "FROM python:3.12-slim\nRUN pip install -r requirements.txt\nRUN python manage.py collectstatic\n",
    "FROM node:20\nRUN npm ci\nRUN npm run build\n",
    # system setup then a language install
    "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y libpq5\nRUN pip install psycopg\n",
    # two dependency installs (a big, stable one cached apart on purpose)
    "FROM python:3.12-slim\nRUN pip install torch\nRUN pip install -r requirements.txt\n",
    # downloads and builds are not setup steps
    "FROM debian\nRUN curl -fsSLo /x https://e.com/x\nRUN make\n",
    # something in between changes the environment
    "FROM debian\nRUN mkdir /a\nWORKDIR /a\nRUN mkdir b\n",
    "FROM debian\nRUN mkdir /a\nUSER app\nRUN mkdir /tmp/b\n",
    "FROM debian\nRUN mkdir /a\nCOPY x /a/\nRUN chmod 600 /a/x\n",
    "FROM debian\nRUN mkdir /a\nARG V\nRUN mkdir /b\n",
    # different mounts
    "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get install -y a\nRUN apt-get install -y b\n",
    # different stages
    "FROM debian\nRUN mkdir /a\nFROM debian\nRUN mkdir /b\n",
    # one RUN only
    "FROM debian\nRUN mkdir /a && chmod 700 /a\n",
]


@pytest.mark.parametrize("source,expected", CATCHES)
def test_catches(source, expected):
    assert lines(source, "DC122") == expected


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC122") == []


def test_fix_merges_with_and_keeps_formatting():
    source = (
        "FROM debian\n"
        "RUN apt-get update \\\n && apt-get install -y --no-install-recommends curl\n"
        "LABEL maintainer=me\n"
        "RUN apt-get install -y --no-install-recommends \\\n    git \\\n    make\n"
        "RUN useradd app\n"
        "CMD [\"bash\"]\n"
    )
    [finding] = findings(source, "DC122")
    assert finding.fix.applicability.value == "safe"
    fixed = apply(source, finding.fix)
    assert fixed == (
        "FROM debian\n"
        "RUN apt-get update \\\n && apt-get install -y --no-install-recommends curl \\\n"
        " && apt-get install -y --no-install-recommends \\\n    git \\\n    make \\\n"
        " && useradd app\n"
        "LABEL maintainer=me\n"
        "CMD [\"bash\"]\n"
    )
    parse(fixed)


def test_fix_single_line_runs():
    source = "FROM debian\nRUN mkdir /a\nRUN chmod 700 /a\n"
    [finding] = findings(source, "DC122")
    assert apply(source, finding.fix) == "FROM debian\nRUN mkdir /a \\\n    && chmod 700 /a\n"


def test_fix_is_unsafe_when_shell_state_would_leak():
    source = "FROM debian\nRUN cd /etc && sed -i s/a/b/ x.conf\nRUN rm -f y.conf\n"
    [finding] = findings(source, "DC122")
    assert finding.fix.applicability.value == "unsafe"
    assert finding.fix.edits


def test_fix_is_unsafe_when_the_later_body_is_not_an_and_chain():
    source = "FROM debian\nRUN mkdir /a\nRUN rm -f /a/x; rm -f /a/y\n"
    [finding] = findings(source, "DC122")
    assert finding.fix.applicability.value == "unsafe"


@pytest.mark.parametrize(
    "source",
    [
        "FROM debian\nRUN <<EOF\nmkdir /a\nEOF\nRUN chmod 700 /a\n",
        'FROM debian\nRUN ["mkdir", "/a"]\nRUN chmod 700 /a\n',
        "FROM debian\nRUN mkdir /a # the data dir\nRUN chmod 700 /a\n",
    ],
)
def test_no_edits_for_heredoc_exec_form_or_comments(source):
    [finding] = findings(source, "DC122")
    assert finding.fix.edits == []
    assert finding.fix.applicability.value == "unsafe"


def test_escape_directive_is_used():
    source = "# escape=`\nFROM debian\nRUN mkdir /a\nRUN chmod 700 /a\n"
    [finding] = findings(source, "DC122")
    fixed = apply(source, finding.fix)
    assert "RUN mkdir /a `\n    && chmod 700 /a\n" in fixed
    parse(fixed)


def test_hadolint_pragma_is_honoured():
    source = "FROM debian\nRUN mkdir /a\n# hadolint ignore=DL3059\nRUN chmod 700 /a\n"
    assert findings(source, "DC122") == []


def test_target_selection():
    source = "FROM debian AS dev\nRUN mkdir /a\nRUN mkdir /b\nFROM debian AS prod\nRUN true\n"
    assert lines(source, "DC122") == []
    assert lines(source, "DC122", target="dev") == [3]
