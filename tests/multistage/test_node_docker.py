"""Real-engine conversions of the Node examples: the production dependencies installed in a stage
of their own must give an image that passes the smoke check and whose production packages are
file for file those of the original; a build that writes into node_modules falls back to
pruning after the build.

Builds from node:20 / node:20-slim (docker-up) with packages from npm; images and containers
are named ``decruft-ms-*`` and must all be gone afterwards.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from decruft.fix.verify import SmokeSpec
from decruft.multistage.convert import ConvertOptions, convert_file
from tests.multistage.test_convert_docker import _leftovers
from tests.multistage.test_node_plan import EXAMPLES, FIXED_NODE_APP

pytestmark = pytest.mark.docker


def _example(tmp_path: Path, name: str, dockerfile: str | None = None) -> Path:
    work = tmp_path / name
    shutil.copytree(EXAMPLES / name, work)
    if dockerfile is not None:
        (work / "Dockerfile").write_text(dockerfile)
        (work / ".dockerignore").write_text("node_modules\n.git\n")
    return work


@pytest.mark.parametrize("name, dockerfile, size_change", [
    # already on node:20-slim: only the dev dependencies and npm's cache go
    pytest.param("node-app", FIXED_NODE_APP, -0.1, id="node-app-fixed"),
    pytest.param("node-ts-api", None, -0.6, id="node-ts-api"),
])
def test_examples_convert_with_production_dependencies_apart(docker, tmp_path, name, dockerfile, size_change):
    work = _example(tmp_path, name, dockerfile)
    conversion = convert_file(work / "Dockerfile", ConvertOptions(
        smoke=SmokeSpec.from_file(work / "smoke.json"), write=False))
    assert conversion.converted, (conversion.reason, conversion.detail)
    assert conversion.text is not None and "npm ci --omit=dev" in conversion.text
    assert "prune" not in conversion.text
    assert conversion.comparison is not None and conversion.comparison.passed
    assert [(c.name, c.passed) for c in conversion.checks] == [("production node_modules", True),
                                                               ("node require", True)]
    assert conversion.size_change is not None and conversion.size_change < size_change
    assert _leftovers(docker, conversion.token) == []


def test_the_original_node_app_still_prunes(docker, tmp_path):
    """COPY . . before the install: the install sees the sources, so it stays in the build."""
    work = _example(tmp_path, "node-app")
    conversion = convert_file(work / "Dockerfile", ConvertOptions(
        smoke=SmokeSpec.from_file(work / "smoke.json"), write=False))
    assert conversion.converted, (conversion.reason, conversion.detail)
    assert conversion.text is not None and "npm prune --omit=dev" in conversion.text
    assert [c.name for c in conversion.checks if c.passed] == ["node require"]


#: Writes a client into node_modules at build time, the way `prisma generate` does.
GENERATE_JS = """const fs = require('fs');
fs.mkdirSync('node_modules/.generated', { recursive: true });
fs.writeFileSync('node_modules/.generated/client.js', "module.exports = { greeting: 'generated client ok' };\\n");
"""
#: Starts the server only once the generated client loads.
MAIN_JS = """const client = require('./node_modules/.generated/client.js');
console.log(client.greeting);
require('./dist/server.js');
"""


#: yarn.lock (yarn 1.22.22) and pnpm-lock.yaml (pnpm 9) of examples/node-app's package.json.
LOCKFILES = Path(__file__).resolve().parents[1] / "data" / "node-app-lockfiles"

#: ``(tool installed with npm, lockfile, install, the production install, the prune)`` per manager.
YARN = ("yarn@1.22.22", "yarn.lock", "yarn install --frozen-lockfile", "yarn install --frozen-lockfile --production",
        "yarn install --production")
PNPM = ("pnpm@9.15.9", "pnpm-lock.yaml", "pnpm install --frozen-lockfile", "pnpm install --frozen-lockfile --prod",
        "pnpm prune --prod")
NPM = (None, "package-lock.json", "npm ci", "npm ci --omit=dev", "npm prune --omit=dev")


def _node_app_with(tmp_path: Path, manager: tuple, build: str = "npm run build", program: str = "dist/server.js") -> Path:
    """examples/node-app installed with ``manager`` from the manifests and its lockfile alone."""
    tool, lockfile, install = manager[:3]
    setup = f"RUN npm install -g {tool}\n" if tool else ""
    source = (f"FROM node:20-slim\n{setup}WORKDIR /usr/src/app\nCOPY package.json {lockfile} ./\nRUN {install}\n"
              f"COPY . .\nRUN {build}\nEXPOSE 3000\nCMD [\"node\", \"{program}\"]\n")
    work = _example(tmp_path, "node-app", source)
    if tool:
        (work / "package-lock.json").unlink()
        shutil.copy(LOCKFILES / lockfile, work / lockfile)
    return work


@pytest.mark.parametrize("manager", [NPM, YARN, PNPM], ids=["npm", "yarn", "pnpm"])
def test_a_build_that_writes_into_node_modules_converts_by_pruning(docker, tmp_path, manager):
    """The generated client is missing from the production install: the production node_modules
    check fails, and the conversion falls back to pruning after the build, which keeps it."""
    work = _node_app_with(tmp_path, manager, build="npm run build && node generate.js", program="main.js")
    (work / "generate.js").write_text(GENERATE_JS)
    (work / "main.js").write_text(MAIN_JS)
    source = (work / "Dockerfile").read_text()
    conversion = convert_file(work / "Dockerfile", ConvertOptions(
        smoke=SmokeSpec.from_file(work / "smoke.json"), write=True))
    assert conversion.converted, (conversion.reason, conversion.detail)
    assert conversion.explanation[0].startswith(
        "tried first and dropped: the production dependencies installed apart (stage production-dependencies): "
        "production node_modules differ")
    assert conversion.text is not None and manager[4] in conversion.text
    assert "production-dependencies" not in conversion.text
    assert conversion.comparison is not None and conversion.comparison.passed
    assert [(c.name, c.passed) for c in conversion.checks] == [("node require", True)]
    assert conversion.written and (work / "Dockerfile").read_text() == conversion.text
    assert (work / "Dockerfile.orig").read_text() == source
    assert _leftovers(docker, conversion.token) == []


@pytest.mark.parametrize("manager", [YARN, PNPM], ids=["yarn", "pnpm"])
def test_yarn_and_pnpm_install_production_dependencies_apart(docker, tmp_path, manager):
    work = _node_app_with(tmp_path, manager)
    conversion = convert_file(work / "Dockerfile", ConvertOptions(
        smoke=SmokeSpec.from_file(work / "smoke.json"), write=False))
    assert conversion.converted, (conversion.reason, conversion.detail)
    assert conversion.text is not None
    assert f"FROM manifests AS production-dependencies\nRUN {manager[3]}\n" in conversion.text
    assert conversion.comparison is not None and conversion.comparison.passed
    assert [(c.name, c.passed) for c in conversion.checks] == [("production node_modules", True),
                                                               ("node require", True)]
    assert not conversion.explanation[0].startswith("tried first")
    assert conversion.size_change is not None and conversion.size_change < -0.1
    assert _leftovers(docker, conversion.token) == []
