import pytest

from tests.rules.helpers import findings, lines

CATCHES = [
    ("FROM golang AS build\nRUN go build\nFROM debian:bookworm-slim\nCOPY --from=build / /\n", [4], "warning"),
    ("FROM golang AS build\nFROM debian\nCOPY --from=build /. /\n", [3], "warning"),
    ("FROM golang AS build\nFROM debian\nCOPY --from=build . /rootfs\n", [3], "warning"),
    ("FROM golang AS build\nFROM debian\nCOPY --from=build /* /\n", [3], "warning"),
    ("FROM golang\nFROM debian\nCOPY --from=0 / /\n", [3], "warning"),
    # JSON form
    ('FROM golang AS build\nFROM debian\nCOPY --from=build ["/", "/"]\n', [3], "warning"),
    # an external image
    ("FROM debian\nCOPY --from=busybox:1.36 / /busybox\n", [2], "warning"),
    # squashing into scratch: a hint
    ("FROM debian AS b\nRUN apt-get install -y x\nFROM scratch\nCOPY --from=b / /\n", [4], "info"),
    # continuation lines
    ("FROM golang AS build\nFROM debian\nCOPY \\\n  --from=build \\\n  / /\n", [3], "warning"),
    # inside a builder stage that is copied narrowly: softened
    ("FROM golang AS b\nFROM debian AS mid\nCOPY --from=b / /x\nFROM debian\nCOPY --from=mid /x/app /app\n", [3], "info"),
]
ACCEPTS = [
    "FROM golang AS build\nFROM debian\nCOPY --from=build /out/app /app\n",
    "FROM golang AS build\nFROM debian\nCOPY --from=build /out/ /\n",
    "FROM debian\nCOPY . /\n",  # the build context, not a stage
    "FROM debian\nONBUILD COPY --from=x / /\n",
    "FROM golang AS build\nFROM debian AS unused\nCOPY --from=build / /\nFROM debian\nRUN true\n",
]


@pytest.mark.parametrize("source,expected,severity", CATCHES)
def test_catches(source, expected, severity):
    found = findings(source, "DC152")
    assert [finding.line for finding in found] == expected
    assert {finding.severity.value for finding in found} == {severity}


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC152") == []


def test_message_names_the_stage():
    [finding] = findings(CATCHES[0][0], "DC152")
    assert "stage 'build'" in finding.message and finding.fix.edits == []


def test_target_selection():
    source = "FROM golang AS build\nFROM debian AS dev\nCOPY --from=build / /\nFROM debian AS prod\nRUN true\n"
    assert lines(source, "DC152") == []
    assert lines(source, "DC152", target="dev") == [3]
