import pytest

from decruft.dockerfile import parse
from tests.rules.helpers import findings

CATCHES = [
    ("FROM debian\nRUN apt-get update && apt-get install -y curl\n", "apt-get install -y curl"),
    ("FROM debian\nRUN apt install -y curl\n", "apt install -y curl"),
    ("FROM debian\nRUN apt-get update \\\n && apt-get -y install \\\n     curl\n", "apt-get -y install \\\n     curl"),
]
ACCEPTS = [
    "FROM debian\nRUN apt-get install -y --no-install-recommends curl\n",
    "FROM debian\nRUN apt-get install -y -o APT::Install-Recommends=false curl\n",
    "FROM debian\nRUN echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/99norec\n"
    "RUN apt-get install -y curl\n",
    "FROM debian\nRUN apt-get update\n",
]


def test_command_option_applies_to_its_own_command_only():
    source = (
        "FROM debian\nRUN apt-get install -y -o APT::Install-Recommends=false curl\n"
        "RUN apt-get install -y wget\n"
    )
    assert [f.line for f in findings(source, "DC103")] == [3]


@pytest.mark.parametrize("source,span_text", CATCHES)
def test_catches_with_exact_span(source, span_text):
    [finding] = findings(source, "DC103")
    assert source[finding.span.start : finding.span.end] == span_text


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC103") == []


def test_fix_inserts_flag_after_install():
    source = CATCHES[2][0]
    [finding] = findings(source, "DC103")
    [edit] = finding.fix.edits
    fixed = source[: edit.span.start] + edit.replacement + source[edit.span.end :]
    assert "apt-get -y install --no-install-recommends \\\n     curl" in fixed
    parse(fixed)  # still a valid Dockerfile
