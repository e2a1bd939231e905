"""The Node plan's shape: production dependencies installed in a stage of their own (npm ci from
the manifests alone) where that is sound, `npm prune` after the build otherwise."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from decruft.dockerfile import parse
from decruft.dockerfile.model import build_model
from decruft.multistage import plan_conversion
from decruft.multistage.node import MODULES_CHECK, PRUNE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: examples/node-app after `decruft fix` (what `decruft bench` converts).
FIXED_NODE_APP = (
    "FROM node:20-slim\n\nWORKDIR /usr/src/app\n\n"
    "COPY package.json package-lock.json ./\n"
    "RUN --mount=type=cache,target=/root/.npm npm ci\n"
    "COPY . .\n\nRUN npm run build\n\nEXPOSE 3000\nCMD [\"npm\", \"start\"]\n"
)


def _context(tmp_path: Path, **package: object) -> Path:
    manifest = {"dependencies": {"express": "4.21.2"}, "devDependencies": {"typescript": "5.7.2"}, **package}
    (tmp_path / "package.json").write_text(json.dumps(manifest))
    return tmp_path


def _stages(text: str) -> list[str | None]:
    return [stage.name for stage in build_model(parse(text)).stages]


def test_production_dependencies_get_their_own_stage():
    plan = plan_conversion(FIXED_NODE_APP, context=EXAMPLES / "node-app")
    text = plan.render([])
    assert _stages(text) == ["manifests", "production-dependencies", "build", None]
    assert "FROM node:20-slim AS manifests\n" in text
    # The original install command, cache mount and all, with the dev dependencies left out.
    assert "FROM manifests AS production-dependencies\nRUN --mount=type=cache,target=/root/.npm npm ci --omit=dev\n" in text
    assert "FROM manifests AS build\nRUN --mount=type=cache,target=/root/.npm npm ci\nCOPY . .\n" in text
    assert "prune" not in text
    runtime = text.split("# Runtime stage")[1]
    copies = [line for line in runtime.splitlines() if line.startswith("COPY")]
    # The layer that stays cached first, the one a source change rebuilds last.
    assert copies == ["COPY --from=production-dependencies /usr/src/app/node_modules /usr/src/app/node_modules",
                      "COPY --from=build /decruft/app /usr/src/app"]
    build = text.split("# Runtime stage")[0]
    assert build.rstrip().endswith("-exec cp -a {} /decruft/app/ ';'")
    assert [check.name for check in plan.checks] == ["production node_modules", "node require"]
    assert plan.allowed_differences == ["node_modules/*"]


def test_node_ts_api_example_installs_production_dependencies_apart():
    source = (EXAMPLES / "node-ts-api" / "Dockerfile").read_text()
    text = plan_conversion(source, context=EXAMPLES / "node-ts-api").render([])
    _comment, manifests, production, build = text.split("\nFROM ")[:4]
    assert "apt-get install -y python3 make g++" in manifests  # what the install ran with, once
    assert production.startswith("manifests AS production-dependencies\nRUN npm ci --omit=dev\n")
    assert build.startswith("manifests AS build\nRUN npm ci\n") and "RUN npm test" in build


def test_a_named_stage_keeps_its_name_on_the_whole_build(tmp_path):
    source = ("FROM node:20 AS app\nWORKDIR /a\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
              "RUN npm run build\nCMD [\"node\", \"i.js\"]\n")
    text = plan_conversion(source, context=_context(tmp_path)).render([])
    assert _stages(text) == ["manifests", "production-dependencies", "app", None]
    assert text.startswith("FROM node:20 AS manifests\n")
    assert "COPY --from=app /decruft/app /a" in text


def test_stage_names_already_taken_are_not_reused(tmp_path):
    source = ("FROM alpine:3.19 AS manifests\nRUN echo x > /x\n"
              "FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN npm ci\nCOPY . .\nCOPY --from=manifests /x /x\n"
              "RUN npm run build\nCMD [\"node\", \"i.js\"]\n")
    text = plan_conversion(source, context=_context(tmp_path)).render([])
    assert _stages(text) == ["manifests", "decruft-manifests", "production-dependencies", "build", None]


def test_arguments_of_the_shared_part_are_declared_in_both_branches(tmp_path):
    source = ("FROM node:20\nARG NPM_REGISTRY=https://registry.npmjs.org/\nWORKDIR /a\nCOPY package.json ./\n"
              "RUN npm ci --registry=$NPM_REGISTRY\nCOPY . .\nCMD [\"node\", \"i.js\"]\n")
    text = plan_conversion(source, context=_context(tmp_path)).render([])
    declared = "ARG NPM_REGISTRY=https://registry.npmjs.org/\n"
    assert ("FROM manifests AS production-dependencies\n" + declared
            + "RUN npm ci --registry=$NPM_REGISTRY --omit=dev\n") in text
    assert "FROM manifests AS build\n" + declared in text


def test_an_owner_applies_to_both_copies(tmp_path):
    source = ("FROM node:20\nWORKDIR /home/node/app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
              "RUN npm run build && chown -R node:node /home/node/app\nUSER node\nCMD [\"node\", \"dist/i.js\"]\n")
    text = plan_conversion(source, context=_context(tmp_path)).render([])
    assert "COPY --from=production-dependencies --chown=node:node /home/node/app/node_modules" in text
    assert "COPY --from=build --chown=node:node /decruft/app /home/node/app" in text
    # The appended staging step writes outside the user's home: as root, after the original USER.
    assert "USER node\nCMD [\"node\", \"dist/i.js\"]\n# Added by decruft fix --multistage" in text
    assert "USER root\nRUN mkdir -p /decruft/app" in text


@pytest.mark.parametrize("source, package, reason", [
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN npm install\nCOPY . .\nCMD [\"node\", \"i.js\"]\n",
                 {}, "only `npm ci`", id="npm-install"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"i.js\"]\n",
                 {}, "the install sees . of the build context", id="install-after-the-sources"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN npm ci && npm run build\nCMD [\"node\", \"i.js\"]\n",
                 {}, "shares its RUN", id="install-and-build-in-one-run"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"i.js\"]\n",
                 {"scripts": {"postinstall": "tsc"}}, "postinstall script", id="own-install-script"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"i.js\"]\n",
                 {"workspaces": ["packages/*"]}, "workspace", id="workspaces"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"i.js\"]\n",
                 {"dependencies": {"shared": "file:../shared"}}, "local path", id="local-dependency"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"i.js\"]\n",
                 {"dependencies": {}}, "no production dependencies", id="no-production-dependencies"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN yarn install --frozen-lockfile\nCOPY . .\n"
                 "CMD [\"node\", \"i.js\"]\n", {}, "yarn.lock is not copied", id="yarn-without-its-lockfile"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json yarn.lock ./\nRUN yarn install\nCOPY . .\n"
                 "CMD [\"node\", \"i.js\"]\n", {}, "--frozen-lockfile", id="yarn-lockfile-not-frozen"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json yarn.lock ./\nRUN yarn install --frozen-lockfile\n"
                 "COPY . .\nCMD [\"node\", \"i.js\"]\n", {"packageManager": "yarn@4.5.0"}, "only yarn 1",
                 id="yarn-berry"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN pnpm install --frozen-lockfile\nCOPY . .\n"
                 "CMD [\"node\", \"i.js\"]\n", {}, "pnpm-lock.yaml is not copied", id="pnpm-without-its-lockfile"),
    pytest.param("FROM node:20\nWORKDIR /a\nCOPY package.json pnpm-lock.yaml ./\nRUN pnpm install --frozen-lockfile "
                 "--dir /b\nCOPY . .\nCMD [\"node\", \"i.js\"]\n", {}, "another project directory", id="pnpm-dir"),
])
def test_otherwise_the_build_prunes_its_dev_dependencies(tmp_path, source, package, reason):
    plan = plan_conversion(source, context=_context(tmp_path, **package))
    text = plan.render([])
    assert "production-dependencies" not in text and _stages(text)[0] == "build"
    assert any(prune in text for prune in PRUNE.values())
    if reason is not None:
        assert reason in plan.explanation[0]


@pytest.mark.parametrize("copy, install, production", [
    ("COPY package.json yarn.lock ./", "RUN yarn install --frozen-lockfile",
     "RUN yarn install --frozen-lockfile --production"),
    ("COPY package.json pnpm-lock.yaml ./", "RUN pnpm install --frozen-lockfile",
     "RUN pnpm install --frozen-lockfile --prod"),
    ("COPY package.json yarn.lock .yarnrc ./", "RUN yarn --frozen-lockfile", "RUN yarn --frozen-lockfile --production"),
])
def test_yarn_and_pnpm_install_production_dependencies_apart(tmp_path, copy, install, production):
    source = f"FROM node:20\nWORKDIR /a\n{copy}\n{install}\nCOPY . .\nCMD [\"node\", \"i.js\"]\n"
    plan = plan_conversion(source, context=_context(tmp_path))
    text = plan.render([])
    assert _stages(text) == ["manifests", "production-dependencies", "build", None]
    assert f"FROM manifests AS production-dependencies\n{production}\n" in text
    assert f"FROM manifests AS build\n{install}\nCOPY . .\n" in text
    assert [check.name for check in plan.checks] == ["production node_modules", "node require"]
    assert plan.fallback is not None and PRUNE[install.split()[1]] in plan.fallback.render([])


def test_without_a_package_json_nothing_is_assumed():
    plan = plan_conversion(FIXED_NODE_APP)
    assert "npm prune --omit=dev" in plan.render([])
    assert "no package.json" in plan.explanation[0]


def _package(root: Path, directory: str, name: str, version: str, dependencies: dict | None = None,
             **files: str) -> None:
    where = root / directory
    where.mkdir(parents=True, exist_ok=True)
    (where / "package.json").write_text(json.dumps({"name": name, "version": version,
                                                    "dependencies": dependencies or {}}))
    for file_name, text in files.items():
        (where / file_name).write_text(text)


def _npm_tree(root: Path, dev: bool) -> Path:
    """npm/yarn 1 layout: every package flat under node_modules, a nested copy where versions clash."""
    (root / "package.json").parent.mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"dependencies": {"express": "4.21.2"},
                                                   "devDependencies": {"typescript": "5.7.2"}}))
    _package(root, "node_modules/express", "express", "4.21.2", {"ms": "2.0.0"}, **{"index.js": "module.exports = 1\n"})
    _package(root, "node_modules/express/node_modules/ms", "ms", "2.0.0", **{"index.js": "// ms 2.0\n"})
    (root / "node_modules/.package-lock.json").write_text("{}" if dev else '{"production": true}')
    (root / "node_modules/.bin").mkdir()
    if dev:
        _package(root, "node_modules/ms", "ms", "2.1.3", **{"index.js": "// ms 2.1\n"})
        _package(root, "node_modules/typescript", "typescript", "5.7.2", **{"tsc.js": "// tsc\n"})
        (root / "node_modules/.bin/tsc").symlink_to("../typescript/tsc.js")
        (root / "node_modules/.cache/tool").mkdir(parents=True)
        (root / "node_modules/.cache/tool/x").write_text("cached\n")
    return root


def _pnpm_tree(root: Path, dev: bool) -> Path:
    """pnpm layout: packages in node_modules/.pnpm/<name>@<version>/node_modules, linked from where Node looks."""
    (root / "package.json").parent.mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"dependencies": {"express": "4.21.2"}}))
    store = "node_modules/.pnpm"
    _package(root, f"{store}/express@4.21.2/node_modules/express", "express", "4.21.2", {"ms": "2.0.0"},
             **{"index.js": "module.exports = 1\n"})
    _package(root, f"{store}/ms@2.0.0/node_modules/ms", "ms", "2.0.0", **{"index.js": "// ms 2.0\n"})
    (root / f"{store}/express@4.21.2/node_modules/ms").symlink_to("../../ms@2.0.0/node_modules/ms")
    (root / "node_modules/express").symlink_to(".pnpm/express@4.21.2/node_modules/express")
    (root / "node_modules/.modules.yaml").write_text(f"included: {{devDependencies: {str(dev).lower()}}}\n")
    (root / f"{store}/lock.yaml").write_text(f"dev: {str(dev).lower()}\n")
    if dev:
        _package(root, f"{store}/typescript@5.7.2/node_modules/typescript", "typescript", "5.7.2",
                 **{"tsc.js": "// tsc\n"})
        (root / "node_modules/typescript").symlink_to(".pnpm/typescript@5.7.2/node_modules/typescript")
        (root / "node_modules/.bin").mkdir()
        (root / "node_modules/.bin/tsc").write_text("#!/bin/sh\nexec node ../typescript/tsc.js\n")
    return root


@pytest.mark.skipif(shutil.which("node") is None, reason="no node on this host")
@pytest.mark.parametrize("layout", [_npm_tree, _pnpm_tree], ids=["npm-yarn", "pnpm"])
def test_modules_check_sees_production_files_only(tmp_path, layout):
    """The check's output is equal for a full install and a production one, and changes when a
    production package's file changes or a file no package owns appears."""
    def check(root: Path) -> str:
        done = subprocess.run(["node", "-e", MODULES_CHECK], cwd=root, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    full, production = layout(tmp_path / "full", dev=True), layout(tmp_path / "production", dev=False)
    before = check(full)
    assert before == check(production)
    assert [line.rsplit(" ", 1)[0] for line in before.splitlines()] == ["express@4.21.2 2 files", "ms@2.0.0 2 files"]
    (full / "node_modules/express/index.js").write_text("patched\n")
    assert check(full) != before
    (production / "node_modules/.prisma").mkdir()
    (production / "node_modules/.prisma/client.js").write_text("generated\n")
    assert "in no package: node_modules/.prisma/client.js " in check(production)


def test_installing_apart_falls_back_to_pruning():
    """The plan that installs apart carries the prune plan, tried when the production stage
    does not build or the production node_modules differ."""
    plan = plan_conversion(FIXED_NODE_APP, context=EXAMPLES / "node-app")
    assert plan.fallback_when == ("production-dependencies", "production node_modules")
    assert plan.title == "the production dependencies installed apart (stage production-dependencies)"
    fallback = plan.fallback
    assert fallback is not None and fallback.fallback is None and not fallback.fallback_when
    text = fallback.render([])
    assert _stages(text) == ["build", None] and "RUN cd /usr/src/app && npm prune --omit=dev" in text
    assert "production-dependencies" not in text
    assert "installing them apart failed verification" in fallback.explanation[0]
    assert [check.name for check in fallback.checks] == ["node require"]


def test_a_plan_that_prunes_anyway_has_no_fallback(tmp_path):
    source = "FROM node:20\nWORKDIR /a\nCOPY package.json ./\nRUN npm install\nCOPY . .\nCMD [\"node\", \"i.js\"]\n"
    plan = plan_conversion(source, context=_context(tmp_path))
    assert plan.fallback is None and plan.fallback_when == ()


def test_each_plan_explains_only_its_own_binary_copies(tmp_path):
    """Both plans are planned from the same facts: the notes of one must not pile onto the other."""
    source = ("FROM node:20\nRUN pip install uv==0.13.9\nWORKDIR /a\nCOPY package.json ./\n"
              "RUN npm ci\nCOPY . .\nCMD [\"node\", \"i.js\"]\n")
    plan = plan_conversion(source, context=_context(tmp_path))
    assert plan.fallback is not None
    for each in (plan, plan.fallback):
        assert len([line for line in each.explanation if "replaced by" in line]) == 1
