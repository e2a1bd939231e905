"""``decruft fix --verify``: prove on a real engine that the fixes keep the image working.

What is compared
----------------
The original and the fixed Dockerfile are built with BuildKit from the same context, with the
same build args and target (the fixed one from a temporary copy, so the file on disk is never
touched before the verdict; a fixed ``.dockerignore`` travels as ``<Dockerfile>.dockerignore``
next to that copy, which BuildKit prefers over the context's own). For each image decruft
records the uncompressed size (``docker image inspect`` ``Size``) and the build's wall time,
then runs a smoke check in both:

* default: start the image's ENTRYPOINT/CMD detached. It passes when both stay up for
  ``wait`` seconds, or both exit with the same code and the same output. When the image
  listens on a port (``port``, else the first EXPOSEd TCP port) the port is probed with an
  HTTP GET in both while they run; the answers must agree (status code, and ``expect`` when
  given must appear in both bodies).
* ``command``: a command run in both (a string goes through ``/bin/sh -c``, or is split into
  argv when the image has no ``/bin/sh``; a list is exec'd as is; the image's ENTRYPOINT is
  replaced). Exit code and output must match (and contain ``expect`` when given).

Output is compared after masking what differs between any two containers (their id and
hostname, timestamps, ``0x`` addresses). The original is run twice: when its own output
differs between runs, only exit codes are compared (and a note says so).

Then the files under the original's WORKDIR are listed in both images (path, and size for
regular files) with ``find -printf`` when the image has GNU find, else by streaming
``docker export`` through :mod:`tarfile`, headers only. A file missing, added or resized in
the fixed image fails the check, except where a fix meant it: paths the fixed
``.dockerignore`` now excludes, and package-manager cache directories (``.cache``, ``.npm``
...). WORKDIR ``/`` and system directories are not compared.

Which fixes are kept (the strategy and its cost)
-----------------------------------------------
1. Build the original (once) and observe it. If it does not build, nothing can be verified:
   `VerifyError`, nothing written. If it fails the user's own expectation (``expect``), the
   same.
2. Build with *all* fixes. Passes: every fix is kept. Cost: 2 builds, 3 smoke runs (the
   original twice), 2 file listings.
3. Fails: the fixes are grouped by rule code and added back one group at a time (safe-only
   groups first, then by code), each time building the kept groups plus the new one; a group
   whose addition builds and passes is kept, one that fails is rejected with the reason (build
   log tail or smoke difference). The written file is exactly the last passing trial, so the
   combination on disk was itself verified. A group that changes nothing on top of the kept
   ones (its edits only existed on top of a rejected fix) is dropped with a note.
   Cost: at most one more build and smoke run per rule code (N codes: at most N + 2 builds);
   BuildKit's cache makes the steps before the first changed line free. Trials whose text
   was already built are not built again.

Containers and images are named ``decruft-verify-<token>-...`` and labelled
``decruft-verify=<token>``; they are removed at the end, on errors, on Ctrl-C and on SIGTERM
(cleanup itself ignores further Ctrl-C).
"""

from __future__ import annotations

import contextlib
import difflib
import http.client
import os
import re
import secrets
import shlex
import socket
import tarfile
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence

from decruft.audit.rule import Applicability
from decruft.errors import DecruftError
from decruft.fix import AppliedFix, FixError, FixOptions, FixResult, _dockerignore_path, fix_source, write_atomic
from decruft.image.tarstream import IterReader
from decruft.interrupts import shielded, terminate_as_interrupt

PREFIX = "decruft-verify"
LABEL = "decruft-verify"

# WORKDIRs whose contents come from the base image as much as from the build: not compared.
_SYSTEM_DIRS = frozenset(
    {"", "/", "/bin", "/sbin", "/etc", "/lib", "/lib64", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib",
     "/usr/local", "/usr/local/bin", "/usr/local/lib", "/usr/share", "/var", "/var/lib", "/tmp"}
)  # fmt: skip
# Directories a fix may legitimately empty (package-manager caches), by path component.
_CACHE_PARTS = (".cache", ".npm", ".pnpm-store", ".yarn/cache", ".cargo/registry", "go/pkg/mod",
                ".gradle/caches", ".m2/repository", ".composer/cache", "__pycache__")  # fmt: skip


class VerifyError(FixError):
    """Verification could not run (the original does not build or fails its own smoke check)."""


# ---------------------------------------------------------------------------------- data
@dataclass(slots=True)
class SmokeSpec:
    """How to check that an image still behaves (see the module doc)."""

    command: str | list[str] | None = None
    port: int | None = None
    path: str = "/"
    expect: str | None = None
    wait: float = 5.0  # seconds a started container must stay up
    startup: float = 30.0  # seconds to wait for the port to answer
    timeout: float = 120.0  # seconds a command may run
    compare_files: bool = True

    @classmethod
    def from_json(cls, data: Mapping) -> "SmokeSpec":
        """``{"port": 8000, "command": null | "cmd" | [...], "expect": "text"}`` (smoke.json)."""
        return cls(
            command=data.get("command") or None,
            port=int(data["port"]) if data.get("port") else None,
            path=str(data.get("path") or "/"),
            expect=data.get("expect") or None,
        )

    @classmethod
    def from_file(cls, path: Path) -> "SmokeSpec":
        import json

        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise FixError(f"{path}: not a smoke check ({exc})") from None
        if not isinstance(data, dict):
            raise FixError(f"{path}: not a smoke check (expected a JSON object)")
        return cls.from_json(data)

    def describe(self) -> str:
        if self.command:
            shown = self.command if isinstance(self.command, str) else shlex.join(self.command)
            text = f"`{shown}` in both images: same exit code and output"
        else:
            text = "ENTRYPOINT/CMD in both images: both stay up, or exit alike"
            if self.port:
                text += f"; HTTP GET :{self.port}{self.path} answers alike"
        if self.expect:
            text += f"; output contains {self.expect!r}"
        return text


@dataclass(slots=True)
class VerifyOptions:
    smoke: SmokeSpec = field(default_factory=SmokeSpec)
    no_cache: bool = False  # build both cold (--no-cache)
    build_timeout: float | None = 3600.0
    docker: str | None = None  # the docker client (default: find_build_path's choice)
    on_progress: Callable[[str], None] | None = None


@dataclass(slots=True)
class ImageFacts:
    """A built image: what the comparison needs from ``docker image inspect``."""

    image_id: str
    size: int  # uncompressed bytes
    build_seconds: float
    steps: int = 0
    cached_steps: int = 0
    workdir: str = ""
    exposed: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Probe:
    status: int | None = None  # HTTP status; None: no answer
    body: str = ""
    error: str = ""

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else f"no answer ({self.error or 'refused'})"


@dataclass(slots=True)
class RunOutcome:
    """One container run."""

    state: str  # "running" (still up after the wait), "exited", "timeout", "error" (did not start)
    exit_code: int | None = None
    output: str = ""
    seconds: float = 0.0
    probe: Probe | None = None
    names: tuple[str, ...] = ()  # container id, hostname: masked when comparing output

    def describe(self) -> str:
        if self.state == "running":
            text = f"stays up ({self.seconds:.0f} s)"
        elif self.state == "exited":
            text = f"exits with code {self.exit_code} after {self.seconds:.1f} s"
        elif self.state == "timeout":
            text = f"still running after {self.seconds:.0f} s (timeout)"
        else:
            text = "does not start"
        if self.probe is not None:
            text += f", {self.probe.describe()}"
        return text


@dataclass(slots=True)
class Observation:
    run: RunOutcome
    files: dict[str, int] | None = None  # path under WORKDIR -> size (-1: not a regular file)
    files_note: str | None = None


class Engine(Protocol):
    """What verification needs from a container engine (`DockerEngine`; tests use a fake)."""

    description: str

    def build(self, *, context: Path, dockerfile: Path, tag: str, build_args: Mapping[str, str],
              target: str | None, no_cache: bool, labels: Mapping[str, str]) -> ImageFacts: ...

    def start(self, image: ImageFacts, *, name: str, labels: Mapping[str, str], spec: SmokeSpec,
              port: int | None) -> RunOutcome: ...

    def execute(self, image: ImageFacts, *, name: str, labels: Mapping[str, str],
                command: str | list[str], timeout: float) -> RunOutcome: ...

    def files(self, image: ImageFacts, *, name: str, labels: Mapping[str, str], root: str) -> dict[str, int] | None: ...

    def remove_container(self, name: str) -> None: ...

    def remove_image(self, tag: str) -> None: ...

    def sweep(self, label_value: str) -> None: ...


@dataclass(slots=True)
class Trial:
    """One verified candidate: the fixes of ``codes`` applied together."""

    codes: tuple[str, ...]
    passed: bool
    reason: str = ""
    detail: str = ""
    image: ImageFacts | None = None
    observation: Observation | None = None
    result: FixResult | None = None
    reused: bool = False  # same text as an earlier trial: not built again


@dataclass(slots=True)
class RejectedFix:
    code: str
    fixes: list[AppliedFix]
    reason: str
    detail: str = ""


@dataclass(slots=True)
class VerifyResult:
    path: str
    fix: FixResult  # the fixes kept (what is written)
    full: FixResult  # every fix the options allow
    original: ImageFacts | None = None
    fixed: ImageFacts | None = None  # the image of the kept fixes
    baseline: Observation | None = None
    final: Observation | None = None
    kept: list[str] = field(default_factory=list)
    rejected: list[RejectedFix] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    smoke: str = ""
    engine: str = ""
    written: bool = False

    @property
    def builds(self) -> int:
        return (1 if self.original is not None else 0) + sum(1 for t in self.trials if not t.reused)

    @property
    def size_change(self) -> float | None:
        """Relative size change of the kept fixes (-0.25: 25 % smaller)."""
        if self.original is None or self.fixed is None or not self.original.size:
            return None
        return (self.fixed.size - self.original.size) / self.original.size


# ---------------------------------------------------------------------------------- comparing
_TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?([.,]\d+)?(Z|[+-]\d\d:?\d\d)?|\b\d\d:\d\d:\d\d([.,]\d+)?\b"
    r"|\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d? \w{3} \d{4}\b|\b\w{3} \w{3} +\d\d? \d\d:\d\d:\d\d \w+ \d{4}\b"
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_DURATION = re.compile(r"\b\d+(\.\d+)?\s?(ms|µs|us|ns|s)\b")


def normalize_output(text: str, names: Sequence[str] = ()) -> str:
    """Mask what differs between two runs of the same program in different containers."""
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = text.replace(name, "<container>")
    text = _TIMESTAMP.sub("<time>", text)
    text = _ADDRESS.sub("<addr>", text)
    text = _DURATION.sub("<duration>", text)
    return text.replace("\r\n", "\n")


def _diff(a: str, b: str, a_name: str = "original", b_name: str = "fixed", limit: int = 30) -> str:
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), a_name, b_name, lineterm="", n=1))
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def compare_runs(original: RunOutcome, fixed: RunOutcome, *, compare_output: bool = True,
                 expect: str | None = None) -> tuple[str, str] | None:
    """``(reason, detail)`` when ``fixed`` behaves differently from ``original``, else None."""
    if original.state != fixed.state:
        return (
            f"the original {original.describe()}, the fixed image {fixed.describe()}",
            _tail(fixed.output) if fixed.output else "",
        )
    if original.state in ("exited", "error", "timeout"):
        if original.exit_code != fixed.exit_code:
            return (
                f"exit code {fixed.exit_code} instead of {original.exit_code}",
                _diff(original.output, fixed.output) or _tail(fixed.output),
            )
        if compare_output:
            a = normalize_output(original.output, original.names)
            b = normalize_output(fixed.output, fixed.names)
            if a != b:
                return ("the output differs", _diff(a, b))
    if original.probe is not None and fixed.probe is not None:
        if original.probe.status != fixed.probe.status:
            return (
                f"the port answers {fixed.probe.describe()} instead of {original.probe.describe()}",
                _tail(fixed.probe.body or fixed.output),
            )
    if expect:
        if not _satisfies(fixed, expect):
            return (f"{expect!r} is missing from the fixed image's answer", _tail(_answer(fixed)))
    return None


def _answer(run: RunOutcome) -> str:
    if run.probe is not None and run.probe.status is not None:
        return run.probe.body
    return run.output


def _satisfies(run: RunOutcome, expect: str) -> bool:
    return expect in _answer(run)


def compare_files(original: dict[str, int], fixed: dict[str, int],
                  expected: Callable[[str], bool] = lambda _p: False) -> list[str]:
    """Differences between two WORKDIR listings that no fix explains (``- path``, ``+ path``,
    ``~ path (a -> b bytes)``)."""
    out = []
    for path in sorted(original.keys() | fixed.keys()):
        a, b = original.get(path), fixed.get(path)
        if a == b or expected(path):
            continue
        if b is None:
            out.append(f"- {path}")
        elif a is None:
            out.append(f"+ {path}")
        elif a >= 0 and b >= 0:
            out.append(f"~ {path} ({a} -> {b} bytes)")
        elif (a < 0) != (b < 0):
            out.append(f"~ {path} (file type changed)")
    return out


def _is_cache_path(path: str) -> bool:
    wrapped = "/" + path.strip("/") + "/"
    return any(f"/{part}/" in wrapped for part in _CACHE_PARTS)


def _ignore_matcher(text: str | None):
    if text is None:
        return None
    from decruft.context.dockerignore import PatternMatcher, parse_ignore_text

    try:
        return PatternMatcher(parse_ignore_text(text), problems=[])
    except DecruftError:  # pragma: no cover - problems are collected, not raised
        return None


def _expected_differences(old_ignore: str | None, new_ignore: str | None,
                          dockerfile: str = "Dockerfile") -> Callable[[str], bool]:
    """Paths (relative to WORKDIR) a fix is allowed to drop or change: the files the fix
    itself writes (the Dockerfile, its ``.orig`` backup, ``.dockerignore``) when the context
    is copied in, caches, and what the fixed ``.dockerignore`` now excludes."""
    old = _ignore_matcher(old_ignore) if old_ignore != new_ignore else None
    new = _ignore_matcher(new_ignore) if old_ignore != new_ignore else None
    written = {dockerfile, dockerfile + ".orig", ".dockerignore", dockerfile + ".dockerignore"}

    def expected(path: str) -> bool:
        if _is_cache_path(path) or path.rsplit("/", 1)[-1] in written:
            return True
        if new is None:
            return False
        try:
            return new.walker_excludes(path) and not (old is not None and old.walker_excludes(path))
        except Exception:  # a deferred pattern error: BuildKit would fail the build anyway
            return False

    return expected


def judge(baseline: Observation, observation: Observation, *, compare_output: bool = True,
          expect: str | None = None, workdir: str = "", old_ignore: str | None = None,
          new_ignore: str | None = None, dockerfile: str = "Dockerfile",
          allowed: Callable[[str], bool] | None = None) -> tuple[str, str] | None:
    """``(reason, detail)`` when the fixed image's observation fails against the baseline.
    ``allowed`` marks more WORKDIR paths the change may drop or alter (e.g. pruned dev
    dependencies of a multi-stage conversion)."""
    difference = compare_runs(baseline.run, observation.run, compare_output=compare_output, expect=expect)
    if difference is not None:
        return "the fixed image behaves differently: " + difference[0], difference[1]
    if baseline.files is not None and observation.files is not None:
        expected = _expected_differences(old_ignore, new_ignore, dockerfile)
        if allowed is not None:
            fixed_expected = expected
            expected = lambda path: fixed_expected(path) or allowed(path)  # noqa: E731
        changes = compare_files(baseline.files, observation.files, expected)
        if changes:
            more = f"\n... ({len(changes) - 20} more)" if len(changes) > 20 else ""
            return f"{len(changes)} file(s) under {workdir} differ", "\n".join(changes[:20]) + more
    return None


@dataclass(slots=True)
class Comparison:
    """`compare_images`: both observations and the verdict (``reason`` empty when it passed)."""

    passed: bool
    reason: str
    detail: str
    original: Observation
    fixed: Observation
    notes: list[str] = field(default_factory=list)


def compare_images(original: ImageFacts, fixed: ImageFacts, spec: SmokeSpec | None = None, *,
                   engine: Engine, old_ignore: str | None = None, new_ignore: str | None = None,
                   dockerfile: str = "Dockerfile", allowed: Callable[[str], bool] | None = None,
                   prefix: str = PREFIX) -> Comparison:
    """The smoke check and file comparison of `verify_file`, on two images already built
    (``allowed``: see `judge`; ``prefix`` names the containers)."""
    spec = spec or SmokeSpec()
    session = _Session(engine, None, prefix)
    port = spec.port or (original.exposed[0] if original.exposed and not spec.command else None)
    notes: list[str] = []
    with terminate_as_interrupt():
        try:
            baseline = _observe(session, original, spec, "original", port, original.workdir)
            compare_output = True
            if baseline.run.state in ("exited", "timeout", "error"):
                again = _observe(session, original, spec, "original-again", port, original.workdir, list_files=False)
                if normalize_output(again.run.output, again.run.names) != normalize_output(
                    baseline.run.output, baseline.run.names
                ):
                    compare_output = False
                    notes.append("the original's output differs between two runs: only exit codes are compared")
            observation = _observe(session, fixed, spec, "fixed", port, original.workdir)
        finally:
            session.close()
    if spec.expect and not _satisfies(baseline.run, spec.expect):
        return Comparison(False, f"the original fails the smoke check ({spec.expect!r} not in its answer)",
                          _tail(_answer(baseline.run)), baseline, observation, notes)
    verdict = judge(baseline, observation, compare_output=compare_output, expect=spec.expect,
                    workdir=original.workdir, old_ignore=old_ignore, new_ignore=new_ignore, dockerfile=dockerfile,
                    allowed=allowed)
    reason, detail = verdict or ("", "")
    return Comparison(verdict is None, reason, detail, baseline, observation, notes)


# ---------------------------------------------------------------------------------- session
class _Session:
    """Names, tracks and removes every container and image one verification creates."""

    def __init__(self, engine: Engine, progress: Callable[[str], None] | None, prefix: str = PREFIX) -> None:
        self.engine = engine
        self.prefix = prefix
        # DECRUFT_VERIFY_TOKEN pins the token (tests and CI use it to find what a run created).
        pinned = re.sub(r"[^a-z0-9]", "", os.environ.get("DECRUFT_VERIFY_TOKEN", "").lower())[:32]
        self.token = pinned or secrets.token_hex(4)
        self.labels = {LABEL: self.token}
        self.tags: list[str] = []
        self.containers: list[str] = []
        self.progress = progress or (lambda _m: None)
        self._count = 0

    def tag(self, label: str) -> str:
        tag = f"{self.prefix}-{self.token}:{label}"
        self.tags.append(tag)
        return tag

    def container(self, what: str) -> str:
        self._count += 1
        name = f"{self.prefix}-{self.token}-{what}-{self._count}"
        self.containers.append(name)
        return name

    def close(self) -> None:
        with shielded():
            for name in self.containers:
                with contextlib.suppress(Exception):
                    self.engine.remove_container(name)
            for tag in self.tags:
                with contextlib.suppress(Exception):
                    self.engine.remove_image(tag)
            with contextlib.suppress(Exception):
                self.engine.sweep(self.token)


def _observe(session: _Session, image: ImageFacts, spec: SmokeSpec, what: str, port: int | None,
             workdir: str, list_files: bool = True) -> Observation:
    engine = session.engine
    if spec.command:
        run = engine.execute(image, name=session.container(what), labels=session.labels,
                             command=spec.command, timeout=spec.timeout)
    else:
        run = engine.start(image, name=session.container(what), labels=session.labels, spec=spec, port=port)
    observation = Observation(run)
    if not list_files:
        return observation
    if not spec.compare_files:
        observation.files_note = "file comparison turned off"
    elif workdir.rstrip("/") in _SYSTEM_DIRS:
        observation.files_note = f"WORKDIR is {workdir or '/'}: files not compared"
    else:
        observation.files = engine.files(image, name=session.container(what + "-files"),
                                         labels=session.labels, root=workdir)
        if observation.files is None:
            observation.files_note = "files under WORKDIR could not be listed"
    return observation


# ---------------------------------------------------------------------------------- the main entry
def verify_file(
    dockerfile: Path,
    options: FixOptions | None = None,
    verify: VerifyOptions | None = None,
    *,
    engine: Engine | None = None,
    write: bool = True,
    backup: bool = True,
) -> VerifyResult:
    """Fix ``dockerfile``, verify the fixes on an engine, and write only the ones that pass.

    Raises `VerifyError` when the original cannot be built or observed, `FixError` for file
    problems, `decruft.engine.EngineUnavailableError` when no engine answers.
    """
    options = replace(options) if options is not None else FixOptions()
    verify = verify or VerifyOptions()
    progress = verify.on_progress or (lambda _m: None)
    try:
        original_bytes = dockerfile.read_bytes()
    except OSError as exc:
        raise FixError(f"{dockerfile}: cannot read: {exc.strerror or exc}") from None
    source = original_bytes.decode("utf-8", "surrogateescape")
    context = Path(options.context or dockerfile.parent)
    options.context = context
    ignore_path = _dockerignore_path(dockerfile, context)
    old_ignore = ignore_path.read_bytes().decode("utf-8", "surrogateescape") if ignore_path.exists() else None
    others = {".dockerignore": old_ignore} if old_ignore is not None else {}
    full = fix_source(source, str(dockerfile), options, others)
    result = VerifyResult(str(dockerfile), full, full, smoke=verify.smoke.describe())
    if not full.changed:
        return result
    if write and not os.access(dockerfile, os.W_OK):
        raise FixError(f"{dockerfile}: read-only (file left untouched)")
    if engine is None:
        engine = DockerEngine(verify.docker, verify.build_timeout)
    result.engine = engine.description
    session = _Session(engine, progress)
    spec = verify.smoke
    codes = _ordered_codes(full)
    with terminate_as_interrupt(), tempfile.TemporaryDirectory(prefix=f"{PREFIX}-") as tmp:
        try:
            progress(f"building the original {dockerfile.name}")
            try:
                original = engine.build(
                    context=context, dockerfile=dockerfile, tag=session.tag("original"),
                    build_args=options.build_args, target=options.target, no_cache=verify.no_cache,
                    labels=session.labels,
                )
            except DecruftError as exc:
                raise VerifyError(
                    f"{dockerfile}: the original does not build, so the fixes cannot be verified "
                    f"(nothing written): {exc}"
                ) from None
            result.original = original
            port = spec.port or (original.exposed[0] if original.exposed and not spec.command else None)
            progress("smoke check of the original")
            baseline = _observe(session, original, spec, "original", port, original.workdir)
            compare_output = True
            if baseline.run.state in ("exited", "timeout", "error"):
                again = _observe(session, original, spec, "original-again", port, original.workdir, list_files=False)
                if normalize_output(again.run.output, again.run.names) != normalize_output(
                    baseline.run.output, baseline.run.names
                ):
                    compare_output = False
                    result.notes.append(
                        "the original's output differs between two runs: only exit codes are compared"
                    )
            result.baseline = baseline
            if baseline.files_note:
                result.notes.append(baseline.files_note)
            if spec.expect and not _satisfies(baseline.run, spec.expect):
                raise VerifyError(
                    f"{dockerfile}: the original image fails the smoke check ({spec.expect!r} not in its "
                    f"answer; it {baseline.run.describe()}), so the fixes cannot be verified (nothing "
                    f"written)\n{_tail(_answer(baseline.run))}"
                )
            if spec.command and baseline.run.state == "timeout":
                raise VerifyError(
                    f"{dockerfile}: the smoke command does not finish in the original image within "
                    f"{spec.timeout:g} s (nothing written)"
                )
            trials: dict[tuple, Trial] = {}

            def trial(selected: tuple[str, ...], fixed_result: FixResult) -> Trial:
                new_ignore = fixed_result.other_files.get(".dockerignore", (old_ignore, old_ignore))[1]
                key = (fixed_result.fixed, new_ignore)
                if key in trials:
                    previous = trials[key]
                    done = replace(previous, codes=selected, reused=True, result=fixed_result)
                    result.trials.append(done)
                    return done
                number = len(trials) + 1
                folder = Path(tmp) / f"trial-{number}"
                folder.mkdir()
                path = folder / dockerfile.name
                path.write_bytes(fixed_result.fixed.encode("utf-8", "surrogateescape"))
                if new_ignore is not None:
                    (folder / (dockerfile.name + ".dockerignore")).write_bytes(
                        new_ignore.encode("utf-8", "surrogateescape")
                    )
                progress(f"building with the fixes of {', '.join(selected)}")
                try:
                    image = engine.build(
                        context=context, dockerfile=path, tag=session.tag(f"trial-{number}"),
                        build_args=options.build_args, target=options.target, no_cache=verify.no_cache,
                        labels=session.labels,
                    )
                except DecruftError as exc:
                    done = Trial(selected, False, "the fixed Dockerfile does not build",
                                 getattr(exc, "log_tail", None) or str(exc), result=fixed_result)
                else:
                    progress("smoke check of the fixed image")
                    observation = _observe(session, image, spec, f"trial-{number}", port, original.workdir)
                    done = Trial(selected, True, image=image, observation=observation, result=fixed_result)
                    verdict = judge(baseline, observation, compare_output=compare_output, expect=spec.expect,
                                    workdir=original.workdir, old_ignore=old_ignore, new_ignore=new_ignore,
                                    dockerfile=dockerfile.name)
                    if verdict is not None:
                        done.passed, (done.reason, done.detail) = False, verdict
                trials[key] = done
                result.trials.append(done)
                return done

            everything = trial(tuple(codes), full)
            if everything.passed:
                _keep(result, everything, codes)
            elif len(codes) == 1:
                result.rejected.append(_rejection(full, codes[0], everything))
                result.fix = _unchanged(full)
            else:
                kept: list[str] = []
                kept_trial: Trial | None = None
                kept_text = (full.original, old_ignore)
                for code in codes:
                    selected = tuple(kept + [code])
                    candidate = fix_source(source, str(dockerfile), replace(options, select=list(selected)), others)
                    candidate_ignore = candidate.other_files.get(".dockerignore", (old_ignore, old_ignore))[1]
                    if (candidate.fixed, candidate_ignore) == kept_text:
                        result.notes.append(
                            f"{code}: nothing to apply without the rejected fixes ({_descriptions(full, code)})"
                        )
                        continue
                    attempt = trial(selected, candidate)
                    if attempt.passed:
                        kept.append(code)
                        kept_trial = attempt
                        kept_text = (candidate.fixed, candidate_ignore)
                    else:
                        result.rejected.append(_rejection(full, code, attempt))
                if kept_trial is not None:
                    _keep(result, kept_trial, kept)
                else:
                    result.fix = _unchanged(full)
        finally:
            progress("removing the verification containers and images")
            session.close()
    if result.fix is not full:
        result.fix.remaining = _findings(result.fix, options)  # under the caller's selection
    if write and result.fix.changed:
        _write(dockerfile, original_bytes, result.fix, ignore_path, backup)
        result.written = True
    return result


def _findings(fixed: FixResult, options: FixOptions) -> list:
    from decruft.audit import AuditOptions, audit_source
    from decruft.audit.config import AuditConfig

    audit_options = AuditOptions(
        target=options.target, build_args=options.build_args,
        config=AuditConfig(select=options.select, ignore=list(options.ignore or [])),
        context=str(options.context) if options.context else None, scan_context=options.context is not None,
        file_overrides={name: new for name, (_old, new) in fixed.other_files.items()},
        external_image_registry=options.external_image_registry,
    )
    return audit_source(fixed.fixed, fixed.path, audit_options, options.context).findings


def _keep(result: VerifyResult, trial: Trial, codes: list[str]) -> None:
    assert trial.result is not None
    result.fix = trial.result
    # A kept group whose fix a later one superseded (Rule.supersedes) is not in the file.
    applied = {fix.code for fix in trial.result.applied}
    result.kept = [code for code in codes if code in applied]
    result.fixed = trial.image
    result.final = trial.observation
    if trial.observation is not None and trial.observation.files_note:
        if trial.observation.files_note not in result.notes:
            result.notes.append(trial.observation.files_note)


def _unchanged(full: FixResult) -> FixResult:
    return FixResult(full.path, full.original, full.original,
                     other_files={k: (old, old) for k, (old, _new) in full.other_files.items()})


def _ordered_codes(full: FixResult) -> list[str]:
    """Rule codes of the applied fixes: safe-only codes first, then by code."""
    codes = dict.fromkeys(applied.code for applied in full.applied)
    unsafe = {a.code for a in full.applied if a.applicability is not Applicability.SAFE}
    return sorted(codes, key=lambda code: (code in unsafe, code))


def _descriptions(full: FixResult, code: str) -> str:
    return "; ".join(dict.fromkeys(a.description for a in full.applied if a.code == code))


def _rejection(full: FixResult, code: str, attempt: Trial) -> RejectedFix:
    return RejectedFix(code, [a for a in full.applied if a.code == code], attempt.reason, attempt.detail)


def _write(dockerfile: Path, original_bytes: bytes, fixed: FixResult, ignore_path: Path, backup: bool) -> None:
    if dockerfile.read_bytes() != original_bytes:
        raise FixError(f"{dockerfile}: changed on disk while verifying (file left untouched)")
    if fixed.fixed != fixed.original:
        write_atomic(dockerfile, fixed.fixed, backup=backup)
    for name, (old, new) in fixed.other_files.items():
        if old != new and name == ".dockerignore":
            write_atomic(ignore_path, new, backup=False)


# ---------------------------------------------------------------------------------- the real engine
class DockerEngine:
    """`Engine` on the local Docker engine: BuildKit builds through `decruft.engine.buildkit`,
    containers and inspection through docker-py."""

    def __init__(self, docker: str | None = None, build_timeout: float | None = 3600.0) -> None:
        from decruft.engine import docker_client, find_build_path, require_engine

        require_engine()
        self.path = find_build_path(docker)
        self.client = docker_client(timeout=300)
        self.build_timeout = build_timeout
        kind = {"buildx": "buildx", "builtin": "built-in BuildKit", "classic": "the classic builder"}[self.path.kind]
        self.description = f"{self.path.docker} ({kind})"
        if self.path.warning:
            self.description += f"; {self.path.warning}"

    # -- images
    def build(self, *, context, dockerfile, tag, build_args, target, no_cache, labels) -> ImageFacts:
        from decruft.engine import run_build

        built = run_build(
            context, tags=tag, file=dockerfile, build_args=dict(build_args), target=target,
            no_cache=no_cache, labels=dict(labels), path=self.path, timeout=self.build_timeout,
        )
        attrs = self.client.api.inspect_image(built.image_id)
        config = attrs.get("Config") or {}
        exposed = []
        for key in (config.get("ExposedPorts") or {}):
            number, _, proto = key.partition("/")
            if (proto or "tcp") == "tcp" and number.isdigit():
                exposed.append(int(number))
        return ImageFacts(
            built.image_id, int(attrs.get("Size") or 0), built.seconds, built.steps, built.cached_steps,
            config.get("WorkingDir") or "", sorted(exposed),
        )

    def remove_image(self, tag: str) -> None:
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):
            self.client.images.remove(tag, force=True)

    # -- containers
    def _create(self, image: ImageFacts, name: str, labels, **kwargs):
        return self.client.containers.create(image.image_id, name=name, labels=dict(labels), **kwargs)

    def remove_container(self, name: str) -> None:
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_container(name, force=True, v=True)

    def sweep(self, label_value: str) -> None:
        wanted = {"label": f"{LABEL}={label_value}"}
        for container in self.client.api.containers(all=True, filters=wanted):
            with contextlib.suppress(Exception):
                self.client.api.remove_container(container["Id"], force=True, v=True)
        for image in self.client.api.images(filters=wanted):
            with contextlib.suppress(Exception):
                self.client.api.remove_image(image["Id"], force=True)

    def _logs(self, container, limit: int = 1 << 20) -> str:
        data = container.logs(stdout=True, stderr=True)
        return data[-limit:].decode("utf-8", "replace")

    @staticmethod
    def _names(container) -> tuple[str, ...]:
        attrs = container.attrs or {}
        host = (attrs.get("Config") or {}).get("Hostname") or ""
        return tuple(n for n in (container.id, container.id[:12], host, attrs.get("Name", "").lstrip("/")) if n)

    def _start(self, container) -> str | None:
        """Start; the error text when the container cannot start."""
        import docker.errors

        try:
            container.start()
        except docker.errors.APIError as exc:
            return str(getattr(exc, "explanation", None) or exc)
        return None

    def start(self, image, *, name, labels, spec, port) -> RunOutcome:
        container = self._create(image, name, labels, detach=True)
        try:
            began = time.monotonic()
            error = self._start(container)
            if error is not None:
                return RunOutcome("error", None, _mask_id(error, container.id), 0.0, names=self._names(container))
            probe: Probe | None = Probe(error="not probed") if port else None
            deadline_up = began + spec.wait
            deadline_probe = began + max(spec.wait, spec.startup)
            while True:
                container.reload()
                state = container.attrs["State"]
                now = time.monotonic()
                if state.get("Status") in ("exited", "dead"):
                    code = state.get("ExitCode")
                    return RunOutcome("exited", code, self._logs(container), now - began, probe,
                                      self._names(container))
                if port and (probe is None or probe.status is None):
                    probe = _http_probe(_container_ip(container.attrs), port, spec.path)
                answered = not port or (probe is not None and probe.status is not None)
                if now >= deadline_up and (answered or now >= deadline_probe):
                    return RunOutcome("running", None, self._logs(container), now - began, probe,
                                      self._names(container))
                time.sleep(0.25)
        finally:
            self.remove_container(name)

    def execute(self, image, *, name, labels, command, timeout) -> RunOutcome:
        if isinstance(command, str):
            outcome = self._execute(image, name, labels, ["/bin/sh", "-c"], [command], timeout)
            if outcome.state == "error" and "/bin/sh" in outcome.output:
                argv = shlex.split(command)
                outcome = self._execute(image, name, labels, argv[:1], argv[1:], timeout)
            return outcome
        return self._execute(image, name, labels, list(command[:1]), list(command[1:]), timeout)

    def _execute(self, image, name, labels, entrypoint, args, timeout) -> RunOutcome:
        self.remove_container(name)
        container = self._create(image, name, labels, entrypoint=entrypoint, command=args)
        try:
            began = time.monotonic()
            error = self._start(container)
            if error is not None:
                return RunOutcome("error", None, _mask_id(error, container.id), 0.0, names=self._names(container))
            try:
                status = container.wait(timeout=timeout)
            except Exception:  # requests' ReadTimeout / ConnectionError
                return RunOutcome("timeout", None, self._logs(container), time.monotonic() - began,
                                  names=self._names(container))
            container.reload()
            return RunOutcome("exited", status.get("StatusCode"), self._logs(container),
                              time.monotonic() - began, names=self._names(container))
        finally:
            self.remove_container(name)

    def files(self, image, *, name, labels, root) -> dict[str, int] | None:
        listed = self._files_find(image, name, labels, root)
        if listed is None:
            listed = self._files_export(image, name + "-export", labels, root)
        return listed

    def _files_find(self, image, name, labels, root) -> dict[str, int] | None:
        container = self._create(
            image, name, labels, entrypoint=["find"], user="0:0",
            command=[root, "-mindepth", "1", "-printf", "%P\\t%s\\t%y\\n"],
        )
        try:
            if self._start(container) is not None:
                return None
            status = container.wait(timeout=300)
            data = container.logs(stdout=True, stderr=False).decode("utf-8", "surrogateescape")
        finally:
            self.remove_container(name)
        if status.get("StatusCode") != 0:
            return None
        listing: dict[str, int] = {}
        for line in data.splitlines():
            parts = line.rsplit("\t", 2)
            if len(parts) != 3 or not parts[1].isdigit():
                return None  # not GNU find's output (busybox ignores nothing: be safe)
            path, size, kind = parts
            listing[path] = int(size) if kind == "f" else -1
        return listing

    def _files_export(self, image, name, labels, root) -> dict[str, int] | None:
        container = self._create(image, name, labels, entrypoint=["/decruft-verify-never-run"])
        prefix = root.strip("/") + "/"
        listing: dict[str, int] = {}
        sizes: dict[str, int] = {}
        try:
            with tarfile.open(fileobj=IterReader(iter(container.export())), mode="r|") as archive:
                for member in archive:
                    path = _tar_path(member.name)
                    if member.isreg():
                        sizes[path] = member.size
                    if not path.startswith(prefix):
                        continue
                    rel = path[len(prefix):]
                    if member.isreg():
                        listing[rel] = member.size
                    elif member.islnk():
                        listing[rel] = sizes.get(_tar_path(member.linkname), -1)
                    else:
                        listing[rel] = -1
        except (tarfile.TarError, OSError):
            return None
        finally:
            self.remove_container(name)
        return listing


def _tar_path(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/").rstrip("/")


def _mask_id(text: str, container_id: str) -> str:
    return text.replace(container_id, "<container>").replace(container_id[:12], "<container>")


def _container_ip(attrs: dict) -> str | None:
    settings = attrs.get("NetworkSettings") or {}
    if settings.get("IPAddress"):
        return settings["IPAddress"]
    for network in (settings.get("Networks") or {}).values():
        if network.get("IPAddress"):
            return network["IPAddress"]
    return None


def _http_probe(host: str | None, port: int, path: str, timeout: float = 2.0) -> Probe:
    if not host:
        return Probe(error="the container has no IP address")
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": "localhost", "User-Agent": "decruft-verify"})
        response = connection.getresponse()
        body = response.read(1 << 16).decode("utf-8", "replace")
        return Probe(response.status, body)
    except (OSError, http.client.HTTPException, socket.timeout) as exc:
        return Probe(error=type(exc).__name__)
    finally:
        connection.close()


# ---------------------------------------------------------------------------------- report
def _size(count: int | None) -> str:
    from decruft.audit.rule import format_bytes

    return "-" if count is None else format_bytes(count)


def report_lines(result: VerifyResult) -> list[str]:
    """The verification summary as plain text lines (the CLI prints them)."""
    name = result.path
    if result.original is None:
        return []
    lines = [f"{name}: verified with {result.engine}; {result.builds} build(s)"]
    original = result.original
    lines.append(
        f"  original  {_size(original.size):>9}  built in {original.build_seconds:6.1f} s"
        f"  ({original.cached_steps}/{original.steps} steps cached)"
    )
    if result.fixed is not None:
        change = result.size_change
        shown = f"{change * 100:+.1f} %" if change is not None else ""
        lines.append(
            f"  fixed     {_size(result.fixed.size):>9}  built in {result.fixed.build_seconds:6.1f} s"
            f"  ({result.fixed.cached_steps}/{result.fixed.steps} steps cached)  {shown}"
        )
    else:
        lines.append("  fixed     no fix passed: the file is left as it was")
    lines.append(f"  smoke: {result.smoke}")
    if result.baseline is not None:
        lines.append(f"    original: {result.baseline.run.describe()}")
    if result.final is not None:
        lines.append(f"    fixed:    {result.final.run.describe()}")
        if result.final.files is not None and result.baseline is not None and result.baseline.files is not None:
            lines.append(f"    files under {original.workdir}: {len(result.baseline.files)} in the original, "
                         f"{len(result.final.files)} in the fixed image, no unexplained difference")
    for note in result.notes:
        lines.append(f"  note: {note}")
    for rejected in result.rejected:
        where = ", ".join(str(f.line) for f in rejected.fixes) or "?"
        lines.append(f"{name}:{where}: rejected {rejected.code}: {rejected.reason}")
        for fix in rejected.fixes:
            lines.append(f"    ({fix.applicability.value}) {fix.description}")
        for detail in rejected.detail.splitlines()[:30]:
            lines.append(f"    | {detail}")
    return lines
