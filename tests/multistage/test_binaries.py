"""The conversion takes a tool from its official image (data/external_binaries.toml) where the
build stage installed it: the same edit as DC153, applied to the build stage."""

from pathlib import Path

import pytest

from decruft.multistage import plan_conversion

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python-uv-api"
UV = "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/"


def test_python_uv_api_build_stage_copies_uv():
    plan = plan_conversion((EXAMPLE / "Dockerfile").read_text(), context=EXAMPLE)
    assert f"RUN apt-get install -y build-essential curl\n{UV}\n" in plan.build_text
    assert "pip install uv" not in plan.build_text
    assert any(line.startswith("`pip install uv==0.13.9` replaced by `" + UV + "`") for line in plan.explanation)


def test_registry_mirror():
    plan = plan_conversion((EXAMPLE / "Dockerfile").read_text(), context=EXAMPLE, external_registry="127.0.0.1:5000")
    assert "COPY --from=127.0.0.1:5000/astral-sh/uv:0.13.9 /uv /uvx /bin/\n" in plan.build_text


@pytest.mark.parametrize(
    "source,build_stage",
    [
        # the venv goes before the RUN that installs the dependencies, the copy too
        (
            "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install uv==0.13.9 && uv pip install -r requirements.txt\n"
            'CMD ["python", "app.py"]\n',
            "FROM python:3.11 AS build\nWORKDIR /app\nCOPY . .\nRUN python3 -m venv /opt/venv\n"
            'ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"\n'
            f"{UV}\nRUN uv pip install -r requirements.txt\n"
            'CMD ["python", "app.py"]\n',
        ),
        # installed with other tools: only uv leaves the pip install
        (
            "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install uv==0.13.9 poetry\nRUN poetry install\n"
            'CMD ["python", "app.py"]\n',
            f"FROM python:3.11 AS build\nWORKDIR /app\nCOPY . .\n{UV}\nRUN pip install poetry\n"
            "RUN python3 -m venv /opt/venv\n"
            'ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"\nRUN poetry install\n'
            'CMD ["python", "app.py"]\n',
        ),
    ],
)
def test_copy_next_to_the_plans_own_insertions(source, build_stage):
    assert plan_conversion(source).build_text == build_stage


def test_install_left_alone_when_a_later_step_needs_the_module():
    source = ("FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install uv==0.13.9\nRUN python -m uv --version && pip install -r requirements.txt\n"
              'CMD ["python", "app.py"]\n')
    plan = plan_conversion(source)
    assert "RUN pip install uv==0.13.9\n" in plan.build_text
    assert not any("replaced by" in line for line in plan.explanation)
