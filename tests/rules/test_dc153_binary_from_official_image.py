import pytest

from tests.rules.helpers import apply_fix, findings, lines

UV = "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/"

REWRITES = [
    # the whole RUN
    ("FROM python:3.11\nRUN pip install uv==0.13.9\nRUN uv sync\n", f"FROM python:3.11\n{UV}\nRUN uv sync\n"),
    ("FROM python:3.11\nRUN python3 -m pip install --no-cache-dir 'uv==0.13.9'\n", f"FROM python:3.11\n{UV}\n"),
    ("FROM python:3.11\nRUN pip install uv\n", "FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:latest /uv /uvx /bin/\n"),
    ("FROM python:3.11\n  RUN pip install uv==0.13.9\n", f"FROM python:3.11\n  {UV}\n"),
    # one operand of an install that installs more
    ("FROM python:3.11\nRUN pip install uv==0.13.9 poetry\n", f"FROM python:3.11\n{UV}\nRUN pip install poetry\n"),
    ("FROM python:3.11\nRUN pip install -r req.txt uv==0.13.9\n", f"FROM python:3.11\n{UV}\nRUN pip install -r req.txt\n"),
    # cut out of an && chain: first, middle, last; both continuation styles
    ("FROM python:3.11\nRUN pip install uv==0.13.9 && uv --version\n", f"FROM python:3.11\n{UV}\nRUN uv --version\n"),
    (
        "FROM python:3.11\nRUN apt-get update \\\n && pip install uv==0.13.9 \\\n && uv --version\n",
        f"FROM python:3.11\n{UV}\nRUN apt-get update \\\n && uv --version\n",
    ),
    (
        "FROM python:3.11\nRUN apt-get update && \\\n    pip install uv==0.13.9\n",
        f"FROM python:3.11\n{UV}\nRUN apt-get update\n",
    ),
    # the installer script: copied to where it installs (the PATH the Dockerfile set still works)
    (
        "FROM python:3.11\nRUN curl -LsSf https://astral.sh/uv/0.13.9/install.sh | sh\nENV PATH=/root/.local/bin:$PATH\n",
        "FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /root/.local/bin/\nENV PATH=/root/.local/bin:$PATH\n",
    ),
    (
        "FROM python:3.11\nRUN curl -LsSf https://astral.sh/uv/install.sh | env UV_INSTALL_DIR=/usr/local/bin sh && uv sync\n",
        "FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:latest /uv /uvx /usr/local/bin/\nRUN uv sync\n",
    ),
    # composer's installer, version from --version
    (
        "FROM php:8.3-cli\nRUN curl -sS https://getcomposer.org/installer | php -- --install-dir=/usr/local/bin "
        "--filename=composer --version=2.7.1\n",
        "FROM php:8.3-cli\nCOPY --from=composer:2.7.1 /usr/bin/composer /usr/local/bin/composer\n",
    ),
    (
        "FROM php:8.3-cli\nRUN php -r \"copy('https://getcomposer.org/installer', 'composer-setup.php');\" \\\n"
        " && php composer-setup.php --install-dir=/usr/bin --filename=composer \\\n"
        " && php -r \"unlink('composer-setup.php');\" \\\n && composer --version\n",
        "FROM php:8.3-cli\nCOPY --from=composer:latest /usr/bin/composer /usr/bin/composer\nRUN composer --version\n",
    ),
    # apt: the RUN does nothing but the install and its housekeeping
    (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends "
        "docker-ce-cli=5:27.5.1-1~debian.12~bookworm && rm -rf /var/lib/apt/lists/*\n",
        "FROM debian:bookworm\nCOPY --from=docker:27.5.1-cli /usr/local/bin/docker /usr/local/bin/\n",
    ),
    (
        "FROM debian:bookworm\nRUN apt-get update \\\n && apt-get install -y gosu \\\n && apt-get clean \\\n"
        " && rm -fr /var/lib/apt/lists/*\n",
        "FROM debian:bookworm\nCOPY --from=tianon/gosu /gosu /usr/local/bin/\n",
    ),
    (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y gosu curl\n",
        "FROM debian:bookworm\nCOPY --from=tianon/gosu /gosu /usr/local/bin/\nRUN apt-get update && apt-get install -y curl\n",
    ),
    # a builder stage: still fixed (it re-runs there too), reported as info
    (
        "FROM python:3.11 AS build\nRUN pip install uv==0.13.9\nRUN uv sync\nFROM python:3.11-slim\n"
        "COPY --from=build /app /app\n",
        f"FROM python:3.11 AS build\n{UV}\nRUN uv sync\nFROM python:3.11-slim\nCOPY --from=build /app /app\n",
    ),
]

CATCHES_WITHOUT_EDIT = [
    # the pip package is needed as a module later
    ("FROM python:3.11\nRUN pip install uv==0.13.9\nRUN python -m uv sync\n", "python -m uv"),
    # the installer's env file is sourced later
    ("FROM python:3.11\nRUN curl -LsSf https://astral.sh/uv/install.sh | sh\nRUN . /root/.local/bin/env && uv sync\n",
     ".local/bin/env"),
    # the installer's home is unknown for another user
    ("FROM python:3.11\nUSER app\nRUN curl -LsSf https://astral.sh/uv/install.sh | sh\n", "home of USER app"),
    # pip puts the files elsewhere
    ("FROM python:3.11\nRUN pip install --target /opt/tools uv\n", "--target"),
    # the destination would not be on PATH
    ("FROM python:3.11\nENV PATH=/opt/venv/bin\nRUN pip install uv\n", "not on the PATH"),
    # not a plain && step
    ("FROM python:3.11\nRUN pip install uv || true\n", "not a plain"),
    ("FROM python:3.11\nRUN if true; then pip install uv; fi && echo x\n", "not a plain"),
    # composer without a destination writes composer.phar to the working directory
    ("FROM php:8.3-cli\nRUN curl -sS https://getcomposer.org/installer | php\n", "--install-dir"),
]

ACCEPTS = [
    "FROM python:3.11\nCOPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/\nRUN uv sync\n",
    "FROM python:3.11\nRUN pip install uvicorn\n",  # not uv
    "FROM python:3.11\nRUN pip install -r requirements.txt\n",
    "FROM python:3.11\nRUN uv pip install --system uv-dynamic-versioning\n",
    "FROM python:3.11\nRUN curl -LsSf https://astral.sh/uv/install.sh -o /tmp/install.sh\n",  # downloaded only
    "FROM debian:bookworm\nRUN apt-get update && apt-get install -y docker-compose-plugin\n",
    "FROM debian:bookworm\nRUN apt-get remove -y gosu\n",
    # a stage the target never builds
    "FROM python:3.11 AS tools\nRUN pip install uv\nFROM python:3.11-slim\nRUN true\n",
]


@pytest.mark.parametrize("source,fixed", REWRITES)
def test_rewrites(source, fixed):
    [finding] = findings(source, "DC153")
    assert finding.fix.applicability.value == "unsafe" and finding.fix.edits, finding.fix.description
    assert apply_fix(source, finding.fix) == fixed


@pytest.mark.parametrize("source,reason", CATCHES_WITHOUT_EDIT)
def test_catches_without_edit(source, reason):
    [finding] = findings(source, "DC153")
    assert finding.fix.edits == []
    assert "by hand" in finding.fix.description and reason in finding.fix.description


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC153") == []


def test_message_and_stake():
    [finding] = findings("FROM python:3.11\nCOPY . .\nRUN pip install uv==0.13.9\n", "DC153")
    assert finding.line == 3 and finding.severity.value == "info"
    assert "ghcr.io/astral-sh/uv:0.13.9" in finding.message and "/uv /uvx" in finding.message
    assert "re-runs" in finding.stake.rebuild and finding.stake.bytes is None


def test_install_as_written_in_the_message():
    [finding] = findings("FROM python:3.11\nRUN python3 -m pip install -U uv==0.13.9\n", "DC153")
    assert finding.message.startswith("`python3 -m pip install uv==0.13.9` installs uv")


def test_cli_option_and_config_key(tmp_path):
    from click.testing import CliRunner

    from decruft.cli import main

    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11\nRUN pip install uv==0.13.9\n")
    run = CliRunner().invoke(main, ["fix", "--unsafe", "--select", "DC153", "--diff",
                                    "--external-image-registry", "mirror.example.com", str(dockerfile)])
    assert "+COPY --from=mirror.example.com/astral-sh/uv:0.13.9 /uv /uvx /bin/" in run.output
    (tmp_path / ".decruft.toml").write_text('external-image-registry = "127.0.0.1:5000"\n')
    run = CliRunner().invoke(main, ["fix", "--unsafe", "--select", "DC153", "--diff", str(dockerfile)])
    assert "+COPY --from=127.0.0.1:5000/astral-sh/uv:0.13.9 /uv /uvx /bin/" in run.output
    run = CliRunner().invoke(main, ["audit", "--select", "DC153", str(dockerfile)])
    assert "127.0.0.1:5000/astral-sh/uv:0.13.9" in run.output


def test_stake_bytes_from_the_stakes_table():
    [finding] = findings("FROM debian:bookworm\nRUN apt-get update && apt-get install -y docker.io\n", "DC153")
    assert finding.stake.bytes > 200_000_000 and not finding.stake.measured
    assert any("daemon" in note for note in finding.notes)
    assert "docker:cli" in finding.message


def test_unpinned_version_is_noted():
    [finding] = findings("FROM python:3.11\nRUN pip install 'uv>=0.5'\n", "DC153")
    assert any("not pinned" in note and "ghcr.io/astral-sh/uv:latest" in note for note in finding.notes)


def test_builder_stage_is_info_with_note():
    source = "FROM python:3.11 AS build\nRUN pip install uv\nFROM python:3.11-slim\nCOPY --from=build /app /app\n"
    [finding] = findings(source, "DC153")
    assert finding.stage == "build" and any("COPY --from" in note for note in finding.notes)


def test_target_selection():
    source = "FROM python:3.11 AS tools\nRUN pip install uv\nFROM python:3.11-slim AS app\nRUN true\n"
    assert lines(source, "DC153") == []
    assert lines(source, "DC153", target="tools") == [2]


def test_registry_mirror():
    from decruft.audit import AuditOptions, audit_source
    from decruft.audit.config import AuditConfig, parse_config

    source = "FROM python:3.11\nRUN pip install uv==0.13.9\nRUN composer --version\n"
    options = AuditOptions(config=AuditConfig(select=["DC153"]), scan_context=False,
                           external_image_registry="mirror.example.com:5000/proxy")
    [finding] = audit_source(source, "Dockerfile", options).findings
    assert "mirror.example.com:5000/proxy/astral-sh/uv:0.13.9" in finding.message
    assert finding.fix.edits[0].replacement.startswith("COPY --from=mirror.example.com:5000/proxy/astral-sh/uv:0.13.9 ")
    config = parse_config({"external-image-registry": "127.0.0.1:5000/"}, "x")
    assert config.external_image_registry == "127.0.0.1:5000"
    composer = "FROM php:8.3-cli\nRUN curl -sS https://getcomposer.org/installer | php -- --install-dir=/usr/bin --filename=composer\n"
    config.select = ["DC153"]
    [finding] = audit_source(composer, "Dockerfile", AuditOptions(config=config, scan_context=False)).findings
    assert "COPY --from=127.0.0.1:5000/library/composer:latest /usr/bin/composer /usr/bin/composer" in finding.fix.description
