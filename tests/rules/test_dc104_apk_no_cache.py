import pytest

from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

CATCHES = [
    ("FROM alpine\nRUN apk add curl\n", ["apk add curl"]),
    ("FROM alpine\nRUN apk add --update curl git\n", ["apk add --update curl git"]),
    ("FROM alpine\nRUN apk upgrade\n", ["apk upgrade"]),
    # the index from `apk update` stays even though the add uses --no-cache
    ("FROM alpine\nRUN apk update && apk add --no-cache curl\n", ["apk update"]),
    ("FROM alpine\nRUN apk update && apk add curl\n", ["apk update", "apk add curl"]),
    ("FROM alpine\nRUN sudo apk add curl\n", ["sudo apk add curl"]),
    ("FROM alpine\nRUN set -eux; \\\n    apk add \\\n      curl; \\\n    echo ok\n", ["apk add \\\n      curl"]),
    ("FROM alpine\nRUN <<EOF\nset -e\napk add curl\nEOF\n", ["apk add curl"]),
    # removal before the install does not help; an unrelated removal neither
    ("FROM alpine\nRUN rm -rf /var/cache/apk/* && apk add curl\n", ["apk add curl"]),
    ("FROM alpine\nRUN apk add curl && rm -rf /tmp/*\n", ["apk add curl"]),
    # a cache mount elsewhere does not count
    ("FROM alpine\nRUN --mount=type=cache,target=/root/.cache apk add curl\n", ["apk add curl"]),
    # later stage built FROM the first: both ship
    ("FROM alpine AS base\nRUN apk add curl\nFROM base\nRUN apk add git\n", ["apk add curl", "apk add git"]),
]
ACCEPTS = [
    "FROM alpine\nRUN apk add --no-cache curl\n",
    "FROM alpine\nRUN apk --no-cache add curl\n",
    "FROM alpine\nRUN apk add --no-cache --virtual .build gcc && apk del .build\n",
    "FROM alpine\nRUN apk update && apk add curl && rm -rf /var/cache/apk/*\n",
    "FROM alpine\nRUN apk add curl \\\n && rm -rf /var/cache/apk\n",
    "FROM alpine\nRUN --mount=type=cache,target=/var/cache/apk apk add curl\n",
    "FROM alpine\nRUN --mount=type=cache,target=/etc/apk/cache apk add curl\n",
    "FROM alpine\nRUN <<EOF\napk add curl\nrm -rf /var/cache/apk/*\nEOF\n",
    "FROM alpine\nRUN apk del curl\n",
    "FROM alpine\nRUN apk info\n",
    'FROM alpine\nRUN ["apk", "add", "curl"]\n',  # exec form: not analysed
    # unused stage: never built for the default target
    "FROM alpine AS unused\nRUN apk add curl\nFROM alpine\nRUN true\n",
]


@pytest.mark.parametrize("source,spans", CATCHES)
def test_catches_with_exact_span(source, spans):
    found = findings(source, "DC104")
    assert [source[f.span.start : f.span.end] for f in found] == spans


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC104") == []


def test_fix_inserts_no_cache_after_add():
    source = "FROM alpine\nRUN apk add \\\n      curl\n"
    [finding] = findings(source, "DC104")
    assert finding.fix.applicability.value == "safe"
    assert apply(source, finding.fix) == "FROM alpine\nRUN apk add --no-cache \\\n      curl\n"


def test_fix_for_update_appends_removal():
    source = "FROM alpine\nRUN apk update \\\n && apk add --no-cache curl\n"
    [finding] = findings(source, "DC104")
    fixed = apply(source, finding.fix)
    assert fixed.endswith("apk add --no-cache curl \\\n && rm -rf /var/cache/apk/*\n")
    assert findings(fixed, "DC104") == []


def test_all_fixes_together_clear_the_finding():
    source = "FROM alpine\nRUN apk update && apk add curl\n"
    found = findings(source, "DC104")
    edits = [edit for finding in found for edit in finding.fix.edits]
    fixed = apply(source, type(found[0].fix)("all", found[0].fix.applicability, edits))
    assert fixed == "FROM alpine\nRUN apk update && apk add --no-cache curl && rm -rf /var/cache/apk/*\n"
    assert findings(fixed, "DC104") == []


def test_builder_stage_is_info():
    source = "FROM alpine AS build\nRUN apk add gcc\nFROM alpine\nCOPY --from=build /usr/bin/gcc /gcc\n"
    [finding] = findings(source, "DC104")
    assert finding.severity.value == "info" and finding.stage == "build"


def test_stake_and_hadolint_pragma():
    [finding] = findings(CATCHES[0][0], "DC104")
    assert finding.stake.bytes and not finding.stake.measured
    assert findings("FROM alpine\n# hadolint ignore=DL3019\nRUN apk add curl\n", "DC104") == []
