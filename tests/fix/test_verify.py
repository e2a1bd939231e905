"""``decruft fix --verify``: which fixes are kept (fake engine), and real builds (``docker``)."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from decruft.cli import main
from decruft.engine import BuildError
from decruft.fix import FixOptions
from decruft.fix.verify import (
    LABEL,
    PREFIX,
    ImageFacts,
    Probe,
    RunOutcome,
    SmokeSpec,
    VerifyError,
    VerifyOptions,
    compare_files,
    compare_runs,
    normalize_output,
    report_lines,
    verify_file,
)

# ------------------------------------------------------------------------------ a fake engine
GCC_APP = """FROM python:3.11
WORKDIR /app
RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*
RUN pip install flask
CMD ["gcc", "--version"]
"""


@dataclass
class FakeEngine:
    """Builds 'images' from the Dockerfile text; ``behave(text)`` says how they run."""

    behave: object = None
    broken: object = lambda text: False  # noqa: E731
    files_of: object = lambda text: {"app.py": 10}  # noqa: E731
    description: str = "fake engine"
    built: list[str] = field(default_factory=list)  # the texts built, in order
    images: dict[str, str] = field(default_factory=dict)  # tag -> text
    containers: set[str] = field(default_factory=set)
    removed_tags: list[str] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)
    interrupt_on_build: int | None = None

    def build(self, *, context, dockerfile, tag, build_args, target, no_cache, labels):
        text = Path(dockerfile).read_text()
        self.built.append(text)
        if self.interrupt_on_build is not None and len(self.built) == self.interrupt_on_build:
            raise KeyboardInterrupt
        if self.broken(text):
            raise BuildError("docker build failed (exit code 1)", returncode=1,
                             log="#5 [2/3] RUN thing\n#5 ERROR: exit code 100\n", argv=["docker", "build"])
        self.images[tag] = text
        image_id = f"sha256:{abs(hash(text)):x}"
        self.images[image_id] = text
        return ImageFacts(image_id, 100_000 + len(text) - (50_000 if "slim" in text else 0), 1.0,
                          workdir="/app")

    def _run(self, image, name):
        self.containers.add(name)
        text = self.images[image.image_id]
        outcome = self.behave(text) if self.behave else RunOutcome("running", seconds=5)
        self.containers.discard(name)
        return outcome

    def start(self, image, *, name, labels, spec, port):
        return self._run(image, name)

    def execute(self, image, *, name, labels, command, timeout):
        return self._run(image, name)

    def files(self, image, *, name, labels, root):
        return self.files_of(self.images[image.image_id])

    def remove_container(self, name):
        self.containers.discard(name)

    def remove_image(self, tag):
        self.removed_tags.append(tag)

    def sweep(self, token):
        self.swept.append(token)


def gcc_behaviour(text: str) -> RunOutcome:
    if "python:3.11-slim" in text:
        return RunOutcome("exited", 127, 'exec: "gcc": executable file not found in $PATH', 0.1)
    return RunOutcome("exited", 0, "gcc (Debian 12.2.0-14) 12.2.0\n", 0.1)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    (tmp_path / "app.py").write_text("print('hi')\n")
    return path


def test_all_fixes_pass_two_builds(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(behave=lambda text: RunOutcome("running", seconds=5))
    result = verify_file(path, FixOptions(unsafe=True), engine=engine)
    assert not result.rejected
    assert result.builds == 2 and len(engine.built) == 2
    assert "python:3.11-slim" in path.read_text()
    assert result.written and result.fixed.size < result.original.size
    assert (tmp_path / "Dockerfile.orig").read_text() == GCC_APP


def test_breaking_fix_is_rejected_and_the_rest_written(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(behave=gcc_behaviour)
    result = verify_file(path, FixOptions(unsafe=True), engine=engine)
    assert [r.code for r in result.rejected] == ["DC140"]
    assert "exit code 127 instead of 0" in result.rejected[0].reason
    assert "gcc" in result.rejected[0].detail
    text = path.read_text()
    assert text.startswith("FROM python:3.11\n")
    assert "--no-install-recommends" in text
    # DC131's pip cache mount supersedes DC110's --no-cache-dir: DC110 is never tried
    assert "target=/root/.cache/pip pip install flask" in text and "--no-cache-dir" not in text
    assert set(result.kept) == {"DC103", "DC131"}
    # original, all fixes, then DC103, +DC131; +DC140 equals "all fixes": not rebuilt
    assert len(engine.built) == 4 and result.builds == 4
    assert result.trials[-1].reused and not result.trials[-1].passed
    # the written text is exactly the last passing trial
    assert engine.built[-1] == text
    # the rejected fix's finding is still there to fix by hand
    assert [f.code for f in result.fix.remaining if f.code == "DC140"] == ["DC140"]


def test_safe_groups_are_tried_first(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(behave=gcc_behaviour)
    result = verify_file(path, FixOptions(unsafe=True), engine=engine)
    assert [t.codes for t in result.trials[1:]] == [
        ("DC103",), ("DC103", "DC131"), ("DC103", "DC131", "DC140"),
    ]


def test_build_failure_is_attributed_with_the_log_tail(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(broken=lambda text: "--no-cache-dir" in text)
    result = verify_file(path, FixOptions(), engine=engine)
    assert [r.code for r in result.rejected] == ["DC110"]
    assert result.rejected[0].reason == "the fixed Dockerfile does not build"
    assert "exit code 100" in result.rejected[0].detail
    assert "--no-cache-dir" not in path.read_text() and "--no-install-recommends" in path.read_text()


def test_single_code_rejected_writes_nothing(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(behave=gcc_behaviour)
    result = verify_file(path, FixOptions(unsafe=True, select=["DC140"]), engine=engine)
    assert [r.code for r in result.rejected] == ["DC140"]
    assert not result.written and path.read_text() == GCC_APP
    assert not (tmp_path / "Dockerfile.orig").exists()
    assert result.fixed is None and len(engine.built) == 2


def test_original_that_does_not_build_writes_nothing(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(broken=lambda text: True)
    with pytest.raises(VerifyError, match="original does not build"):
        verify_file(path, FixOptions(), engine=engine)
    assert path.read_text() == GCC_APP


def test_original_failing_its_expectation_is_an_error(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(behave=lambda text: RunOutcome("exited", 0, "something else"))
    with pytest.raises(VerifyError, match="fails the smoke check"):
        verify_file(path, FixOptions(), VerifyOptions(smoke=SmokeSpec(command="x", expect="hello")), engine=engine)
    assert path.read_text() == GCC_APP


def test_nothing_to_fix_builds_nothing(tmp_path):
    path = write(tmp_path, "FROM python:3.11-slim\nCMD [\"python\"]\n")
    engine = FakeEngine()
    result = verify_file(path, FixOptions(unsafe=True), engine=engine)
    assert engine.built == [] and result.original is None and report_lines(result) == []


def test_file_differences_reject(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(files_of=lambda text: {"app.py": 10} if "slim" not in text else {})
    result = verify_file(path, FixOptions(unsafe=True), engine=engine)
    assert [r.code for r in result.rejected] == ["DC140"]
    assert "1 file(s) under /app differ" in result.rejected[0].reason
    assert result.rejected[0].detail == "- app.py"


def test_unstable_output_compares_exit_codes_only(tmp_path):
    path = write(tmp_path, GCC_APP)
    counter = iter(range(100))
    engine = FakeEngine(behave=lambda text: RunOutcome("exited", 0, f"random {next(counter)}"))
    result = verify_file(path, FixOptions(unsafe=True), engine=engine)
    assert not result.rejected
    assert any("only exit codes" in note for note in result.notes)


def test_diff_mode_verifies_but_writes_nothing(tmp_path):
    path = write(tmp_path, GCC_APP)
    result = verify_file(path, FixOptions(unsafe=True), engine=FakeEngine(behave=gcc_behaviour), write=False)
    assert path.read_text() == GCC_APP
    assert "apt-get install --no-install-recommends -y curl" in result.fix.diff()
    assert "slim" not in result.fix.diff()


def test_cleanup_on_interrupt(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(interrupt_on_build=2)
    with pytest.raises(KeyboardInterrupt):
        verify_file(path, FixOptions(), engine=engine)
    assert path.read_text() == GCC_APP
    assert engine.removed_tags and all(t.startswith(PREFIX + "-") for t in engine.removed_tags)
    assert len(engine.swept) == 1 and not engine.containers


def test_cleanup_after_success_removes_every_tag(tmp_path):
    path = write(tmp_path, GCC_APP)
    engine = FakeEngine(behave=gcc_behaviour)
    verify_file(path, FixOptions(unsafe=True), engine=engine)
    tags = [t for t in engine.images if t.startswith(PREFIX)]
    assert sorted(engine.removed_tags) == sorted(tags)


def test_dockerignore_fix_travels_with_the_trial(tmp_path):
    path = write(tmp_path, "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n")
    (tmp_path / ".env").write_text("SECRET=1\n")
    seen = []

    class Engine(FakeEngine):
        def build(self, *, context, dockerfile, tag, **kwargs):
            ignore = Path(str(dockerfile) + ".dockerignore")
            seen.append(ignore.read_text() if ignore.exists() else None)
            return super().build(context=context, dockerfile=dockerfile, tag=tag, **kwargs)

    engine = Engine(files_of=lambda text: {"app.py": 10, ".env": 9} if len(seen) == 1 else {"app.py": 10})
    result = verify_file(path, FixOptions(unsafe=True), engine=engine)
    if not result.full.other_files:
        pytest.skip("no .dockerignore fix in this tree")
    assert seen[0] is None and ".env" in seen[1]
    assert not result.rejected  # .env vanished because the new .dockerignore excludes it
    assert ".env" in (tmp_path / ".dockerignore").read_text()


# ------------------------------------------------------------------------------ comparisons
def test_normalize_masks_container_names_and_times():
    a = normalize_output("host abc123 started at 2024-05-01T10:00:01.123Z in 12 ms", ["abc123"])
    b = normalize_output("host def456 started at 2024-05-02T11:22:33Z in 15 ms", ["def456"])
    assert a == b


def test_compare_runs():
    up = RunOutcome("running", seconds=5)
    down = RunOutcome("exited", 1, "boom")
    assert compare_runs(up, up) is None
    assert "stays up" in compare_runs(up, down)[0]
    assert compare_runs(down, RunOutcome("exited", 1, "boom")) is None
    assert compare_runs(down, RunOutcome("exited", 1, "bang"))[0] == "the output differs"
    assert compare_runs(down, RunOutcome("exited", 1, "bang"), compare_output=False) is None
    web = RunOutcome("running", probe=Probe(200, "hello"))
    assert compare_runs(web, RunOutcome("running", probe=Probe(500, "oops")))[0].startswith("the port answers HTTP 500")
    assert compare_runs(web, RunOutcome("running", probe=Probe(200, "bye")), expect="hello")[0].startswith("'hello'")


def test_compare_files():
    a = {"app.py": 10, "lib": -1, "gone.txt": 3, ".cache/pip/x": 99}
    b = {"app.py": 11, "lib": -1, "new.txt": 4}
    changes = compare_files(a, b, lambda p: p.startswith(".cache/"))
    assert changes == ["~ app.py (10 -> 11 bytes)", "- gone.txt", "+ new.txt"]


def test_smoke_spec_from_json():
    spec = SmokeSpec.from_json({"port": 8000, "command": None, "expect": "hello"})
    assert spec.port == 8000 and spec.command is None and spec.expect == "hello"
    assert "HTTP GET :8000/" in spec.describe()


def test_cli_without_engine_says_how_to_start_one(tmp_path, monkeypatch):
    path = write(tmp_path, GCC_APP)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    outcome = CliRunner().invoke(main, ["fix", "--verify", str(path)])
    assert outcome.exit_code == 2
    assert "No Docker engine answers" in outcome.output and "Start one" in outcome.output
    assert path.read_text() == GCC_APP


# ------------------------------------------------------------------------------ the real engine
APT_APP = """FROM debian:bookworm-slim
WORKDIR /app
COPY greet.sh .
RUN apt-get update
RUN apt-get install -y curl
CMD ["sh", "greet.sh"]
"""


@pytest.fixture
def token(monkeypatch) -> str:
    """Pin this test's verification token (other runs may verify at the same time)."""
    value = "t" + uuid.uuid4().hex[:12]
    monkeypatch.setenv("DECRUFT_VERIFY_TOKEN", value)
    return value


def _leftovers(docker, token: str) -> tuple[list, list]:
    containers = [c.name for c in docker.containers.list(all=True, filters={"label": f"{LABEL}={token}"})]
    containers += [c.name for c in docker.containers.list(all=True) if c.name.startswith(f"{PREFIX}-{token}")]
    images = [t for i in docker.images.list() for t in i.tags if t.startswith(f"{PREFIX}-{token}")]
    images += [i.id for i in docker.images.list(filters={"label": f"{LABEL}={token}"})]
    return containers, images


@pytest.mark.docker
def test_real_verify_apt_without_cleanup(tmp_path, docker, token):
    (tmp_path / "greet.sh").write_text("echo hello from greet; curl --version | head -1 | cut -d' ' -f1,2\n")
    path = tmp_path / "Dockerfile"
    path.write_text(APT_APP)
    outcome = CliRunner().invoke(main, ["fix", "--verify", str(path)])
    assert outcome.exit_code == 0, outcome.output
    assert "verified with" in outcome.output and "original" in outcome.output
    text = path.read_text()
    assert "apt-get update && apt-get install" in text and "--no-install-recommends" in text
    assert "RUN apt-get update\n" not in text
    result = verify_file(path.with_name("Dockerfile.orig"), FixOptions(), write=False)
    assert result.fixed is not None and result.fixed.size < result.original.size
    assert result.baseline.run.state == "exited" and result.baseline.run.exit_code == 0
    assert "hello from greet" in result.baseline.run.output
    assert result.final.run.output == result.baseline.run.output
    assert result.baseline.files == {"greet.sh": (tmp_path / "greet.sh").stat().st_size}
    assert not result.rejected
    assert _leftovers(docker, token) == ([], [])


@pytest.mark.docker
def test_real_verify_rejects_a_fix_the_smoke_command_notices(tmp_path, docker, token):
    # --no-install-recommends (DC103) installs fewer packages, and this smoke command prints how
    # many are installed: DC103 must be rejected, DC101 (merging the update) kept.
    source = "FROM debian:bookworm-slim\nRUN apt-get update\nRUN apt-get install -y curl\nCMD [\"true\"]\n"
    path = tmp_path / "Dockerfile"
    path.write_text(source)
    smoke = "dpkg-query -W -f='${Package}\\n' | wc -l"
    outcome = CliRunner().invoke(main, ["fix", "--smoke", smoke, str(path)])
    assert outcome.exit_code == 0, outcome.output
    assert "rejected DC103: the fixed image behaves differently: the output differs" in outcome.output
    assert "fixed DC101" in outcome.output
    assert path.read_text() == (
        "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n"
        "CMD [\"true\"]\n"
    )
    assert (tmp_path / "Dockerfile.orig").read_text() == source
    assert _leftovers(docker, token) == ([], [])


@pytest.mark.docker
def test_real_verify_rejects_a_base_swap_that_drops_a_binary(tmp_path, docker, token):
    source = (
        "FROM python:3.11\n"
        "WORKDIR /app\n"
        "COPY app.py .\n"
        "RUN pip install six==1.16.0\n"
        'CMD ["sh", "-c", "gcc --version | head -1 && python app.py"]\n'
    )
    (tmp_path / "app.py").write_text("import six\nprint('app ok', six.__version__)\n")
    path = tmp_path / "Dockerfile"
    path.write_text(source)
    result = verify_file(path, FixOptions(unsafe=True))
    assert [r.code for r in result.rejected] == ["DC140"]
    assert "exit code 127 instead of 0" in result.rejected[0].reason or "output" in result.rejected[0].reason
    text = path.read_text()
    # --unsafe: DC131's pip cache mount (supersedes DC110's --no-cache-dir) built and passed
    assert text.startswith("FROM python:3.11\n")
    assert "--mount=type=cache,target=/root/.cache/pip pip install six" in text
    assert "DC131" in result.kept and "DC110" not in result.kept
    assert "app ok 1.16.0" in result.final.run.output
    assert result.fixed.size <= result.original.size
    lines = "\n".join(report_lines(result))
    assert "rejected DC140" in lines and "gcc" in lines
    assert _leftovers(docker, token) == ([], [])


@pytest.mark.docker
def test_real_interrupt_leaves_nothing_behind(tmp_path, docker, token):
    import signal
    import sys
    import time

    (tmp_path / "greet.sh").write_text("echo hi\n")
    path = tmp_path / "Dockerfile"
    path.write_text(APT_APP.replace('CMD ["sh", "greet.sh"]', 'CMD ["sleep", "600"]'))
    process = subprocess.Popen(
        [sys.executable, "-m", "decruft", "fix", "--verify", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # a suite started in the background (`cmd &`) inherits SIGINT ignored: Ctrl-C as a user has it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # wait until the first container runs, then interrupt
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if any(c.name.startswith(f"{PREFIX}-{token}") for c in docker.containers.list()):
            break
        if process.poll() is not None:
            break
        time.sleep(0.5)
    running = any(c.name.startswith(f"{PREFIX}-{token}") for c in docker.containers.list())
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert running, output
    assert process.returncode != 0 and "verified with" not in output, output
    assert path.read_text() == APT_APP.replace('CMD ["sh", "greet.sh"]', 'CMD ["sleep", "600"]')
    assert _leftovers(docker, token) == ([], [])
