from decruft.fix import FixOptions, fix_file
from tests.rules.helpers import findings

DOCKERFILE = "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.txt .\nCOPY . .\nCMD [\"python\", \"app.py\"]\n"


def make_context(tmp_path, ignore=None):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "app.py").write_text("print('hi')\n")
    (tmp_path / "requirements.txt").write_text("flask\n")
    git = tmp_path / ".git" / "objects"
    git.mkdir(parents=True)
    (git / "pack").write_bytes(b"x" * 200_000)
    modules = tmp_path / "node_modules" / "left-pad"
    modules.mkdir(parents=True)
    (modules / "index.js").write_bytes(b"y" * 50_000)
    (tmp_path / ".env").write_text("SECRET=1\n")
    if ignore is not None:
        (tmp_path / ".dockerignore").write_text(ignore)
    return tmp_path


def test_no_dockerignore_reports_measured_bytes_and_secret(tmp_path):
    context = make_context(tmp_path)
    [finding] = findings(DOCKERFILE, "DC160", context=context)
    assert finding.severity.value == "error"  # .env is a secret
    assert finding.stake.measured and finding.stake.bytes >= 240_000  # minus the new .dockerignore itself
    assert ".git" in finding.fix.description and finding.fix.file == ".dockerignore"


def test_good_dockerignore_is_clean(tmp_path):
    context = make_context(tmp_path, ignore=".git\nnode_modules\n.env\n")
    assert findings(DOCKERFILE, "DC160", context=context) == []


def test_weak_dockerignore_is_extended_not_rewritten(tmp_path):
    context = make_context(tmp_path, ignore="# mine\n.git\n")
    [finding] = findings(DOCKERFILE, "DC160", context=context)
    assert "lets it through" in finding.message
    result = fix_file(context / "Dockerfile", FixOptions(select=["DC160"]))
    text = (context / ".dockerignore").read_text()
    assert text.startswith("# mine\n.git\n") and "node_modules" in text
    assert (context / "Dockerfile").read_text() == DOCKERFILE
    assert [a.code for a in result.applied] == ["DC160"]
    again = fix_file(context / "Dockerfile", FixOptions(select=["DC160"]))
    assert not again.changed


def test_explicitly_copied_junk_is_kept(tmp_path):
    context = make_context(tmp_path)
    source = DOCKERFILE.replace("COPY . .", "COPY . .\nCOPY .env /app/.env")
    (context / "Dockerfile").write_text(source)
    [finding] = findings(source, "DC160", context=context)
    assert ".env" not in finding.fix.description.split(": ", 1)[1].split(", ")


def test_without_context_nothing_is_reported():
    assert findings(DOCKERFILE, "DC160") == []


def test_dc161_clean_context_without_ignore_file_is_info(tmp_path):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "app.py").write_text("print('hi')\n")
    [finding] = findings(DOCKERFILE, "DC161", context=tmp_path)
    assert finding.severity.value == "info" and finding.line == 4
    (tmp_path / ".dockerignore").write_text(".git\n")
    assert findings(DOCKERFILE, "DC161", context=tmp_path) == []
