import pytest

from tests.rules.helpers import findings, lines

CATCHES = [
    ("FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n", "requirements.txt"),
    ("FROM python:3.12-slim\nCOPY . /app\nRUN pip install --no-cache-dir /app\n", "pyproject.toml"),
    ("FROM python:3.12-slim\nCOPY ./ ./\nRUN python -m pip install -e .\n", "pyproject.toml"),
    ("FROM python:3.12-slim\nCOPY . .\nRUN poetry install --no-interaction\n", "poetry.lock"),
    ("FROM python:3.12-slim\nCOPY . .\nRUN uv sync --frozen\n", "uv.lock"),
    ("FROM python:3.12-slim\nCOPY . .\nRUN uv pip install --system -r requirements/prod.txt\n", "requirements/prod.txt"),
    ("FROM python:3.12-slim\nCOPY . .\nRUN pipenv install --deploy --system\n", "Pipfile.lock"),
    ("FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\n", "package-lock.json"),
    ("FROM node:20-slim\nADD . .\nRUN npm install\n", "package-lock.json"),
    ("FROM node:20-slim\nCOPY . .\nRUN yarn install --frozen-lockfile\n", "yarn.lock"),
    ("FROM node:20-slim\nCOPY . .\nRUN yarn\n", "yarn.lock"),
    ("FROM node:20-slim\nCOPY . .\nRUN pnpm install --frozen-lockfile\n", "pnpm-lock.yaml"),
    ("FROM golang:1.22\nCOPY . .\nRUN go mod download\n", "go.sum"),
    ("FROM golang:1.22\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/app ./cmd/app\n", "go mod download"),
    ("FROM ruby:3.3-slim\nCOPY . .\nRUN bundle install\n", "Gemfile.lock"),
    ("FROM php:8.3-cli\nCOPY . .\nRUN composer install --no-dev\n", "composer.lock"),
    ("FROM maven:3-eclipse-temurin-21\nCOPY . .\nRUN mvn -B package -DskipTests\n", "pom.xml"),
    ("FROM maven:3-eclipse-temurin-21\nCOPY . .\nRUN mvn dependency:go-offline\n", "pom.xml"),
    ("FROM gradle:8-jdk21\nCOPY . .\nRUN gradle build --no-daemon\n", "build.gradle"),
    ("FROM eclipse-temurin:21\nCOPY . .\nRUN ./gradlew bootJar\n", "settings.gradle"),
    ("FROM rust:1.77\nCOPY . .\nRUN cargo build --release\n", "Cargo.lock"),
    ("FROM rust:1.77\nCOPY . .\nRUN cargo fetch\n", "Cargo.toml"),
    ("FROM r-base:4.3.3\nCOPY . /pkg\nRUN Rscript -e 'remotes::install_deps(\"/pkg\")'\n", "DESCRIPTION"),
    ("FROM r-base:4.3.3\nCOPY . /pkg\nRUN R CMD INSTALL /pkg\n", "DESCRIPTION"),
    ("FROM rocker/r-ver:4.3.3\nCOPY . .\nRUN Rscript -e 'renv::restore()'\n", "renv.lock"),
    ("FROM mcr.microsoft.com/dotnet/sdk:8.0\nCOPY . .\nRUN dotnet restore\n", "csproj"),
    # installs that do not read the sources: move them up
    ("FROM debian\nCOPY . /app\nRUN apt-get update && apt-get install -y curl\n", "move it above"),
    ("FROM python:3.12-slim\nCOPY . .\nRUN pip install gunicorn\n", "move it above"),
    ("FROM r-base\nCOPY . .\nRUN Rscript -e 'install.packages(\"shiny\")'\n", "move it above"),
    # heredoc, continuation lines, JSON-form COPY
    ("FROM python:3.12-slim\nCOPY . .\nRUN <<EOF\nset -e\npip install -r requirements.txt\nEOF\n", "requirements"),
    ("FROM python:3.12-slim\nCOPY . .\nRUN pip install \\\n    --no-cache-dir \\\n    -r requirements.txt\n", "requirements"),
    ('FROM node:20-slim\nCOPY [".", "."]\nRUN npm ci\n', "package.json"),
    # a narrow COPY of the manifest exists, but the install comes after the broad one
    (
        "FROM python:3.12-slim\nCOPY requirements.txt .\nCOPY . .\nRUN pip install -r requirements.txt\n",
        "already copied on line 2",
    ),
]
ACCEPTS = [
    # manifest first
    "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n",
    "FROM node:20-slim\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n",
    # manifest first, then the project itself
    "FROM python:3.12-slim\nCOPY pyproject.toml poetry.lock ./\nRUN poetry install --no-root\nCOPY . .\nRUN poetry install\n",
    "FROM golang:1.22\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -o /app\n",
    "FROM rust:1.77\nCOPY Cargo.toml Cargo.lock ./\nRUN mkdir src && echo 'fn main(){}' > src/main.rs && cargo build --release\n"
    "COPY . .\nRUN cargo build --release\n",
    # compile steps with their dependency cache mounted
    "FROM golang:1.22\nCOPY . .\nRUN --mount=type=cache,target=/go/pkg/mod go build -o /app\n",
    "FROM rust:1.77\nCOPY . .\nRUN --mount=type=cache,target=/usr/local/cargo/registry cargo build --release\n",
    # build steps that are not installs
    "FROM node:20-slim\nCOPY . .\nRUN npm run build\n",
    # narrow copies only
    "FROM python:3.12-slim\nCOPY src/ /app/src/\nRUN pip install -r requirements.txt\n",
    # COPY --from is not the build context
    "FROM python:3.12 AS b\nFROM python:3.12-slim\nCOPY --from=b / /\nRUN pip install gunicorn\n",
    # the install is in another stage
    "FROM python:3.12-slim AS a\nCOPY . .\nFROM python:3.12-slim\nRUN pip install -r requirements.txt\n",
    # ONBUILD triggers run in a child build
    "FROM python:3.12-slim\nONBUILD COPY . .\nONBUILD RUN pip install -r requirements.txt\n",
    # a stage the target does not build
    "FROM node:20 AS old\nCOPY . .\nRUN npm ci\nFROM node:20-slim\nRUN true\n",
]


@pytest.mark.parametrize("source,needle", CATCHES)
def test_catches(source, needle):
    [finding] = findings(source, "DC130")
    assert finding.message.count("COPY") + finding.message.count("ADD") >= 1
    assert needle in finding.message, finding.message
    assert finding.stake.rebuild == "re-runs on every code change"


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC130") == []


def test_reported_on_the_copy_with_install_line():
    source = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nRUN pip install gunicorn\n"
    [finding] = findings(source, "DC130")
    assert finding.line == 3
    assert "line 4" in finding.message and "1 more install step" in finding.message
    # no build context known: the split is offered, but only as unsafe
    assert finding.fix.applicability.value == "unsafe" and finding.fix.edits
    assert "context is unknown" in finding.fix.description


def test_cache_mounted_install_is_info():
    source = "FROM python:3.12-slim\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"
    [finding] = findings(source, "DC130")
    assert finding.severity.value == "info"


def test_names_the_manifests_that_exist(tmp_path):
    (tmp_path / "package.json").write_text("{}")
    (tmp_path / "yarn.lock").write_text("")
    source = "FROM node:20-slim\nCOPY . .\nRUN yarn install\n"
    [finding] = findings(source, "DC130", context=tmp_path)
    assert "copy package.json and yarn.lock first" in finding.message
    assert ".yarnrc.yml" not in finding.message


def test_names_requirements_that_exist(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    source = "FROM python:3.12-slim\nCOPY . .\nRUN pip install .\n"
    [finding] = findings(source, "DC130", context=tmp_path)
    assert "copy pyproject.toml first" in finding.message
    assert "setup.py" not in finding.message


def test_two_broad_copies_report_the_nearest():
    source = "FROM node:20-slim\nCOPY . .\nRUN echo\nCOPY . .\nRUN npm ci\n"
    assert lines(source, "DC130") == [4]


def test_target_selection():
    source = "FROM node:20 AS dev\nCOPY . .\nRUN npm ci\nFROM node:20-slim AS prod\nRUN true\n"
    assert lines(source, "DC130") == []
    assert lines(source, "DC130", target="dev") == [2]


def test_builder_stage_is_full_severity_for_build_time():
    # the build stage is copied from: its bytes do not ship, its build time still counts
    source = "FROM node:20 AS build\nCOPY . .\nRUN npm ci && npm run build\nFROM nginx\nCOPY --from=build /dist /usr/share/nginx/html\n"
    [finding] = findings(source, "DC130")
    assert finding.stage == "build" and finding.severity.value == "warning"
