import pytest

from tests.rules.helpers import findings, lines

CATCHES = [
    ("FROM debian\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl\n", [2]),
    ("FROM debian\nRUN apt update\nRUN echo hi\nRUN apt install -y --no-install-recommends curl\n", [2]),
    ("FROM debian\nRUN sudo apt-get -q update\nRUN apt-get install -y x\n", [2]),
]
ACCEPTS = [
    "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
    "FROM debian\nRUN apt-get update\n",  # no later install: nothing goes stale
    "FROM debian\nRUN apt-get install -y curl\nRUN apt-get update\n",
    "FROM debian AS a\nRUN apt-get update\nFROM debian\nRUN apt-get install -y x\n",  # other stage
]


@pytest.mark.parametrize("source,expected", CATCHES)
def test_catches(source, expected):
    assert lines(source, "DC101") == expected


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC101") == []
