import pytest

from tests.rules.helpers import findings, lines

CATCHES = [
    ("FROM python:3.12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev\n", "gcc, libpq-dev"),
    ("FROM debian:bookworm-slim\nRUN apt-get install -y build-essential=12.9\n", "build-essential"),
    ("FROM debian:bookworm-slim\nRUN apt-get install -y -t bookworm-backports cmake\n", "cmake"),
    ("FROM alpine:3.19\nRUN apk add --no-cache build-base linux-headers\n", "build-base, linux-headers"),
    ("FROM fedora:40\nRUN dnf install -y gcc-c++ python3-devel\n", "gcc-c++, python3-devel"),
    ("FROM fedora:40\nRUN dnf groupinstall -y 'Development Tools'\n", "@Development Tools"),
    ("FROM rockylinux:9\nRUN yum install -y make\n", "make"),
    ("FROM opensuse/leap\nRUN zypper install -y gcc\n", "gcc"),
    ("FROM debian:bookworm-slim\nRUN apt-get install -y golang-go default-jdk maven\n", "golang-go, default-jdk, maven"),
    ("FROM debian:bookworm-slim\nRUN apt-get install -y openjdk-17-jdk-headless\n", "openjdk-17-jdk-headless"),
    # removed in a later layer: still shipped
    ("FROM debian:bookworm-slim\nRUN apt-get install -y gcc\nRUN apt-get purge -y gcc\n", "gcc"),
    # removal of another package does not count
    ("FROM alpine\nRUN apk add gcc musl-dev curl && apk del curl\n", "gcc, musl-dev"),
    # node installed only to build assets
    (
        "FROM python:3.12-slim\nRUN apt-get install -y nodejs npm\nRUN npm ci && npm run build\n"
        'CMD ["gunicorn", "app:app"]\n',
        "nodejs, npm",
    ),
    # heredoc and continuation lines
    ("FROM debian:bookworm-slim\nRUN <<EOF\napt-get update\napt-get install -y g++ make\nEOF\n", "g++, make"),
    ("FROM debian:bookworm-slim\nRUN apt-get install -y \\\n      gcc \\\n      libssl-dev\n", "gcc, libssl-dev"),
    # SDK base images as the final base
    ("FROM golang:1.22\nCOPY . .\nRUN go build -o /app\n", "golang:1.22"),
    ("FROM rust:1.77-slim\nCOPY . .\nRUN cargo build\n", "rust:1.77-slim"),
    ("FROM maven:3-eclipse-temurin-21\nCOPY . .\n", "maven"),
    ("FROM buildpack-deps:bookworm\n", "buildpack-deps"),
    ("FROM mcr.microsoft.com/dotnet/sdk:8.0\n", "dotnet/sdk"),
    # a stage whose whole filesystem is copied into the final image
    ("FROM debian AS b\nRUN apt-get install -y gcc\nFROM scratch\nCOPY --from=b / /\n", "gcc"),
]
ACCEPTS = [
    # removed in the same RUN
    "FROM alpine\nRUN apk add --no-cache --virtual .build-deps gcc musl-dev && pip install x && apk del .build-deps\n",
    "FROM alpine\nRUN apk add -t build gcc && make && apk del build\n",
    "FROM debian\nRUN apt-get install -y gcc make && make && apt-get purge -y gcc make\n",
    # the official images' idiom
    "FROM debian\nRUN savedAptMark=\"$(apt-mark showmanual)\" && apt-get install -y gcc && make "
    "&& apt-mark auto '.*' > /dev/null && apt-mark manual $savedAptMark "
    "&& apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false\n",
    "FROM debian\nRUN apt-get install -y $buildDeps && make && apt-get purge -y $buildDeps\n",
    # runtime libraries only
    "FROM debian:bookworm-slim\nRUN apt-get install -y libpq5 libssl3 udev ca-certificates\n",
    # build tools in a builder stage
    "FROM debian AS build\nRUN apt-get install -y gcc\nFROM debian:bookworm-slim\nCOPY --from=build /out /out\n",
    "FROM golang:1.22 AS build\nRUN go build -o /app\nFROM gcr.io/distroless/static\nCOPY --from=build /app /app\n",
    # node that the image runs
    'FROM debian:bookworm-slim\nRUN apt-get install -y nodejs npm\nRUN npm ci\nCMD ["node", "server.js"]\n',
    # node without a known command (the base image's CMD may be node)
    "FROM debian:bookworm-slim\nRUN apt-get install -y nodejs npm\nRUN npm ci\n",
    # not slim-marked SDK variants that carry no compiler
    "FROM buildpack-deps:bookworm-curl\n",
    # ONBUILD
    "FROM debian\nONBUILD RUN apt-get install -y gcc\n",
]


@pytest.mark.parametrize("source,needle", CATCHES)
def test_catches(source, needle):
    [finding] = findings(source, "DC150")
    assert needle in finding.message, finding.message
    assert finding.severity.value == "warning"
    assert finding.fix is not None and finding.fix.edits == []


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC150") == []


def test_points_at_the_install_command_with_stake():
    source = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y gcc && rm -rf /var/lib/apt/lists/*\n"
    [finding] = findings(source, "DC150")
    assert source[finding.span.start : finding.span.end] == "apt-get install -y gcc"
    assert finding.stake.bytes == 250_000_000


def test_later_removal_is_noted():
    [finding] = findings("FROM debian\nRUN apt-get install -y gcc\nRUN apt-get purge -y gcc\n", "DC150")
    assert "line 3" in finding.notes[0]


def test_target_selection():
    source = "FROM debian AS dev\nRUN apt-get install -y gcc\nFROM debian:bookworm-slim AS prod\nRUN true\n"
    assert lines(source, "DC150") == []
    assert lines(source, "DC150", target="dev") == [2]


def test_builder_stage_of_the_final_chain_counts():
    source = "FROM debian AS base\nRUN apt-get install -y gcc\nFROM base\nRUN make\n"
    assert lines(source, "DC150") == [2]
