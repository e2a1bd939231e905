import pytest

from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

CATCHES = [
    ("FROM debian\nRUN gem install bundler\n", ["gem install bundler"]),
    ("FROM alpine\nRUN gem install rails -v 7.1.0\n", ["gem install rails -v 7.1.0"]),
    ("FROM debian\nRUN gem update --system\n", ["gem update --system"]),
    ("FROM debian\nRUN gem install --no-ri bundler\n", ["gem install --no-ri bundler"]),  # rdoc still built
    ("FROM debian\nRUN sudo gem install bundler\n", ["sudo gem install bundler"]),
    ("FROM debian\nRUN apt-get update \\\n && gem install \\\n      bundler\n", ["gem install \\\n      bundler"]),
    ("FROM debian\nRUN <<EOF\ngem install bundler\nEOF\n", ["gem install bundler"]),
    ("FROM debian\nRUN gem install a && gem install -N b\n", ["gem install a"]),
    # a gemrc written *after* the install does not help it
    (
        "FROM debian\nRUN gem install a\nRUN echo 'gem: --no-document' > /etc/gemrc\n",
        ["gem install a"],
    ),
    # jruby / other images do not ship the gemrc
    ("FROM jruby:9\nRUN gem install bundler\n", ["gem install bundler"]),
]
ACCEPTS = [
    "FROM debian\nRUN gem install --no-document bundler\n",
    "FROM debian\nRUN gem install -N bundler\n",
    "FROM debian\nRUN gem install --no-rdoc --no-ri bundler\n",
    "FROM debian\nRUN gem update --system --no-document\n",
    "FROM debian\nRUN echo 'gem: --no-document' > /etc/gemrc\nRUN gem install bundler\n",
    "FROM debian\nRUN echo \"gem: --no-rdoc --no-ri\" >> ~/.gemrc && gem install bundler\n",
    "FROM debian\nRUN <<EOF\ncat > /etc/gemrc <<'RC'\ninstall: --no-document\nRC\nEOF\nRUN gem install bundler\n",
    # the official ruby images write `install: --no-document` to /usr/local/etc/gemrc
    "FROM ruby:3.3-slim\nRUN gem install bundler\n",
    "FROM docker.io/library/ruby:3.3-alpine AS base\nFROM base\nRUN gem install bundler\n",
    "FROM debian\nRUN bundle install\n",
    "FROM debian\nRUN gem list\n",
    'FROM debian\nRUN ["gem", "install", "bundler"]\n',
    "FROM debian AS unused\nRUN gem install bundler\nFROM debian\nRUN true\n",
]


@pytest.mark.parametrize("source,spans", CATCHES)
def test_catches_with_exact_span(source, spans):
    found = findings(source, "DC114")
    assert [source[f.span.start : f.span.end] for f in found] == spans


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC114") == []


@pytest.mark.parametrize(
    "source,expected",
    [
        ("FROM debian\nRUN gem install bundler\n", "FROM debian\nRUN gem install --no-document bundler\n"),
        ("FROM debian\nRUN gem update --system\n", "FROM debian\nRUN gem update --no-document --system\n"),
    ],
)
def test_fix_inserts_no_document(source, expected):
    [finding] = findings(source, "DC114")
    assert finding.fix.applicability.value == "safe"
    fixed = apply(source, finding.fix)
    assert fixed == expected
    assert findings(fixed, "DC114") == []


def test_builder_stage_is_info():
    source = "FROM debian AS build\nRUN gem install fpm\nFROM debian\nCOPY --from=build /out /out\n"
    [finding] = findings(source, "DC114")
    assert finding.severity.value == "info"
