import pytest

from decruft.dockerfile import parse
from tests.rules.helpers import findings, lines


def apply(source, fix):
    for edit in sorted(fix.edits, key=lambda edit: -edit.span.start):
        source = source[: edit.span.start] + edit.replacement + source[edit.span.end :]
    return source


CATCHES = [
    ("FROM debian\nCOPY . /app\nRUN chown -R app:app /app\n", [3]),
    ("FROM debian\nWORKDIR /app\nCOPY . .\nRUN chown -R app .\n", [4]),
    ("FROM debian\nCOPY src/ /srv/www/\nRUN chmod -R 755 /srv/www\n", [3]),
    ("FROM debian\nCOPY . /app\nRUN chgrp -R 0 /app && chmod -R g=u /app\n", [3, 3]),
    # a parent of the copied path
    ("FROM debian\nCOPY . /home/app/code\nRUN chown -R app /home/app\n", [3]),
    # a subtree of a copied directory
    ("FROM debian\nCOPY . /app\nRUN chown -R app /app/data\n", [3]),
    # grouped flags, long flag
    ("FROM debian\nCOPY . /app\nRUN chown -hR app /app\n", [3]),
    ("FROM debian\nCOPY . /app\nRUN chmod --recursive a+rX /app\n", [3]),
    # not the next instruction; other instructions between
    ("FROM debian\nCOPY . /app\nENV X=1\nRUN pip install -e /app\nUSER root\nRUN chown -R app /app\n", [6]),
    # the parent stage copied it
    ("FROM debian AS base\nCOPY . /app\nFROM base\nRUN chown -R app /app\n", [4]),
    # heredoc and continuation lines
    ("FROM debian\nCOPY . /app\nRUN <<EOF\nset -e\nchown -R app /app\nEOF\n", [5]),
    ("FROM debian\nCOPY . /app\nRUN useradd app \\\n && chown -R \\\n      app:app /app\n", [4]),
    # COPY --from copies duplicate too
    ("FROM debian AS b\nFROM debian\nCOPY --from=b /out /opt/out\nRUN chown -R app /opt/out\n", [4]),
]
ACCEPTS = [
    "FROM debian\nCOPY --chown=app:app . /app\n",
    # not recursive
    "FROM debian\nCOPY entrypoint.sh /usr/local/bin/\nRUN chmod +x /usr/local/bin/entrypoint.sh\n",
    # paths no COPY wrote
    "FROM debian\nCOPY . /app\nRUN mkdir /data && chown -R app /data\n",
    # chown before the COPY
    "FROM debian\nRUN chown -R app /app\nCOPY . /app\n",
    # a sibling under a shared directory
    "FROM debian\nCOPY tool /usr/local/bin/tool\nRUN chown -R app /usr/local/lib\n",
    # ONBUILD and exec form
    "FROM debian\nCOPY . /app\nONBUILD RUN chown -R app /app\n",
    'FROM debian\nCOPY . /app\nRUN ["chown", "-R", "app", "/app"]\n',
    # another stage chain
    "FROM debian AS a\nCOPY . /app\nFROM debian\nRUN chown -R app /app\n",
]


@pytest.mark.parametrize("source,expected", CATCHES)
def test_catches(source, expected):
    assert lines(source, "DC121") == expected


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC121") == []


def test_fix_moves_the_owner_onto_the_copy():
    source = "FROM debian\nRUN useradd app\nCOPY . /app\nRUN chown -R app:app /app\nUSER app\n"
    [finding] = findings(source, "DC121")
    assert "--chown=app:app" in finding.message
    assert finding.fix.applicability.value == "unsafe"
    fixed = apply(source, finding.fix)
    assert fixed == "FROM debian\nRUN useradd app\nCOPY --chown=app:app . /app\nUSER app\n"
    parse(fixed)


def test_fix_octal_chmod():
    source = "FROM debian\nCOPY ./site /srv/site\nRUN chmod -R 0755 /srv/site\n"
    [finding] = findings(source, "DC121")
    assert apply(source, finding.fix) == "FROM debian\nCOPY --chmod=0755 ./site /srv/site\n"


@pytest.mark.parametrize(
    "source",
    [
        # the RUN does more
        "FROM debian\nCOPY . /app\nRUN chown -R app /app && pip install -e /app\n",
        # a layer between the COPY and the RUN wrote into the directory too
        "FROM debian\nCOPY . /app\nRUN make -C /app\nRUN chown -R app /app\n",
        # symbolic mode: COPY --chmod takes octal
        "FROM debian\nCOPY . /app\nRUN chmod -R a+rX /app\n",
        # the COPY already has the flag
        "FROM debian\nCOPY --chown=root . /app\nRUN chown -R app /app\n",
        # a target inside the copy, not the copy itself
        "FROM debian\nCOPY . /app\nRUN chown -R app /app/data\n",
    ],
)
def test_no_edits_when_the_rewrite_is_not_local(source):
    [finding] = findings(source, "DC121")
    assert finding.fix.edits == []
    assert finding.fix.applicability.value == "unsafe"


def test_small_copied_file_is_a_hint():
    source = "FROM debian\nCOPY config.yaml /etc/app/\nRUN chown -R app /etc/app\n"
    [finding] = findings(source, "DC121")
    assert finding.severity.value == "info"


def test_measured_stake(tmp_path):
    (tmp_path / "big.bin").write_bytes(b"x" * 123_456)
    source = "FROM debian\nCOPY . /app\nRUN chown -R app /app\n"
    [finding] = findings(source, "DC121", context=tmp_path)
    assert finding.stake.measured and finding.stake.bytes == 123_456


def test_target_selection():
    source = "FROM debian AS dev\nCOPY . /app\nRUN chown -R app /app\nFROM debian AS prod\nCOPY . /app\n"
    assert lines(source, "DC121") == []
    assert lines(source, "DC121", target="dev") == [3]
