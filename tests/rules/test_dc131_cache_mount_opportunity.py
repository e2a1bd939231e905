import pytest

from decruft.audit.context import data_table
from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

CATCHES = [
    ("FROM debian\nRUN apt-get update && apt-get install -y curl\n", ["target=/var/cache/apt,sharing=locked", "target=/var/lib/apt/lists,sharing=locked"]),
    ("FROM alpine\nRUN apk add curl\n", ["target=/var/cache/apk,sharing=locked"]),
    ("FROM fedora\nRUN dnf install -y x && dnf clean all\n", ["target=/var/cache/dnf,sharing=locked"]),
    ("FROM centos:7\nRUN yum install -y x\n", ["target=/var/cache/yum"]),
    ("FROM opensuse/leap\nRUN zypper -n in x\n", ["target=/var/cache/zypp"]),
    ("FROM python\nRUN pip install -r r.txt\n", ["target=/root/.cache/pip"]),
    ("FROM python\nRUN python3 -m pip install -r r.txt\n", ["target=/root/.cache/pip"]),
    ("FROM python\nRUN uv sync --frozen\n", ["target=/root/.cache/uv"]),
    ("FROM python\nRUN poetry install\n", ["target=/root/.cache/pypoetry"]),
    ("FROM python\nRUN pipenv install --system\n", ["target=/root/.cache/pipenv"]),
    ("FROM continuumio/miniconda3\nRUN conda install -y x\n", ["target=/opt/conda/pkgs"]),
    ("FROM node\nRUN npm ci\n", ["target=/root/.npm"]),
    ("FROM node\nRUN yarn install\n", ["target=/usr/local/share/.cache/yarn"]),
    ("FROM node\nRUN pnpm install\n", ["target=/root/.local/share/pnpm/store"]),
    ("FROM node\nENV PNPM_HOME=/pnpm\nRUN pnpm install\n", ["target=/pnpm/store"]),
    ("FROM golang\nRUN go build -o /app .\n", ["target=/root/.cache/go-build", "target=/go/pkg/mod"]),
    ("FROM golang\nRUN go mod download\n", ["target=/go/pkg/mod"]),
    ("FROM rust\nRUN cargo build --release\n", ["target=/usr/local/cargo/registry", "target=/usr/local/cargo/git"]),
    ("FROM maven\nRUN mvn -B package\n", ["target=/root/.m2/repository"]),
    ("FROM eclipse-temurin\nRUN ./gradlew build\n", ["target=/root/.gradle/caches", "target=/root/.gradle/wrapper"]),
    ("FROM ruby:3.3\nRUN bundle install\n", ["target=/usr/local/bundle/cache"]),
    ("FROM ruby:3.3\nRUN gem install rails\n", ["target=/usr/local/bundle/cache"]),
    ("FROM composer\nRUN composer install --no-dev\n", ["target=/tmp/cache"]),
    ("FROM php\nRUN composer install\n", ["target=/root/.composer/cache"]),
    ("FROM python\nENV PIP_CACHE_DIR=/pc\nRUN pip install x\n", ["target=/pc"]),
    ("FROM python\nUSER app\nENV HOME=/home/app\nRUN pip install x\n", ["target=/home/app/.cache/pip"]),
    # a mount for one of the caches: only the other is suggested
    ("FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get update && apt-get install -y x\n", ["target=/var/lib/apt/lists"]),
    # builder stages are where cache mounts matter most
    ("FROM golang AS b\nRUN go build -o /app .\nFROM scratch\nCOPY --from=b /app /app\n", ["target=/go/pkg/mod"]),
    ("FROM python\nRUN sudo pip install x\n", ["target=/root/.cache/pip"]),
    ("FROM python\nRUN <<EOF\npip install x\nEOF\n", ["target=/root/.cache/pip"]),
    ("FROM python\nRUN apt-get update \\\n && apt-get install -y gcc \\\n && pip install x\n", ["/var/cache/apt", "/root/.cache/pip"]),
]
ACCEPTS = [
    "FROM python\nRUN --mount=type=cache,target=/root/.cache/pip pip install x\n",
    "FROM python\nRUN --mount=type=cache,target=/root/.cache pip install x\n",
    "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt --mount=type=cache,target=/var/lib/apt apt-get install -y x\n",
    "FROM golang\nRUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod go build .\n",
    # the cache is switched off on purpose by the environment
    "FROM python\nENV PIP_NO_CACHE_DIR=1\nRUN pip install x\n",
    "FROM python\nRUN UV_NO_CACHE=1 uv sync\n",
    "FROM python\nARG PIP_NO_CACHE_DIR=1\nRUN pip install x\n",
    # non-root user without a known HOME: the home-directory target is unknowable
    "FROM python\nUSER app\nRUN pip install x\n",
    # grouped short flag that cannot be dropped cleanly
    "FROM python\nRUN uv sync -qn\n",
    # nothing a cache helps
    "FROM debian\nRUN apt-get remove -y x\n",
    "FROM node\nRUN npm run build\n",
    "FROM golang\nRUN go version\n",
    "FROM debian\nRUN gem install x\n",  # GEM_HOME unknown outside the ruby images
    'FROM python\nRUN ["pip", "install", "x"]\n',
    "FROM python AS unused\nRUN pip install x\nFROM python\nRUN true\n",
]


@pytest.mark.parametrize("source,mounts", CATCHES)
def test_catches(source, mounts):
    [finding] = findings(source, "DC131")
    assert finding.severity.value == "info"
    for mount in mounts:
        assert mount in finding.message
    run = source[finding.span.start : finding.span.end]
    assert run.startswith("RUN")


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC131") == []


def test_fix_is_unsafe_without_buildkit_features_and_safe_with_them():
    classic = "FROM python\nRUN pip install x\n"
    [finding] = findings(classic, "DC131")
    assert finding.fix.applicability.value == "unsafe"
    assert any("BuildKit" in note for note in finding.notes)
    buildkit = "# syntax=docker/dockerfile:1\nFROM python\nRUN pip install x\n"
    [finding] = findings(buildkit, "DC131")
    assert finding.fix.applicability.value == "safe"
    assert apply(buildkit, finding.fix).endswith("RUN --mount=type=cache,target=/root/.cache/pip pip install x\n")


def test_fix_drops_no_cache_dir_and_keeps_other_flags():
    source = "FROM python\nRUN --network=host pip install --no-cache-dir -r r.txt\n"
    [finding] = findings(source, "DC131")
    fixed = apply(source, finding.fix)
    assert fixed == "FROM python\nRUN --mount=type=cache,target=/root/.cache/pip --network=host pip install -r r.txt\n"
    # the cache stays out of the image: DC110 is satisfied by the mount
    assert findings(fixed, "DC110") == [] and findings(fixed, "DC131") == []


def test_fix_turns_apk_no_cache_into_update_cache():
    source = "FROM alpine\nRUN apk add --no-cache curl\n"
    [finding] = findings(source, "DC131")
    fixed = apply(source, finding.fix)
    assert fixed == "FROM alpine\nRUN --mount=type=cache,target=/var/cache/apk,sharing=locked apk add --update-cache curl\n"
    assert findings(fixed, "DC104") == []


def test_apt_notes_docker_clean_and_the_removal():
    source = "FROM debian\nRUN apt-get update && apt-get install -y x && rm -rf /var/lib/apt/lists/*\n"
    [finding] = findings(source, "DC131")
    assert any("docker-clean" in note for note in finding.notes)
    assert any("deletes /var/lib/apt/lists" in note for note in finding.notes)
    fixed = apply(source, finding.fix)
    assert findings(fixed, "DC102") == []


def test_apt_docker_clean_note_dropped_when_handled():
    source = (
        "FROM debian\nRUN rm -f /etc/apt/apt.conf.d/docker-clean\n"
        "RUN apt-get update && apt-get install -y x\n"
    )
    [finding] = findings(source, "DC131")
    assert not any("docker-clean" in note for note in finding.notes)


def test_cleanup_command_is_pointed_out():
    [finding] = findings("FROM node\nRUN npm ci && npm cache clean --force\n", "DC131")
    assert any("npm cache clean --force" in note for note in finding.notes)


def test_heredoc_fix_inserts_after_run():
    source = "# syntax=docker/dockerfile:1\nFROM node\nRUN <<EOF\nnpm ci\nEOF\n"
    [finding] = findings(source, "DC131")
    assert apply(source, finding.fix).endswith("RUN --mount=type=cache,target=/root/.npm <<EOF\nnpm ci\nEOF\n")


def test_table_is_well_formed():
    tools = data_table("cache_mounts.toml")["tools"]
    expected = {"apt", "apk", "dnf", "yum", "microdnf", "tdnf", "zypper", "pip", "uv", "poetry", "pipenv",
                "conda", "npm", "yarn", "pnpm", "go", "cargo", "maven", "gradle", "gem", "bundle", "composer"}
    assert set(tools) == expected
    for name, entry in tools.items():
        assert entry["verbs"], name
        assert isinstance(entry["note"], str)
        for mount in entry["mounts"]:
            assert mount["target"], name
            assert mount.get("sharing", "shared") in ("shared", "private", "locked")


def test_apt_lists_mount_only_when_the_run_updates_and_installs():
    # a mount would hide the lists the update layer left for this install
    source = "FROM debian\nRUN apt-get update\nRUN apt-get install -y x\n"
    update, install = findings(source, "DC131")
    for finding in (update, install):
        assert "/var/cache/apt" in finding.message
        assert "/var/lib/apt/lists" not in finding.message


def test_docker_clean_note_is_given_once_per_file():
    source = "FROM debian\nRUN apt-get update && apt-get install -y a\nRUN apt-get update && apt-get install -y b\n"
    first, second = findings(source, "DC131")
    assert any("docker-clean" in note for note in first.notes)
    assert not any("docker-clean" in note for note in second.notes)


@pytest.mark.parametrize(
    "run,expected",
    [
        ("apk add curl", "apk add --update-cache curl"),
        ("apk update && apk add curl", "apk update && apk add curl"),
        ("apk add -U curl", "apk add -U curl"),
        ("apk --no-cache add curl", "apk --update-cache add curl"),
    ],
)
def test_apk_fetches_a_fresh_index_into_the_mount(run, expected):
    source = f"# syntax=docker/dockerfile:1\nFROM alpine\nRUN {run}\n"
    [finding] = findings(source, "DC131")
    fixed = apply(source, finding.fix)
    assert fixed.endswith(f"RUN --mount=type=cache,target=/var/cache/apk,sharing=locked {expected}\n")
    assert findings(fixed, "DC104") == []


def test_no_lists_mount_when_a_later_run_reads_the_lists():
    source = (
        "# syntax=docker/dockerfile:1\nFROM debian\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl\n"
        "RUN apt-get download hello\n"
    )
    [finding] = [f for f in findings(source, "DC131") if f.line == 3]
    assert "/var/lib/apt/lists" not in finding.fix.description
