import pytest

from tests.rules.helpers import findings, lines

CATCHES = [
    "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
    # hadolint accepts any `rm -rf`; an unrelated one does not clean the lists
    "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /tmp/*\n",
    # apt-get clean empties /var/cache/apt, not the lists
    "FROM debian\nRUN apt-get update && apt-get install -y curl && apt-get clean\n",
    # removal before the install does not help
    "FROM debian\nRUN rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y curl\n",
    "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n",
    # a cache mount somewhere else does not count
    "FROM debian\nRUN --mount=type=cache,target=/root/.cache apt-get update && apt-get install -y x\n",
    # a lone update leaves the lists in its layer too
    "FROM debian\nRUN apt-get update\n",
]
ACCEPTS = [
    "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
    "FROM debian\nRUN apt-get update && apt-get install -y curl \\\n && rm -rf /var/lib/apt/lists\n",
    "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/*\n",
    "FROM debian\nRUN --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y x\n",
    "FROM debian\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y x\n",
    "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nrm -rf /var/lib/apt/lists/*\nEOF\n",
    "FROM debian\nRUN apt-get install -y curl\n",  # no update here: lists come from elsewhere (DC101)
    "FROM debian\nRUN [\"apt-get\", \"update\"]\n",  # exec form: no shell to analyse
    # unused stage: never built by BuildKit for the default target
    "FROM debian AS unused\nRUN apt-get update && apt-get install -y x\nFROM debian\nRUN true\n",
]


@pytest.mark.parametrize("source", CATCHES)
def test_catches(source):
    assert lines(source, "DC102") == [2]


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC102") == []


def test_build_stage_copied_narrowly_is_info_with_reason():
    source = (
        "FROM debian AS build\nRUN apt-get update && apt-get install -y gcc\n"
        "FROM debian\nCOPY --from=build /usr/bin/gcc /usr/bin/gcc\n"
    )
    [finding] = findings(source, "DC102")
    assert finding.severity.value == "info"
    assert "do not ship" in finding.notes[0]
    assert finding.stage == "build"


def test_build_stage_copied_whole_is_full_severity():
    source = (
        "FROM debian AS build\nRUN apt-get update && apt-get install -y gcc\n"
        "FROM scratch\nCOPY --from=build / /\n"
    )
    [finding] = findings(source, "DC102")
    assert finding.severity.value == "warning"


def test_stake_is_reported():
    [finding] = findings(CATCHES[0], "DC102")
    assert finding.stake.bytes > 10_000_000 and not finding.stake.measured


def test_fix_appends_cleanup_in_the_users_style():
    from tests.rules.helpers import apply_fix

    source = "FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl\n"
    [finding] = findings(source, "DC102")
    assert finding.fix.applicability.value == "safe"
    fixed = apply_fix(source, finding.fix)
    assert fixed == "FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n"
    assert findings(fixed, "DC102") == []


def test_fix_is_unsafe_when_a_later_run_reads_the_lists():
    source = "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN apt-get download hello\n"
    [finding] = findings(source, "DC102")
    assert finding.fix.applicability.value == "unsafe"


def test_build_stage_copied_with_a_glob_of_the_root_is_full_severity():
    source = (
        "FROM debian AS build\nRUN apt-get update && apt-get install -y gcc\n"
        "FROM scratch\nCOPY --from=build /* /\n"
    )
    [finding] = findings(source, "DC102")
    assert finding.severity.value == "warning"
