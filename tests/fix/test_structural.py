"""Structural fixes with real edits: DC101 (merge a lone apt-get update), DC130 (manifests
first), DC120 (merge download, extract and delete), and how all fixes compose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decruft.audit.rule import Applicability
from decruft.dockerfile import parse
from decruft.fix import FixOptions, fix_file, fix_source


def fixed(source: str, code: str, context: Path | None = None, unsafe: bool = True):
    result = fix_source(source, options=FixOptions(select=[code], unsafe=unsafe, context=context))
    parse(result.fixed)  # always a valid Dockerfile
    again = fix_source(result.fixed, options=FixOptions(select=[code], unsafe=unsafe, context=context))
    assert again.fixed == result.fixed, "not idempotent"
    return result


def offered(source: str, code: str, context: Path | None = None):
    from tests.rules.helpers import findings

    [finding] = findings(source, code, context=context)
    return finding.fix


# ---------------------------------------------------------------------------------- DC101
DC101_CASES = [
    (
        "FROM debian\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl\n",
        "FROM debian\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
    ),
    (  # the user's own update command, other RUNs in between that do not read the lists
        "FROM debian\nRUN sudo apt-get -qq update\nRUN mkdir /x\nENV A=1\nRUN apt install -y curl\n",
        "FROM debian\nRUN mkdir /x\nENV A=1\nRUN sudo apt-get -qq update && apt install -y curl\n",
    ),
    (  # leading-&& style: the update goes right before the install command
        "FROM debian\nRUN apt-get update\nRUN set -eux \\\n    && DEBIAN_FRONTEND=noninteractive apt-get install -y \\\n       curl\n",
        "FROM debian\nRUN set -eux \\\n    && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \\\n       curl\n",
    ),
    (  # heredoc body: its own line (so `set -e` stops on a failed update)
        "FROM debian\nRUN apt-get update\nRUN <<EOF\nset -e\n  apt-get install -y curl\nEOF\n",
        "FROM debian\nRUN <<EOF\nset -e\n  apt-get update\n  apt-get install -y curl\nEOF\n",
    ),
    (  # CRLF and a continuation in the install
        "FROM debian\r\nRUN apt-get update\r\nRUN apt-get install -y \\\r\n  x\r\n",
        "FROM debian\r\nRUN apt-get update && apt-get install -y \\\r\n  x\r\n",
    ),
    (  # same cache mounts on both RUNs
        "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get update\n"
        "RUN --mount=type=cache,target=/var/cache/apt apt-get install -y x\n",
        "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y x\n",
    ),
]

DC101_NOT_OFFERED = [
    ("FROM debian\nRUN apt-get update\nUSER app\nRUN apt-get install -y curl\n", "USER"),
    ("FROM debian\nRUN apt-get update\nRUN apt-cache policy curl\nRUN apt-get install -y curl\n", "package lists"),
    ("FROM debian\nRUN apt-get update && echo ok\nRUN apt-get install -y curl\n", "does more"),
    ("FROM debian\nRUN apt-get update\nRUN test -f x || apt-get install -y curl\n", "plain step"),
    ("FROM debian\nRUN apt-get update\nRUN if true; then apt-get install -y curl; fi\n", "compound"),
    ("FROM debian\nRUN --network=host apt-get update\nRUN apt-get install -y curl\n", "flags"),
]


@pytest.mark.parametrize("source,expected", DC101_CASES)
def test_dc101_merges_the_update_into_the_install(source, expected):
    result = fixed(source, "DC101", unsafe=False)
    assert result.fixed == expected
    assert [a.applicability for a in result.applied] == [Applicability.SAFE]


@pytest.mark.parametrize("source,reason", DC101_NOT_OFFERED)
def test_dc101_not_offered(source, reason):
    fix = offered(source, "DC101")
    assert fix.edits == [] and reason in fix.description
    assert fixed(source, "DC101").fixed == source


# ---------------------------------------------------------------------------------- DC130
def context(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


PIP = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt\nCMD [\"python\", \"app.py\"]\n"


def test_dc130_pip_requirements_is_safe_with_a_known_context(tmp_path):
    ctx = context(tmp_path, {"requirements.txt": "flask==3.0.0\n", "app.py": ""})
    result = fixed(PIP, "DC130", ctx, unsafe=False)
    assert result.fixed == (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt ./\n"
        "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD [\"python\", \"app.py\"]\n"
    )
    assert result.applied[0].applicability is Applicability.SAFE


def test_dc130_follows_requirement_includes(tmp_path):
    ctx = context(tmp_path, {
        "requirements/prod.txt": "-r base.txt\n-c constraints.txt\ngunicorn\n",
        "requirements/base.txt": "flask  # web\n--index-url https://pypi.org/simple\n",
        "requirements/constraints.txt": "flask<4\n",
    })
    source = "FROM python:3.11-slim\nWORKDIR /srv\nCOPY --chown=app:app . /srv\nRUN pip install -r /srv/requirements/prod.txt\n"
    result = fixed(source, "DC130", ctx, unsafe=False)
    assert (
        "COPY --chown=app:app requirements/prod.txt requirements/base.txt requirements/constraints.txt "
        "/srv/requirements/\nRUN pip install -r /srv/requirements/prod.txt\nCOPY --chown=app:app . /srv\n"
    ) in result.fixed


@pytest.mark.parametrize("requirements,reason", [
    ("-e .\n", "local files"),
    ("./libs/thing\n", "local files"),
    ("thing @ file:///src/thing\n", "local files"),
    ("--find-links ./wheels\nthing\n", "local files"),
    ("-r ../outside.txt\n", "outside the context"),
])
def test_dc130_requirements_that_need_sources_are_not_split(tmp_path, requirements, reason):
    ctx = context(tmp_path, {"requirements.txt": requirements})
    fix = offered(PIP, "DC130", ctx)
    assert fix.edits == [] and reason in fix.description


def test_dc130_pip_install_dot_is_not_split(tmp_path):
    ctx = context(tmp_path, {"pyproject.toml": "[project]\nname='x'\n"})
    fix = offered("FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -e .\n", "DC130", ctx)
    assert fix.edits == [] and "needs the sources" in fix.description


def test_dc130_missing_manifest_in_a_known_context_is_not_split(tmp_path):
    fix = offered(PIP, "DC130", tmp_path)
    assert fix.edits == [] and "requirements.txt is not in the build context" in fix.description


def test_dc130_manifest_excluded_by_dockerignore_is_not_split(tmp_path):
    ctx = context(tmp_path, {"requirements.txt": "flask\n", ".dockerignore": "*.txt\n"})
    fix = offered(PIP, "DC130", ctx)
    assert fix.edits == [] and "excluded by .dockerignore" in fix.description


def test_dc130_without_context_is_unsafe_and_uses_lock_patterns():
    source = "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    fix = offered(source, "DC130")
    assert fix.applicability is Applicability.UNSAFE and "context is unknown" in fix.description
    result = fixed(source, "DC130")
    assert "COPY package.json package-lock.json* ./\nRUN npm ci\nCOPY . .\n" in result.fixed
    assert fixed(source, "DC130", unsafe=False).fixed == source


NPM = "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD [\"node\", \"server.js\"]\n"


def test_dc130_npm_ci_copies_the_manifests_that_exist(tmp_path):
    ctx = context(tmp_path, {"package.json": json.dumps({"name": "x"}), "package-lock.json": "{}", ".npmrc": ""})
    result = fixed(NPM, "DC130", ctx, unsafe=False)
    assert "COPY package.json package-lock.json .npmrc ./\nRUN npm ci --omit=dev\nCOPY . .\n" in result.fixed


def test_dc130_npm_install_and_lifecycle_scripts_are_unsafe(tmp_path):
    ctx = context(tmp_path, {"package.json": json.dumps({"scripts": {"postinstall": "node x.js"}})})
    fix = offered(NPM, "DC130", ctx)
    assert fix.applicability is Applicability.UNSAFE and "postinstall" in fix.description
    ctx2 = context(tmp_path / "b", {"package.json": "{}", "yarn.lock": ""})
    fix = offered(NPM.replace("npm ci --omit=dev", "yarn install"), "DC130", ctx2)
    assert fix.applicability is Applicability.UNSAFE and "rewrite the lockfile" in fix.description
    assert "yarn.lock" in fix.description


@pytest.mark.parametrize("package,reason", [
    ({"workspaces": ["packages/*"]}, "workspaces"),
    ({"dependencies": {"lib": "file:../lib"}}, "local dependency"),
])
def test_dc130_node_projects_that_need_sources_are_not_split(tmp_path, package, reason):
    ctx = context(tmp_path, {"package.json": json.dumps(package)})
    fix = offered(NPM, "DC130", ctx)
    assert fix.edits == [] and reason in fix.description


def test_dc130_node_modules_in_the_context_blocks_unless_ignored(tmp_path):
    ctx = context(tmp_path, {"package.json": "{}", "package-lock.json": "{}", "node_modules/x/index.js": ""})
    assert "node_modules" in offered(NPM, "DC130", ctx).description
    (tmp_path / ".dockerignore").write_text("node_modules\n")
    assert offered(NPM, "DC130", ctx).applicability is Applicability.SAFE


def test_dc130_poetry_keeps_the_project_install(tmp_path):
    ctx = context(tmp_path, {"pyproject.toml": "[tool.poetry]\nname='x'\n", "poetry.lock": ""})
    source = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN poetry install --only main\n"
    result = fixed(source, "DC130", ctx)
    assert result.fixed == (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\n"
        "RUN poetry install --no-root --only main\nCOPY . .\nRUN poetry install --only main\n"
    )
    assert result.applied[0].applicability is Applicability.UNSAFE


def test_dc130_uv_sync_gets_no_install_project(tmp_path):
    ctx = context(tmp_path, {"pyproject.toml": "[project]\nname='x'\n", "uv.lock": ""})
    source = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen\n"
    result = fixed(source, "DC130", ctx)
    assert "COPY pyproject.toml uv.lock ./\nRUN uv sync --no-install-project --frozen\nCOPY . .\nRUN uv sync --frozen\n" in result.fixed


def test_dc130_path_dependencies_are_not_split(tmp_path):
    ctx = context(tmp_path, {"pyproject.toml": "[tool.poetry.dependencies]\nlib = { path = \"../lib\" }\n"})
    fix = offered("FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN poetry install\n", "DC130", ctx)
    assert fix.edits == [] and "path dependency" in fix.description


def test_dc130_go_mod_download_moves_and_go_build_gets_a_prefetch(tmp_path):
    ctx = context(tmp_path, {"go.mod": "module x\n", "go.sum": ""})
    source = "FROM golang:1.19\nWORKDIR /src\nCOPY . .\nRUN go mod download\n"
    assert "COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n" in fixed(source, "DC130", ctx, unsafe=False).fixed
    build = "FROM golang:1.19\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
    result = fixed(build, "DC130", ctx)
    assert "COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -o /app .\n" in result.fixed
    (tmp_path / "go.mod").write_text("module x\nreplace y => ./y\n")
    assert "local directory" in offered(source, "DC130", ctx).description


def test_dc130_installs_that_read_nothing_move_up(tmp_path):
    source = "FROM debian:bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
    result = fixed(source, "DC130", tmp_path, unsafe=False)
    assert result.fixed == (
        "FROM debian:bookworm-slim\nWORKDIR /app\n"
        "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\nCOPY . .\n"
    )


@pytest.mark.parametrize("source,reason", [
    ("FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nENV PIP_INDEX_URL=x\nRUN pip install -r requirements.txt\n", "ENV on line 4"),
    ("FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt && python manage.py collectstatic\n", "may need the sources"),
    ("FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt > log.txt\n", "writes a file"),
    ("FROM python:3.11-slim\nWORKDIR /app\nCOPY . ./src\nRUN pip install -r requirements.txt\n", "not under the COPY destination"),
    ("FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN apt-get install -y ./local.deb\n", "local files"),
])
def test_dc130_not_offered(tmp_path, source, reason):
    ctx = context(tmp_path, {"requirements.txt": "flask\n"})
    fix = offered(source, "DC130", ctx)
    assert fix.edits == [] and reason in fix.description, fix.description


def test_dc130_neutral_instructions_between_are_fine_and_crlf_is_kept(tmp_path):
    ctx = context(tmp_path, {"requirements.txt": "flask\n"})
    source = "FROM python:3.11-slim\r\nWORKDIR /app\r\n  COPY . .\r\nEXPOSE 8000\r\nRUN pip install -r requirements.txt"
    result = fixed(source, "DC130", ctx, unsafe=False)
    assert result.fixed == (
        "FROM python:3.11-slim\r\nWORKDIR /app\r\n  COPY requirements.txt ./\r\n"
        "RUN pip install -r requirements.txt\r\n  COPY . .\r\nEXPOSE 8000"
    )


def test_dc130_does_not_copy_a_manifest_twice(tmp_path):
    ctx = context(tmp_path, {"requirements.txt": "flask\n"})
    source = "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nCOPY . .\nRUN pip install -r requirements.txt\n"
    result = fixed(source, "DC130", ctx, unsafe=False)
    assert result.fixed == (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN pip install -r requirements.txt\nCOPY . .\n"
    )


def test_dc130_two_installs_are_split_over_two_rounds(tmp_path):
    ctx = context(tmp_path, {"requirements.txt": "flask\n", "package.json": "{}", "package-lock.json": "{}"})
    source = "FROM nikolaik/python-nodejs\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nRUN npm ci\n"
    result = fixed(source, "DC130", ctx, unsafe=False)
    assert result.fixed == (
        "FROM nikolaik/python-nodejs\nWORKDIR /app\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt\n"
        "COPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n"
    )


# ---------------------------------------------------------------------------------- DC120
DOWNLOAD = (
    "FROM debian:bookworm-slim\n"
    "RUN curl -fsSLo /tmp/node.tar.xz https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz\n"
    "RUN tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1\n"
    "RUN rm /tmp/node.tar.xz\n"
)


def test_dc120_merges_download_extract_and_delete():
    result = fixed(DOWNLOAD, "DC120")
    assert result.fixed == (
        "FROM debian:bookworm-slim\n"
        "RUN curl -fsSLo /tmp/node.tar.xz https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz \\\n"
        "    && tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1 \\\n"
        "    && rm /tmp/node.tar.xz\n"
    )
    assert result.applied[0].applicability is Applicability.UNSAFE
    assert fixed(DOWNLOAD, "DC120", unsafe=False).fixed == DOWNLOAD


def test_dc120_wraps_bodies_that_change_shell_state_or_chain_with_semicolons():
    source = (
        "FROM debian\nRUN cd /tmp && wget https://e.com/y.tgz\nLABEL a=b\n"
        "RUN tar xzf /tmp/y.tgz -C /opt/y; echo done\nRUN rm /tmp/y.tgz && echo ok\n"
    )
    assert fixed(source, "DC120").fixed == (
        "FROM debian\nRUN ( cd /tmp && wget https://e.com/y.tgz ) \\\n"
        "    && ( tar xzf /tmp/y.tgz -C /opt/y; echo done ) \\\n    && rm /tmp/y.tgz && echo ok\nLABEL a=b\n"
    )


@pytest.mark.parametrize("between,reason", [
    ("ENV A=1\n", "ENV on line 3"),
    ("WORKDIR /x\n", "WORKDIR on line 3"),
])
def test_dc120_not_merged_across_other_instructions(between, reason):
    source = f"FROM debian\nRUN wget -O /tmp/y.tgz https://e.com/y.tgz\n{between}RUN rm /tmp/y.tgz\n"
    fix = offered(source, "DC120")
    assert fix.edits == [] and reason in fix.description


def test_dc120_not_merged_with_different_flags_or_heredocs():
    flags = "FROM debian\nRUN --network=host wget -O /tmp/y.tgz https://e.com/y.tgz\nRUN rm /tmp/y.tgz\n"
    assert "different --mount" in offered(flags, "DC120").description
    heredoc = "FROM debian\nRUN <<EOF\nwget -O /tmp/y.tgz https://e.com/y.tgz\nEOF\nRUN rm /tmp/y.tgz\n"
    assert "not a plain shell line" in offered(heredoc, "DC120").description


def test_dc120_copied_files_keep_the_advice():
    source = "FROM debian\nCOPY big.tar /tmp/\nRUN tar xf /tmp/big.tar -C /opt && true\nRUN rm /tmp/big.tar\n"
    fix = offered(source, "DC120")
    assert fix.edits == [] and fix.applicability is Applicability.DISPLAY


# ---------------------------------------------------------------------------------- composition
EVERYTHING = """\
FROM alpine:3.19 AS tools
RUN apk add curl
RUN apk update && apk add git

FROM python:3.11
WORKDIR /app
COPY --from=tools /usr/bin/curl /usr/local/bin/curl
RUN apt-get update
RUN apt-get install -y curl \\
    && echo done
RUN groupadd -r app
RUN useradd -r -g app app
RUN curl -fsSLo /tmp/node.tar.xz https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz
RUN tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1
RUN rm /tmp/node.tar.xz
COPY . .
RUN pip install -r requirements.txt
RUN npm ci
COPY static /srv/static
RUN chown -R app:app /srv/static
USER app
CMD ["python", "app.py"]
"""


def test_all_fixes_compose_and_a_second_run_changes_nothing(tmp_path):
    context(tmp_path, {"requirements.txt": "flask\n", "package.json": "{}", "package-lock.json": "{}",
                       "static/a.css": "", "app.py": ""})
    path = tmp_path / "Dockerfile"
    path.write_text(EVERYTHING)
    first = fix_file(path, FixOptions(unsafe=True))
    text = path.read_text()
    parse(text)
    codes = {a.code for a in first.applied}
    assert {"DC101", "DC103", "DC120", "DC121", "DC122", "DC130", "DC131", "DC140"} <= codes, codes
    # DC131's cache mounts (unsafe here: no BuildKit syntax yet) supersede the no-cache flags
    # and cache removals of DC104/DC110/DC113 on the same RUN: never both
    assert not {"DC104", "DC110", "DC113"} & codes, codes
    assert "FROM python:3.11-slim" in text
    assert "target=/var/cache/apk" in text and "--no-cache " not in text
    assert "apt-get update && apt-get install --no-install-recommends -y curl" in text
    assert "groupadd -r app \\\n    && useradd -r -g app app" in text
    assert "&& rm /tmp/node.tar.xz" in text
    assert "COPY requirements.txt ./\n" in text and "COPY package.json package-lock.json ./\n" in text
    assert "target=/root/.cache/pip pip install -r requirements.txt" in text and "--no-cache-dir" not in text
    assert "target=/root/.npm npm ci" in text and "npm cache clean" not in text
    assert "COPY --chown=app:app static /srv/static" in text and "chown -R" not in text
    assert text.index("COPY requirements.txt") < text.index("COPY . .")
    second = fix_file(path, FixOptions(unsafe=True))
    assert not second.changed and path.read_text() == text
    # the same in memory: idempotent
    assert fix_source(text, options=FixOptions(unsafe=True, context=tmp_path)).fixed == text


def test_dc130_comments_above_the_moved_run_move_with_it(tmp_path):
    ctx = context(tmp_path, {"requirements.txt": "flask\n"})
    source = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n\n# deps\n# (pinned)\nRUN pip install -r requirements.txt\nCMD [\"x\"]\n"
    assert fixed(source, "DC130", ctx, unsafe=False).fixed == (
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt ./\n# deps\n# (pinned)\n"
        "RUN pip install -r requirements.txt\nCOPY . .\n\nCMD [\"x\"]\n"
    )
