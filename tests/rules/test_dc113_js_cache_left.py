import pytest

from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

CATCHES = [
    ("FROM node\nRUN npm ci\n", ["npm ci"]),
    ("FROM node\nRUN npm install\n", ["npm install"]),
    ("FROM node\nRUN npm i -g pm2\n", ["npm i -g pm2"]),
    ("FROM node\nRUN npm --prefix app install\n", ["npm --prefix app install"]),
    ("FROM node\nRUN npm ci && npm cache clean\n", ["npm ci"]),  # fails without --force on npm >= 5
    ("FROM node\nRUN npm cache clean --force && npm ci\n", ["npm ci"]),
    ("FROM node\nRUN npm ci && npm cache clean --force && npm i -g x\n", ["npm i -g x"]),
    ("FROM node\nRUN yarn install --frozen-lockfile\n", ["yarn install --frozen-lockfile"]),
    ("FROM node\nRUN yarn\n", ["yarn"]),
    ("FROM node\nRUN yarn --frozen-lockfile --production\n", ["yarn --frozen-lockfile --production"]),
    ("FROM node\nRUN yarn global add serve\n", ["yarn global add serve"]),
    ("FROM node\nRUN pnpm install --frozen-lockfile\n", ["pnpm install --frozen-lockfile"]),
    ("FROM node\nRUN pnpm i\n", ["pnpm i"]),
    ("FROM node\nRUN sudo npm ci\n", ["sudo npm ci"]),
    ("FROM node\nRUN <<EOF\nnpm ci\nnpm run build\nEOF\n", ["npm ci"]),
    (
        "FROM node\nRUN npm ci \\\n && npm run build \\\n && yarn --cwd web\n",
        ["npm ci", "yarn --cwd web"],
    ),
    ("FROM node\nRUN --mount=type=cache,target=/root/.cache/pip npm ci\n", ["npm ci"]),
]
ACCEPTS = [
    "FROM node\nRUN npm ci && npm cache clean --force\n",
    "FROM node\nRUN npm ci \\\n && npm cache clean -f\n",
    "FROM node\nRUN npm ci && rm -rf ~/.npm\n",
    "FROM node\nRUN npm ci && rm -rf /root/.npm/_cacache\n",
    "FROM node\nUSER node\nRUN npm ci && rm -rf /home/node/.npm\n",
    "FROM node\nRUN npm ci --cache /tmp/npm && rm -rf /tmp/npm\n",
    "FROM node\nENV npm_config_cache=/tmp/npm\nRUN npm ci && rm -rf /tmp/npm\n",
    "FROM node\nRUN --mount=type=cache,target=/root/.npm npm ci\n",
    "FROM node\nUSER node\nRUN --mount=type=cache,target=/home/node/.npm,uid=1000 npm ci\n",
    "FROM node\nRUN yarn install && yarn cache clean\n",
    "FROM node\nRUN yarn && rm -rf /usr/local/share/.cache/yarn\n",
    "FROM node\nRUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install\n",
    "FROM node\nENV YARN_CACHE_FOLDER=/yc\nRUN --mount=type=cache,target=/yc yarn install\n",
    "FROM node\nRUN pnpm install && pnpm store prune\n",
    "FROM node\nRUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile\n",
    "FROM node\nENV PNPM_HOME=/pnpm\nRUN pnpm install && rm -rf /pnpm/store\n",
    "FROM node\nRUN npm run build\n",
    "FROM node\nRUN yarn build\n",
    "FROM node\nRUN yarn --version\n",
    "FROM node\nRUN <<EOF\nnpm ci\nnpm cache clean --force\nEOF\n",
    'FROM node\nRUN ["npm", "ci"]\n',
    "FROM node AS unused\nRUN npm ci\nFROM node\nRUN true\n",
]


@pytest.mark.parametrize("source,spans", CATCHES)
def test_catches_with_exact_span(source, spans):
    found = findings(source, "DC113")
    assert [source[f.span.start : f.span.end] for f in found] == spans


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC113") == []


@pytest.mark.parametrize(
    "source,expected",
    [
        ("FROM node\nRUN npm ci\n", "FROM node\nRUN npm ci && npm cache clean --force\n"),
        (
            "FROM node\nRUN yarn install \\\n    && yarn build\n",
            "FROM node\nRUN yarn install \\\n    && yarn build \\\n    && yarn cache clean\n",
        ),
        ("FROM node\nRUN sudo npm i -g x\n", "FROM node\nRUN sudo npm i -g x && sudo npm cache clean --force\n"),
        ("FROM node\nRUN <<EOF\nnpm ci\nEOF\n", "FROM node\nRUN <<EOF\nnpm ci\nnpm cache clean --force\nEOF\n"),
        ("FROM node\nRUN <<-EOF\n\tnpm ci\n\tEOF\n", "FROM node\nRUN <<-EOF\n\tnpm ci\n\tnpm cache clean --force\n\tEOF\n"),
    ],
)
def test_fix_appends_cleanup(source, expected):
    [finding] = findings(source, "DC113")
    assert finding.fix.applicability.value == "safe"
    fixed = apply(source, finding.fix)
    assert fixed == expected
    assert findings(fixed, "DC113") == []


def test_pnpm_has_no_automatic_edit_and_suggests_a_mount():
    [finding] = findings("FROM node\nRUN pnpm install\n", "DC113")
    assert finding.fix is None
    assert "--mount=type=cache" in finding.message


def test_builder_stage_is_info():
    source = "FROM node AS build\nRUN npm ci && npm run build\nFROM nginx\nCOPY --from=build /app/dist /html\n"
    [finding] = findings(source, "DC113")
    assert finding.severity.value == "info"


def test_hadolint_pragma():
    assert findings("FROM node\n# hadolint ignore=DL3060\nRUN yarn install\n", "DC113") == []
