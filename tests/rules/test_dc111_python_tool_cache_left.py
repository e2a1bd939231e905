import pytest

from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

CATCHES = [
    # uv
    ("FROM python\nRUN uv pip install --system -r req.txt\n", ["uv pip install --system -r req.txt"]),
    ("FROM python\nRUN uv sync --frozen\n", ["uv sync --frozen"]),
    ("FROM python\nRUN uv tool install ruff\n", ["uv tool install ruff"]),
    ("FROM python\nRUN python -m uv pip install x\n", ["python -m uv pip install x"]),
    ("FROM python\nENV UV_NO_CACHE=0\nRUN uv sync\n", ["uv sync"]),
    ("FROM python\nRUN uv cache clean && uv sync\n", ["uv sync"]),
    ("FROM python\nRUN --mount=type=cache,target=/root/.cache/pip uv sync\n", ["uv sync"]),
    # poetry
    ("FROM python\nRUN poetry install --no-root\n", ["poetry install --no-root"]),
    ("FROM python\nRUN poetry config virtualenvs.create false && poetry install\n", ["poetry install"]),
    ("FROM python\nRUN poetry install && rm -rf /tmp/poetry\n", ["poetry install"]),
    # pipenv: --clear empties the caches *before* the install
    ("FROM python\nRUN pipenv install --system --deploy\n", ["pipenv install --system --deploy"]),
    ("FROM python\nRUN pipenv install --clear --system\n", ["pipenv install --clear --system"]),
    # conda family
    ("FROM continuumio/miniconda3\nRUN conda install -y numpy\n", ["conda install -y numpy"]),
    ("FROM continuumio/miniconda3\nRUN conda env create -f env.yml\n", ["conda env create -f env.yml"]),
    ("FROM mambaorg/micromamba\nRUN micromamba install -y -n base -f env.yaml\n", ["micromamba install -y -n base -f env.yaml"]),
    ("FROM condaforge/mambaforge\nRUN mamba create -y -n app python=3.12\n", ["mamba create -y -n app python=3.12"]),
    ("FROM continuumio/miniconda3\nRUN conda install -y a && conda clean -y --index-cache\n", ["conda install -y a"]),
    (
        "FROM continuumio/miniconda3\nRUN conda install -y a \\\n && conda clean -afy \\\n && conda install -y b\n",
        ["conda install -y b"],
    ),
    ("FROM continuumio/miniconda3\nRUN sudo conda install -y x\n", ["sudo conda install -y x"]),
    ("FROM python\nRUN <<EOF\nuv sync\nEOF\n", ["uv sync"]),
    # two tools in one RUN
    ("FROM python\nRUN uv sync && conda install -y x\n", ["uv sync", "conda install -y x"]),
]
ACCEPTS = [
    "FROM python\nRUN uv pip install --system --no-cache -r req.txt\n",
    "FROM python\nRUN uv --no-cache sync\n",
    "FROM python\nRUN uv sync -n\n",
    "FROM python\nENV UV_NO_CACHE=1\nRUN uv sync\n",
    "FROM python\nRUN UV_NO_CACHE=1 uv sync\n",
    "FROM python\nARG UV_NO_CACHE=true\nRUN uv sync\n",
    "FROM python\nRUN uv sync && uv cache clean\n",
    "FROM python\nRUN uv sync && rm -rf /root/.cache/uv\n",
    "FROM python\nENV UV_CACHE_DIR=/tmp/uv\nRUN uv sync && rm -rf /tmp/uv\n",
    "FROM python\nRUN UV_CACHE_DIR=/tmp/uv uv sync && rm -rf /tmp/uv\n",
    "FROM python\nRUN --mount=type=cache,target=/root/.cache/uv uv sync\n",
    "FROM python\nRUN --mount=type=cache,target=/root/.cache uv sync\n",
    "FROM python\nRUN uv venv /venv\n",
    "FROM python\nRUN poetry install --no-cache\n",
    "FROM python\nRUN poetry install && poetry cache clear --all pypi\n",
    "FROM python\nRUN poetry install && rm -rf ~/.cache/pypoetry\n",
    "FROM python\nENV POETRY_CACHE_DIR=/tmp/poetry_cache\nRUN poetry install && rm -rf $POETRY_CACHE_DIR\n",
    "FROM python\nENV POETRY_CACHE_DIR=/tmp/poetry_cache\nRUN poetry install && rm -rf /tmp/poetry_cache\n",
    "FROM python\nRUN --mount=type=cache,target=/root/.cache/pypoetry poetry install\n",
    "FROM python\nRUN poetry export -o req.txt\n",
    "FROM python\nRUN pipenv install --system && rm -rf /root/.cache/pipenv\n",
    "FROM python\nRUN pipenv install --system && pipenv --clear\n",
    "FROM python\nRUN --mount=type=cache,target=/root/.cache/pipenv pipenv sync\n",
    "FROM continuumio/miniconda3\nRUN conda install -y numpy && conda clean -afy\n",
    "FROM continuumio/miniconda3\nRUN conda install -y numpy && conda clean --all --yes\n",
    "FROM continuumio/miniconda3\nRUN conda install -y numpy && conda clean -tipsy\n",
    "FROM mambaorg/micromamba\nRUN micromamba install -y -f env.yaml && micromamba clean --all --yes\n",
    "FROM continuumio/miniconda3\nRUN conda env create -f e.yml && rm -rf /opt/conda/pkgs/*\n",
    "FROM continuumio/miniconda3\nRUN conda install -y x && rm -rf $CONDA_DIR/pkgs\n",
    "FROM continuumio/miniconda3\nRUN --mount=type=cache,target=/opt/conda/pkgs conda install -y x\n",
    "FROM continuumio/miniconda3\nRUN conda list\n",
    "FROM python\nRUN <<EOF\nuv sync\nuv cache clean\nEOF\n",
    'FROM python\nRUN ["uv", "sync"]\n',
    "FROM python AS unused\nRUN uv sync\nFROM python\nRUN true\n",
]


@pytest.mark.parametrize("source,spans", CATCHES)
def test_catches_with_exact_span(source, spans):
    found = findings(source, "DC111")
    assert [source[f.span.start : f.span.end] for f in found] == spans


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC111") == []


@pytest.mark.parametrize(
    "source,expected,applicability",
    [
        ("FROM python\nRUN uv sync --frozen\n", "FROM python\nRUN uv sync --no-cache --frozen\n", "safe"),
        ("FROM python\nRUN uv pip install x\n", "FROM python\nRUN uv pip install --no-cache x\n", "safe"),
        ("FROM python\nRUN poetry install\n", "FROM python\nRUN poetry install --no-cache\n", "unsafe"),
        (
            "FROM python\nRUN pipenv install --system\n",
            "FROM python\nRUN pipenv install --system && rm -rf ~/.cache/pipenv\n",
            "safe",
        ),
        (
            "FROM python\nENV PIPENV_CACHE_DIR=/tmp/pe\nRUN pipenv install --system\n",
            "FROM python\nENV PIPENV_CACHE_DIR=/tmp/pe\nRUN pipenv install --system && rm -rf /tmp/pe\n",
            "safe",
        ),
        (
            "FROM mambaorg/micromamba\nRUN micromamba install -y \\\n      -f env.yaml\n",
            "FROM mambaorg/micromamba\nRUN micromamba install -y \\\n      -f env.yaml && micromamba clean --all --yes\n",
            "safe",
        ),
        (
            "FROM continuumio/miniconda3\nRUN conda update -y conda \\\n && conda install -y x\n",
            "FROM continuumio/miniconda3\nRUN conda update -y conda \\\n && conda install -y x \\\n && conda clean --all --yes\n",
            "safe",
        ),
    ],
)
def test_fix(source, expected, applicability):
    [finding] = findings(source, "DC111")
    assert finding.fix.applicability.value == applicability
    fixed = apply(source, finding.fix)
    assert fixed == expected
    assert findings(fixed, "DC111") == []


def test_conda_stake_is_large_and_builder_stage_is_info():
    source = "FROM continuumio/miniconda3 AS env\nRUN conda create -y -p /env python\nFROM debian\nCOPY --from=env /env /env\n"
    [finding] = findings(source, "DC111")
    assert finding.severity.value == "info"
    assert finding.stake.bytes >= 100_000_000
