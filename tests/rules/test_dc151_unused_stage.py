import pytest

from tests.rules.helpers import findings, lines

CATCHES = [
    # a named stage nothing uses
    (
        "FROM golang:1.22 AS build\nRUN go build -o /out/app .\nFROM golang:1.22 AS tools\nRUN go install x@latest\n"
        "FROM gcr.io/distroless/static\nCOPY --from=build /out/app /app\n",
        [3],
    ),
    # an unnamed stage nothing uses
    ("FROM alpine\nRUN echo\nFROM debian\nRUN true\n", [1]),
    # the COPY names another stage than the one built (a typo): both reported
    ("FROM node:20 AS biuld\nRUN npm ci\nFROM node:20 AS assets\nFROM nginx\nCOPY --from=build /dist /d\n", [1, 3]),
    # a chain of unused stages
    ("FROM debian AS a\nFROM a AS b\nFROM debian\nRUN true\n", [1, 2]),
    # a test stage before the default target
    ("FROM python:3.12 AS base\nFROM base AS test\nRUN pytest\nFROM base\nRUN true\n", [2]),
]
ACCEPTS = [
    "FROM debian\nRUN true\n",
    # used through FROM, COPY --from (by name or index) and RUN --mount=from
    "FROM debian AS base\nFROM base\nRUN true\n",
    "FROM golang AS build\nFROM scratch\nCOPY --from=build /app /app\n",
    "FROM golang\nFROM scratch\nCOPY --from=0 /app /app\n",
    "FROM debian AS src\nFROM debian\nRUN --mount=type=bind,from=src,target=/s cp /s/x /x\n",
    # stages after the target are not this target's business
    "FROM debian AS prod\nRUN true\nFROM prod AS dev\nRUN apt-get install -y vim\n",
]


@pytest.mark.parametrize("source,expected", CATCHES)
def test_catches(source, expected):
    assert lines(source, "DC151") == expected
    assert {finding.severity.value for finding in findings(source, "DC151")} == {"info"}


@pytest.mark.parametrize("source", ACCEPTS[:5])
def test_accepts(source):
    assert findings(source, "DC151") == []


def test_stages_after_the_target_are_ignored():
    assert findings(ACCEPTS[5], "DC151", target="prod") == []


def test_target_selection():
    source = "FROM debian AS a\nRUN true\nFROM debian AS b\nRUN true\nFROM debian AS c\nCOPY --from=a /x /x\n"
    assert lines(source, "DC151") == [3]
    assert lines(source, "DC151", target="b") == [1]
    assert lines(source, "DC151", target="a") == []


def test_messages():
    [named] = findings("FROM debian AS tools\nFROM debian\nRUN true\n", "DC151")
    assert "--target tools" in named.message and "classic builder" in named.message
    [unnamed] = findings("FROM debian\nFROM debian\nRUN true\n", "DC151")
    assert "no name" in unnamed.message
    assert unnamed.stake.rebuild
