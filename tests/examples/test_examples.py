"""The example projects under ``examples/``: realistic apps with realistically wasteful
Dockerfiles (issue 5).

(a) Fast, no Docker: every example is complete (README, smoke.json, Dockerfile), its
    Dockerfile parses and prints back byte for byte, and ``decruft audit`` finds at least
    the problems it was written to show.
(b) ``docker``: a representative subset is built with BuildKit and its smoke check run
    (python-app and go-app; heredocs-onbuild, the parser stress case, where the engine's
    Dockerfile frontend supports heredocs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

import decruft
from decruft.audit import AuditOptions, audit_files
from decruft.audit.config import AuditConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
JUNK_SCRIPT = EXAMPLES / "junk-context" / "make-junk.sh"

# The problems each Dockerfile was written to show (a floor: other rules may fire too).
EXPECTED: dict[str, set[str]] = {
    # full base, COPY . . first, apt update alone, recommends, gcc in the final image,
    # pip cache, chown -R after COPY, .env in the context
    "python-app": {"DC101", "DC103", "DC110", "DC121", "DC122", "DC130", "DC140", "DC150",
                   "DC160"},
    # npm install despite the lockfile, npm cache, COPY . . first, full base, no .dockerignore
    "node-app": {"DC112", "DC113", "DC130", "DC140", "DC161"},
    # single stage on the Go toolchain, Go build cache, apt update alone, COPY . . first
    "go-app": {"DC101", "DC103", "DC115", "DC122", "DC130", "DC150", "DC161"},
    # apt update alone, recommends (twice), build-essential and -dev libraries shipped
    "r-app": {"DC101", "DC103", "DC122", "DC150", "DC161"},
    # apt update alone, recommends, extract then delete in a later RUN, chown -R after COPY
    "static-site": {"DC101", "DC103", "DC120", "DC121", "DC122", "DC140", "DC161"},
    # apt update alone, recommends, compilers and headers in the final image, full base
    "c-app": {"DC101", "DC103", "DC122", "DC140", "DC150", "DC161"},
    # .git and node_modules sent and copied, full base
    "junk-context": {"DC140", "DC160"},
    # heredoc RUN without list cleanup or --no-install-recommends, full base
    "heredocs-onbuild": {"DC102", "DC103", "DC140"},
    # multi-stage benchmark set (single stage, convertible):
    # full base, apt update alone, recommends, compilers and -dev headers kept (CMake, C++)
    "cpp-sqlite-cli": {"DC101", "DC103", "DC122", "DC140", "DC150", "DC161"},
    # golang image as the runtime, apt update alone, COPY . . first, Go caches kept
    "go-embed-web": {"DC101", "DC103", "DC115", "DC122", "DC130", "DC150", "DC161"},
    # full base, COPY . . first, apt update alone, build tools, pip and uv caches
    "python-uv-api": {"DC101", "DC103", "DC110", "DC111", "DC122", "DC130", "DC140", "DC150",
                      "DC161"},
    # full base, apt lists and recommends, g++ kept, npm cache
    "node-ts-api": {"DC102", "DC103", "DC113", "DC140", "DC150", "DC161"},
    # full base, COPY . . first, npm install not ci, npm cache
    "vite-frontend": {"DC112", "DC113", "DC130", "DC140", "DC161"},
    # apt update alone, r-base-dev with recommends kept, COPY . . before R CMD INSTALL
    "r-plumber-api": {"DC101", "DC103", "DC122", "DC130", "DC140", "DC150", "DC161"},
    # full base, apt update alone, JDK and Maven with recommends, COPY . . first, Maven repo
    "java-maven-api": {"DC101", "DC103", "DC115", "DC122", "DC130", "DC140", "DC150", "DC161"},
}
NAMES = sorted(EXPECTED)
# Built for real in (b): a Python app with a C extension compiled from source, a Go
# service, and the heredoc/ONBUILD/escape stress case.
DOCKER_SUBSET = ["python-app", "go-app", "heredocs-onbuild"]


def example_dirs() -> list[str]:
    return sorted(p.name for p in EXAMPLES.iterdir() if (p / "Dockerfile").is_file())


@pytest.fixture(scope="session")
def junk_made() -> Path:
    """junk-context's .git and node_modules (make-junk.sh: deterministic, idempotent)."""
    subprocess.run(["bash", str(JUNK_SCRIPT)], check=True, timeout=120)
    return JUNK_SCRIPT.parent


def load_smoke(name: str) -> dict:
    return json.loads((EXAMPLES / name / "smoke.json").read_text())


# --------------------------------------------------------------------------- (a) no Docker


def test_at_least_eight_examples_all_covered():
    found = example_dirs()
    assert len(found) >= 8, found
    assert set(found) == set(EXPECTED), "every example needs an entry in EXPECTED"


@pytest.mark.parametrize("name", NAMES)
def test_example_is_complete(name):
    folder = EXAMPLES / name
    smoke = load_smoke(name)
    assert set(smoke) <= {"port", "command", "expect"}, smoke
    assert isinstance(smoke["expect"], str) and smoke["expect"], smoke
    port, command = smoke.get("port"), smoke.get("command")
    assert (port is None) != (command is None), "exactly one of port and command"
    if port is not None:
        assert isinstance(port, int) and 1024 <= port < 65536
        assert re.search(rf"^EXPOSE\s+{port}\b", (folder / "Dockerfile").read_text(), re.M)
    else:
        assert isinstance(command, list) and command and all(isinstance(c, str) for c in command)
    readme = (folder / "README.md").read_text()
    assert readme.startswith(f"# {name}\n")
    assert smoke["expect"] in readme, "the README says what the smoke check expects"
    assert "docker build" in readme


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_parses_and_round_trips(name):
    path = EXAMPLES / name / "Dockerfile"
    source = path.read_bytes()
    parsed = decruft.parse(source, path=str(path))
    assert parsed.to_bytes() == source
    stages = list(parsed.model.reachable())
    assert stages and stages[-1].instructions


@pytest.mark.parametrize("name", NAMES)
def test_audit_finds_what_the_example_shows(name, junk_made):
    path = EXAMPLES / name / "Dockerfile"
    result = audit_files([str(path)], AuditOptions(config=AuditConfig(), fail_on="never"))
    (file_result,) = result.files
    assert file_result.syntax_error is None and file_result.error is None
    found = {finding.code for finding in file_result.findings}
    missing = EXPECTED[name] - found
    assert not missing, f"{name}: expected {sorted(missing)}, found {sorted(found)}"


def test_audit_cli_on_all_examples(junk_made):
    """The CLI reads every example (directories) and exits 1: they are all wasteful."""
    out = subprocess.run(
        [sys.executable, "-m", "decruft", "audit", "--format", "json",
         *[str(EXAMPLES / name) for name in NAMES]],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    files = {Path(f["file"]).parent.name for f in report["findings"]}
    assert set(NAMES) <= files


def test_heredoc_example_uses_every_heredoc_form():
    """The stress case keeps what it is there to stress."""
    path = EXAMPLES / "heredocs-onbuild" / "Dockerfile"
    text = path.read_text()
    assert text.startswith("# escape=`\n")
    assert re.search(r"^RUN <<EOF$", text, re.M)
    assert re.search(r"^RUN <<-EOT bash$", text, re.M)
    assert re.search(r"^\tEOT$", text, re.M), "<<- with a tab-indented terminator"
    assert re.search(r"^COPY <<\S+ <<\S+ /", text, re.M), "two heredocs on one COPY line"
    assert re.search(r"^RUN <<\w+ .* && <<\w+ ", text, re.M), "two heredocs in one RUN"
    assert re.search(r"^ONBUILD ", text, re.M)
    assert "`\n" in text, "a backtick line continuation"
    model = _parse_json(path)
    assert model["escape"] == "`"
    instructions = model["stages"][0]["instructions"]
    heredocs = [[(h["name"], h["chomp"], h["expand"]) for h in ins["heredocs"]]
                for ins in instructions if ins["heredocs"]]
    assert heredocs == [
        [("EOF", False, True)],
        [("EOT", True, True)],
        [("EOF", False, False)],
        [("settings.ini", False, True), ("greeting.txt", False, True)],
        [("VERSION", False, True), ("MOTD", False, True)],
    ]
    assert [i["onbuild"]["kind"] for i in instructions if i["kind"] == "ONBUILD"] == ["COPY", "RUN"]
    env = next(i for i in instructions if i["kind"] == "ENV")
    assert env["arguments"] == ["APP_HOME", "/srv/app", "PORT", "8000"]


def _parse_json(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "decruft", "parse", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_junk_context_is_made_deterministically(junk_made):
    from decruft.context.junk import detect_junk

    first = _digest(junk_made)
    subprocess.run(["bash", str(JUNK_SCRIPT), "--force"], check=True, timeout=120)
    assert _digest(junk_made) == first, "make-junk.sh must write the same bytes every time"
    findings = {f.junk.id: f.size.bytes for f in detect_junk(junk_made) if f.paths}
    assert findings.get("vcs", 0) > 3_000_000, findings
    assert findings.get("node-modules", 0) > 3_000_000, findings
    ignored = subprocess.run(["git", "check-ignore", "-q", str(junk_made / "node_modules")],
                             cwd=ROOT, timeout=30)
    assert ignored.returncode == 0, "node_modules is git-ignored in the example folder"


def _digest(folder: Path) -> dict[str, str]:
    import hashlib

    out: dict[str, str] = {}
    for top in (".git", "node_modules"):
        for path in sorted((folder / top).rglob("*")):
            if path.is_symlink():
                out[str(path.relative_to(folder))] = "-> " + os.readlink(path)
            elif path.is_file():
                out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# --------------------------------------------------------------------------- (b) Docker

DOCKER = os.environ.get("DECRUFT_DOCKER", "/usr/bin/docker")
BUILD_TIMEOUT = 900
SMOKE_TIMEOUT = 60
HEREDOC_PROBE = "FROM busybox\nRUN <<EOF\ntrue\nEOF\n"


def _docker(*args: str, check: bool = True, timeout: float = BUILD_TIMEOUT,
            input: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, check=check, input=input)


@pytest.fixture(scope="module")
def cli(docker) -> str:
    """The docker CLI that runs BuildKit (the shared ``docker`` fixture fails without an engine)."""
    if not shutil.which(DOCKER):
        pytest.fail(f"{DOCKER} not found (scripts/docker-up installs it)", pytrace=False)
    return DOCKER


@pytest.fixture(scope="module")
def heredocs_supported(cli) -> bool:
    """Does the engine's Dockerfile frontend know heredocs (frontend 1.4+, Docker 23+)?"""
    probe = _docker("build", "-q", "-", input=HEREDOC_PROBE, check=False, timeout=120)
    if probe.returncode == 0:
        _docker("rmi", probe.stdout.strip(), check=False)
        return True
    return False


def _build(tag: str, context: Path) -> float:
    # DECRUFT_EXAMPLES_NO_CACHE=1 measures a cold build (as on a fresh CI runner)
    no_cache = ["--no-cache"] if os.environ.get("DECRUFT_EXAMPLES_NO_CACHE") == "1" else []
    start = time.monotonic()
    built = _docker("build", "--progress=plain", *no_cache, "-t", tag, str(context), check=False)
    if built.returncode != 0:
        pytest.fail(f"building {context.name} failed:\n{built.stderr[-4000:]}", pytrace=False)
    return time.monotonic() - start


def _http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.read().decode("utf-8", "replace")


def smoke_check(image: str, smoke: dict) -> str:
    """Run the example's smoke check against ``image``; returns what it answered."""
    if smoke.get("command"):
        out = _docker("run", "--rm", image, *smoke["command"], timeout=SMOKE_TIMEOUT, check=False)
        assert out.returncode == 0, out.stderr
        return out.stdout
    port = smoke["port"]
    name = f"decruft-smoke-{uuid.uuid4().hex[:12]}"
    # a random loopback host port: other builds and tests may hold the example's own
    _docker("run", "-d", "--name", name, "-p", f"127.0.0.1::{port}", image, timeout=SMOKE_TIMEOUT)
    try:
        mapped = _docker("port", name, f"{port}/tcp", timeout=30).stdout.split()[0]
        host_port = mapped.rsplit(":", 1)[1]
        deadline = time.monotonic() + SMOKE_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            try:
                return _http_get(f"http://127.0.0.1:{host_port}/")
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last = str(exc)
                state = _docker("inspect", "-f", "{{.State.Running}}", name, check=False, timeout=30)
                if state.stdout.strip() == "false":
                    logs = _docker("logs", name, check=False, timeout=30)
                    pytest.fail(f"{image} exited: {logs.stdout[-2000:]}{logs.stderr[-2000:]}",
                                pytrace=False)
                time.sleep(0.5)
        logs = _docker("logs", name, check=False, timeout=30)
        pytest.fail(f"{image}: no answer on port {port} ({last}); logs: {logs.stderr[-2000:]}",
                    pytrace=False)
    finally:
        _docker("rm", "-f", name, check=False, timeout=60)


@pytest.mark.docker
@pytest.mark.parametrize("name", DOCKER_SUBSET)
def test_example_builds_and_runs(name, cli, request):
    if name == "heredocs-onbuild" and not request.getfixturevalue("heredocs_supported"):
        pytest.xfail("this engine's built-in Dockerfile frontend predates heredocs (needs 1.4+, "
                     "Docker 23+; Docker 20.10's BuildKit says 'unknown instruction')")
    tag = f"decruft-example-test/{name}:{uuid.uuid4().hex[:8]}"
    try:
        seconds = _build(tag, EXAMPLES / name)
        smoke = load_smoke(name)
        answer = smoke_check(tag, smoke)
        assert smoke["expect"] in answer, answer[:2000]
        if name == "python-app":  # markupsafe was compiled from source, speedups and all
            out = _docker("run", "--rm", tag, "python", "-c",
                          "import markupsafe._speedups as s; print(s.__file__)", timeout=SMOKE_TIMEOUT)
            assert out.stdout.strip().endswith(".so"), out.stdout
        if name == "heredocs-onbuild":
            _check_onbuild(tag)
        print(f"{name}: built in {seconds:.1f}s; smoke check answered {answer.strip()[:120]!r}")
    finally:
        _docker("rmi", "-f", tag, check=False, timeout=120)


def _check_onbuild(base: str) -> None:
    """The ONBUILD triggers fire in a child build and bring in its plugin."""
    child = f"decruft-example-test/heredocs-child:{uuid.uuid4().hex[:8]}"
    try:
        built = _docker("build", "--build-arg", f"BASE={base}", "-t", child,
                        str(EXAMPLES / "heredocs-onbuild" / "child"), check=False)
        assert built.returncode == 0, built.stderr[-4000:]
        out = _docker("run", "--rm", child, "python", "-c", "import app; print(app.plugins())",
                      timeout=SMOKE_TIMEOUT)
        assert "hello-plugin 1.0" in out.stdout
    finally:
        _docker("rmi", "-f", child, check=False, timeout=120)


# --------------------------------------------------------------------------- (b) heredocs lowered
#
# Docker 20.10's built-in BuildKit (this project's engine) rejects heredocs, so the real build
# of heredocs-onbuild above xfails there. This test still builds it: every heredoc, as decruft
# parsed it (name, <<- tab stripping, quoted = no expansion), becomes a file of a generated
# build context, mounted (RUN) or copied (COPY) where the heredoc was. If decruft misread a
# heredoc, the app, its config or the ONBUILD child breaks.


def lower_heredocs(dockerfile: Path, out: Path) -> Path:
    """A heredoc-free Dockerfile (frontend 1.2: RUN --mount) equivalent to ``dockerfile``."""
    model = _parse_json(dockerfile)
    assert len(model["stages"]) == 1, "the lowering handles one stage"
    out.mkdir(parents=True)
    env: dict[str, str] = {}
    lines = [f"# escape={model['escape']}\n"]
    for n, ins in enumerate(model["stages"][0]["instructions"]):
        if ins["kind"] == "ENV":
            env.update(zip(ins["arguments"][::2], ins["arguments"][1::2]))
        heredocs = ins["heredocs"]
        if not heredocs:
            lines.append(ins["source"])
            continue
        bodies = [_heredoc_body(h, env if ins["kind"] == "COPY" else None) for h in heredocs]
        if ins["kind"] == "COPY":
            assert not ins["flags"]
            dest = ins["arguments"][-1]
            folder = out / f"copy{n}"
            folder.mkdir()
            if dest.endswith("/"):  # each heredoc is a file named after its delimiter
                for heredoc, body in zip(heredocs, bodies):
                    (folder / heredoc["name"]).write_text(body)
                lines.append(f"COPY copy{n}/ {dest}\n")
            else:
                (folder / "file").write_text(bodies[0])
                lines.append(f"COPY copy{n}/file {dest}\n")
            continue
        assert ins["kind"] == "RUN" and not ins["json"]
        text = ins["args_text"].strip()
        first = heredocs[0]
        sole = re.fullmatch(rf"<<-?[\"']?{re.escape(first['name'])}[\"']?", text)
        fed = re.fullmatch(rf"<<-?[\"']?{re.escape(first['name'])}[\"']? (\S+)", text)
        if sole:  # BuildKit runs the body with the shell
            script, command = bodies[0], "/bin/sh /tmp/heredoc"
        elif fed and len(heredocs) == 1:  # `<<EOT bash`: the body on the program's stdin
            script, command = bodies[0], f"{fed.group(1)} < /tmp/heredoc"
        else:  # heredocs inside a shell command: the shell reads them from the script
            script = text + "\n" + "".join(
                body + h["name"] + "\n" for h, body in zip(heredocs, bodies))
            command = "/bin/sh /tmp/heredoc"
        (out / f"run{n}").write_text(script)
        lines.append(f"RUN --mount=type=bind,source=run{n},target=/tmp/heredoc {command}\n")
    (out / "Dockerfile").write_text("".join(lines))
    return out


def _heredoc_body(heredoc: dict, env: dict[str, str] | None) -> str:
    body = heredoc["content"]
    if heredoc["chomp"]:
        body = "".join(line.lstrip("\t") for line in body.splitlines(keepends=True))
    if env is not None and heredoc["expand"]:  # COPY: BuildKit expands ${VAR} and $VAR
        body = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env[m.group(1) or m.group(2)], body)
    return body


def test_heredoc_lowering_keeps_bodies(tmp_path):
    out = lower_heredocs(EXAMPLES / "heredocs-onbuild" / "Dockerfile", tmp_path / "ctx")
    text = (out / "Dockerfile").read_text()
    assert "<<" not in text
    assert (out / "copy5" / "settings.ini").read_text().endswith("port = 8000\n")
    assert (out / "copy5" / "greeting.txt").read_text() == "Hello from heredocs-onbuild\n"
    assert (out / "run3").read_text().startswith("set -euo pipefail\nmkdir")  # tabs stripped
    assert '"""Serves a greeting' in (out / "copy4" / "file").read_text()


@pytest.mark.docker
def test_heredocs_example_lowered_builds_and_runs(cli, tmp_path):
    context = lower_heredocs(EXAMPLES / "heredocs-onbuild" / "Dockerfile", tmp_path / "ctx")
    tag = f"decruft-example-test/heredocs-lowered:{uuid.uuid4().hex[:8]}"
    try:
        seconds = _build(tag, context)
        smoke = load_smoke("heredocs-onbuild")
        answer = smoke_check(tag, smoke)
        assert smoke["expect"] in answer, answer[:2000]
        assert '"version": "1.0.0"' in answer and '"name": "heredocs-onbuild"' in answer
        _check_onbuild(tag)
        print(f"heredocs-onbuild (lowered): built in {seconds:.1f}s; answered {answer.strip()[:120]!r}")
    finally:
        _docker("rmi", "-f", tag, check=False, timeout=120)
