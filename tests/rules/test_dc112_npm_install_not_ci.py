import pytest

from tests.rules.helpers import apply_fix as apply
from tests.rules.helpers import findings

CATCHES = [
    ("FROM node\nCOPY package.json package-lock.json ./\nRUN npm install\n", "npm install"),
    ("FROM node\nCOPY package-lock.json .\nRUN npm i\n", "npm i"),
    ("FROM node\nCOPY npm-shrinkwrap.json package.json /app/\nRUN npm install\n", "npm install"),
    ("FROM node\nCOPY [\"package.json\", \"package-lock.json\", \"./\"]\nRUN npm install\n", "npm install"),
    ("FROM node\nADD package-lock.json .\nRUN npm install\n", "npm install"),
    ("FROM node\nCOPY --from=deps /app/package-lock.json .\nRUN npm install\n", "npm install"),
    ("FROM node\nCOPY package*.json package-lock.json ./\nRUN npm install --omit dev\n", "npm install --omit dev"),
    ("FROM node\nCOPY package-lock.json .\nRUN npm install --production\n", "npm install --production"),
    ("FROM node\nCOPY package-lock.json .\nRUN sudo npm install\n", "sudo npm install"),
    ("FROM node\nCOPY package-lock.json .\nRUN cd /app \\\n && npm \\\n    install\n", "npm \\\n    install"),
    ("FROM node\nCOPY package-lock.json .\nRUN <<EOF\nnpm install\nEOF\n", "npm install"),
    ("FROM node\nRUN --mount=type=bind,source=package-lock.json,target=package-lock.json npm install\n", "npm install"),
    # lockfile copied in the stage this one is built FROM
    ("FROM node AS deps\nCOPY package-lock.json .\nFROM deps\nRUN npm install\n", "npm install"),
]
ACCEPTS = [
    "FROM node\nCOPY package.json package-lock.json ./\nRUN npm ci\n",
    "FROM node\nCOPY package.json ./\nRUN npm install\n",  # no lockfile
    "FROM node\nRUN npm install\nCOPY package-lock.json .\n",  # lockfile comes later
    "FROM node\nCOPY package-lock.json .\nRUN npm install express\n",  # adds a package
    "FROM node\nCOPY package-lock.json .\nRUN npm install -g npm@10\n",
    "FROM node\nCOPY package-lock.json .\nRUN npm install --no-package-lock\n",
    "FROM node\nCOPY package-lock.json .\nRUN npm install --package-lock-only\n",
    "FROM node\nCOPY package-lock.json .\nRUN npm run build\n",
    # without a known build context, a glob or a directory is no evidence
    "FROM node\nCOPY package*.json ./\nRUN npm install\n",
    "FROM node\nCOPY . .\nRUN npm install\n",
    # another stage's lockfile
    "FROM node AS a\nCOPY package-lock.json .\nFROM node\nCOPY package.json .\nRUN npm install\n",
    'FROM node\nCOPY package-lock.json .\nRUN ["npm", "install"]\n',
    "FROM node AS unused\nCOPY package-lock.json .\nRUN npm install\nFROM node\nRUN true\n",
]


@pytest.mark.parametrize("source,span_text", CATCHES)
def test_catches_with_exact_span(source, span_text):
    [finding] = findings(source, "DC112")
    assert source[finding.span.start : finding.span.end] == span_text


@pytest.mark.parametrize("source", ACCEPTS)
def test_accepts(source):
    assert findings(source, "DC112") == []


def test_fix_replaces_install_by_ci_and_is_unsafe():
    source = "FROM node\nCOPY package-lock.json .\nRUN npm i --omit=dev && npm run build\n"
    [finding] = findings(source, "DC112")
    assert finding.fix.applicability.value == "unsafe"
    fixed = apply(source, finding.fix)
    assert fixed == "FROM node\nCOPY package-lock.json .\nRUN npm ci --omit=dev && npm run build\n"
    assert findings(fixed, "DC112") == []


def test_message_names_the_evidence():
    [finding] = findings(CATCHES[0][0], "DC112")
    assert "line 2" in finding.message


def test_builder_stage_keeps_full_severity():
    # reproducibility matters in build stages too: no "bytes do not ship" softening
    source = (
        "FROM node AS build\nCOPY package-lock.json .\nRUN npm install\n"
        "FROM nginx\nCOPY --from=build /dist /usr/share/nginx/html\n"
    )
    [finding] = findings(source, "DC112")
    assert finding.severity.value == "warning"


@pytest.fixture
def app(tmp_path):
    (tmp_path / "package.json").write_text("{}")
    (tmp_path / "package-lock.json").write_text("{}")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "package-lock.json").write_text("{}")
    return tmp_path


@pytest.mark.parametrize(
    "copy",
    ["COPY . .", "COPY ./ /app/", "COPY package*.json ./", "COPY web /app", "COPY web/ ./"],
)
def test_context_directory_and_glob_copies(app, copy):
    source = f"FROM node\n{copy}\nRUN npm install\n"
    [finding] = findings(source, "DC112", context=app)
    assert "brings" in finding.message


def test_dockerignored_lockfile_is_no_evidence(app):
    (app / ".dockerignore").write_text("package-lock.json\n**/package-lock.json\n")
    assert findings("FROM node\nCOPY . .\nRUN npm install\n", "DC112", context=app) == []


def test_context_without_lockfile(tmp_path):
    (tmp_path / "package.json").write_text("{}")
    assert findings("FROM node\nCOPY . .\nRUN npm install\n", "DC112", context=tmp_path) == []
