import pytest

from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

CATCHES = [
    ("FROM python\nRUN pip install -r requirements.txt\n", ["pip install -r requirements.txt"]),
    ("FROM python\nRUN pip3 install flask\n", ["pip3 install flask"]),
    ("FROM python\nRUN pip3.12 install flask\n", ["pip3.12 install flask"]),
    ("FROM python\nRUN /usr/local/bin/pip install flask\n", ["/usr/local/bin/pip install flask"]),
    ("FROM python\nRUN python -m pip install flask\n", ["python -m pip install flask"]),
    ("FROM python\nRUN python3 -m pip install flask\n", ["python3 -m pip install flask"]),
    ("FROM python\nRUN pip wheel -w /wheels -r req.txt\n", ["pip wheel -w /wheels -r req.txt"]),
    ("FROM python\nRUN pip download -d /pkgs flask\n", ["pip download -d /pkgs flask"]),
    ("FROM python\nRUN sudo -H pip install flask\n", ["sudo -H pip install flask"]),
    ("FROM python\nRUN pip install --no-cache-dir a && pip install b\n", ["pip install b"]),
    (
        "FROM python\nRUN apt-get update \\\n && pip install \\\n      flask \\\n && echo ok\n",
        ["pip install \\\n      flask"],
    ),
    ("FROM python\nRUN <<EOF\nset -e\npip install flask\nEOF\n", ["pip install flask"]),
    # a falsy PIP_NO_CACHE_DIR enables the cache (pip >= 19)
    ("FROM python\nENV PIP_NO_CACHE_DIR=0\nRUN pip install flask\n", ["pip install flask"]),
    ("FROM python\nENV PIP_NO_CACHE_DIR=false\nRUN pip install flask\n", ["pip install flask"]),
    # removal or purge before the install does not help
    ("FROM python\nRUN rm -rf /root/.cache/pip && pip install flask\n", ["pip install flask"]),
    ("FROM python\nRUN pip cache purge && pip install flask\n", ["pip install flask"]),
    # unrelated cache mount
    ("FROM python\nRUN --mount=type=cache,target=/root/.npm pip install flask\n", ["pip install flask"]),
    # PIP_NO_CACHE_DIR in another stage that this one is not built FROM
    (
        "FROM python AS a\nENV PIP_NO_CACHE_DIR=1\nFROM python\nRUN pip install flask\n",
        ["pip install flask"],
    ),
]
ACCEPTS = [
    "FROM python\nRUN pip install --no-cache-dir -r requirements.txt\n",
    "FROM python\nRUN pip --no-cache-dir install flask\n",
    "FROM python\nRUN pip install --no-cache flask\n",  # optparse prefix of --no-cache-dir
    "FROM python\nRUN python -m pip install --no-cache-dir flask\n",
    "FROM python\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n",
    "FROM python\nENV PIP_NO_CACHE_DIR=true\nRUN pip install flask\n",
    "FROM python AS base\nENV PIP_NO_CACHE_DIR=on\nFROM base\nRUN pip install flask\n",
    "FROM python\nRUN PIP_NO_CACHE_DIR=1 pip install flask\n",
    # build args are in RUN's environment too
    "FROM python\nARG PIP_NO_CACHE_DIR=1\nRUN pip install flask\n",
    "FROM python\nRUN export PIP_NO_CACHE_DIR=1 && pip install flask\n",
    "FROM python\nRUN env PIP_NO_CACHE_DIR=1 pip install flask\n",
    "FROM python\nRUN pip config set global.no-cache-dir true\nRUN pip install flask\n",
    "FROM python\nRUN printf '[global]\\nno-cache-dir = true\\n' > /etc/pip.conf\nRUN pip install flask\n",
    "FROM python\nRUN pip install flask && rm -rf /root/.cache/pip\n",
    "FROM python\nRUN pip install flask && rm -rf ~/.cache\n",
    "FROM python\nRUN pip install flask && pip cache purge\n",
    "FROM python\nENV PIP_CACHE_DIR=/tmp/pipcache\nRUN pip install flask && rm -rf /tmp/pipcache\n",
    "FROM python\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n",
    "FROM python\nRUN --mount=type=cache,target=/root/.cache pip install flask\n",
    "FROM python\nUSER app\nRUN --mount=type=cache,target=/home/app/.cache/pip,uid=1000 pip install --user flask\n",
    "FROM python\nRUN <<EOF\npip install flask\nrm -rf /root/.cache/pip\nEOF\n",
    "FROM python\nRUN pip freeze > /req.txt\n",
    "FROM python\nRUN pip uninstall -y flask\n",
    'FROM python\nRUN ["pip", "install", "flask"]\n',
    "FROM python AS unused\nRUN pip install flask\nFROM python\nRUN true\n",
]


@pytest.mark.parametrize("source,spans", CATCHES)
def test_catches_with_exact_span(source, spans):
    found = findings(source, "DC110")
    assert [source[f.span.start : f.span.end] for f in found] == spans


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC110") == []


@pytest.mark.parametrize(
    "source,expected",
    [
        ("FROM python\nRUN pip install flask\n", "FROM python\nRUN pip install --no-cache-dir flask\n"),
        (
            "FROM python\nRUN python3 -m pip \\\n    install -r r.txt\n",
            "FROM python\nRUN python3 -m pip \\\n    install --no-cache-dir -r r.txt\n",
        ),
        ("FROM python\nRUN <<EOF\npip wheel .\nEOF\n", "FROM python\nRUN <<EOF\npip wheel --no-cache-dir .\nEOF\n"),
    ],
)
def test_fix_inserts_flag(source, expected):
    [finding] = findings(source, "DC110")
    assert finding.fix.applicability.value == "safe"
    fixed = apply(source, finding.fix)
    assert fixed == expected
    assert findings(fixed, "DC110") == []


@pytest.mark.parametrize(
    "command",
    ["pip install -U pip", "pip install --upgrade pip setuptools wheel", "python -m pip install 'pip>=24'"],
)
def test_upgrading_pip_itself_is_info_with_small_stake(command):
    [finding] = findings(f"FROM python\nRUN {command}\n", "DC110")
    assert finding.severity.value == "info"
    assert finding.stake.bytes < 5_000_000


def test_regular_install_is_warning_with_stake():
    [finding] = findings("FROM python\nRUN pip install -U pip flask\n", "DC110")
    assert finding.severity.value == "warning"
    assert finding.stake.bytes >= 10_000_000


def test_build_stage_copied_narrowly_is_info():
    source = (
        "FROM python AS build\nRUN pip wheel -w /wheels flask\n"
        "FROM python\nCOPY --from=build /wheels /wheels\n"
    )
    [finding] = findings(source, "DC110")
    assert finding.severity.value == "info"
    assert "do not ship" in finding.notes[0]


def test_hadolint_pragma():
    assert findings("FROM python\n# hadolint ignore=DL3042\nRUN pip install flask\n", "DC110") == []


def test_non_root_user_cache_is_shown_in_its_home():
    [finding] = findings("FROM python\nUSER app\nRUN pip install --user flask\n", "DC110")
    assert "~/.cache/pip" in finding.message
