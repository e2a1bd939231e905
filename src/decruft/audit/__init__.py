"""``decruft audit``: run the rules over Dockerfiles and their build contexts.

Library entry points: :func:`audit_source` for one Dockerfile given as text or
bytes, :func:`audit_files` for paths (what the CLI calls).

Many files are audited on every CPU the process may use (like ruff): the files are
independent, so :func:`audit_files` splits them into contiguous chunks and runs each in a
forked worker (the rule registry and data tables are already loaded, so a worker starts
in milliseconds). Results come back in input order, as JSON rows (`decruft.audit.transfer`),
and equal a sequential run's.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from decruft.audit import transfer
from decruft.audit.config import AuditConfig, find_config, load_config
from decruft.audit.context import RuleContext
from decruft.audit.pragmas import collect
from decruft.audit.rule import Finding, Severity, selected_rules
from decruft.dockerfile import parse
from decruft.dockerfile.model import build_model
from decruft.errors import DecruftError, DockerfileSyntaxError
from decruft.files import InputError, read_source
from decruft.gcpause import collect_finished_work, gc_paused

__all__ = [
    "AuditOptions",
    "AuditResult",
    "FileResult",
    "Finding",
    "Severity",
    "audit_files",
    "audit_source",
]


@dataclass(slots=True)
class AuditOptions:
    context: str | None = None  # build context directory; default: the Dockerfile's directory
    target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    select: list[str] | None = None
    ignore: list[str] | None = None
    fail_on: str | None = None  # overrides the config file
    config: AuditConfig | None = None  # skip config discovery when given
    scan_context: bool = True
    # Files the audit should read from memory instead of disk (the fix engine's
    # pending .dockerignore), by name relative to the context.
    file_overrides: dict[str, str] = field(default_factory=dict)
    external_image_registry: str | None = None  # overrides the config file


@dataclass(slots=True)
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    syntax_error: DockerfileSyntaxError | None = None
    error: str | None = None  # unreadable file etc.
    warnings: list[str] = field(default_factory=list)
    fail_on: str = "warning"
    # A rule (or the model) that raised on this file: a decruft bug. The other rules' findings
    # are kept and the run goes on, but the exit code is 2 so that CI does not pass silently.
    internal_errors: list[str] = field(default_factory=list)
    # The text audited (undecodable bytes replaced), for reports that quote source lines: the
    # file may have changed since, or was stdin, and reading it again was about 40 % of the
    # text report's time.
    source: str | None = field(default=None, repr=False)


@dataclass(slots=True)
class AuditResult:
    files: list[FileResult] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.files for finding in result.findings]

    def exit_code(self) -> int:
        """0 clean, 1 findings at or above fail-on, 2 usage/syntax/input/internal errors."""
        if self.input_errors or any(r.syntax_error or r.error or r.internal_errors for r in self.files):
            return 2
        for result in self.files:
            if result.fail_on == "never":
                continue
            threshold = Severity(result.fail_on).rank
            if any(f.severity.rank >= threshold for f in result.findings):
                return 1
        return 0


def _effective_config(options: AuditOptions, near: Path | None) -> AuditConfig:
    return _with_options(options.config or load_config(find_config(near or Path.cwd())), options)


def _with_options(config: AuditConfig, options: AuditOptions) -> AuditConfig:
    """A copy of ``config`` (never the caller's object) with the command line's overrides."""
    config = replace(config, ignore=list(config.ignore), severity=dict(config.severity))
    if options.select is not None:
        config.select = list(options.select)
    if options.ignore:
        config.ignore = [*config.ignore, *options.ignore]
    if options.fail_on is not None:
        config.fail_on = options.fail_on
    return config


def audit_source(
    source: str | bytes,
    path: str | None = None,
    options: AuditOptions | None = None,
    context_dir: Path | None = None,
) -> FileResult:
    """Audit one Dockerfile given as text; never raises for a bad Dockerfile."""
    options = options or AuditOptions()
    try:
        config = _effective_config(options, context_dir)
    except DecruftError as exc:
        return FileResult(path or "-", error=str(exc))
    return _audit_with(source, path, options, config, context_dir)


def _audit_with(
    source: str | bytes, path: str | None, options: AuditOptions, config: AuditConfig, context_dir: Path | None
) -> FileResult:
    try:
        return _audit_unguarded(source, path, options, config, context_dir)
    except Exception as exc:  # noqa: BLE001 - a bug in the parser or the model: the other files go on
        return FileResult(path or "-", fail_on=config.fail_on, internal_errors=[_internal_error("the audit", exc)])


def _audit_unguarded(
    source: str | bytes, path: str | None, options: AuditOptions, config: AuditConfig, context_dir: Path | None
) -> FileResult:
    result = FileResult(path or "-")
    result.source = source if isinstance(source, str) else bytes(source).decode("utf-8", "replace")
    result.fail_on = config.fail_on
    try:
        dockerfile = parse(source, path=path)
    except DockerfileSyntaxError as exc:
        result.syntax_error = exc
        return result
    model = build_model(dockerfile, build_args=options.build_args)
    try:
        model.target_stage(options.target)
    except KeyError as exc:
        result.error = f"{path or '-'}: {exc.args[0]}"
        return result
    if options.context is not None:
        context_dir = Path(options.context)
    context = RuleContext(
        dockerfile,
        model,
        target=options.target,
        context_dir=context_dir if options.scan_context else None,
        file_overrides=options.file_overrides,
        external_image_registry=options.external_image_registry or config.external_image_registry,
    )
    suppressions = collect(dockerfile)
    starts = [ins.start_line for ins in dockerfile.instructions]
    findings: list[Finding] = []
    for registered in selected_rules(config.select, config.ignore):
        try:
            found = [finding for finding in registered.run(context) if finding is not None]
        except Exception as exc:  # noqa: BLE001 - one rule's bug must not cost the others
            result.internal_errors.append(_internal_error(f"rule {registered.code}", exc))
            continue
        for finding in found:
            if suppressions.suppressed(finding, _owning_line(starts, finding.line)):
                continue
            override = config.severity.get(finding.code)
            if override is not None:
                finding.severity = override
            findings.append(finding)
    findings.sort(key=Finding.sort_key)
    result.findings = findings
    result.warnings = [*dockerfile.warnings, *model.warnings, *context.warnings]
    return result


def _internal_error(what: str, exc: Exception) -> str:
    return (f"{what} failed on this file ({type(exc).__name__}: {exc}); this is a decruft bug, "
            "please report it with the Dockerfile")


def _owning_line(starts: list[int], line: int) -> int:
    """Start line of the instruction containing ``line`` (pragmas are keyed by it)."""
    index = bisect.bisect_right(starts, line) - 1
    return starts[index] if index >= 0 else line


# Below this many files a second process costs more than it saves.
PARALLEL_MIN_FILES = 32


def default_jobs() -> int:
    """CPUs this process may run on (respects taskset/cgroup affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def audit_files(paths: list[str], options: AuditOptions | None = None, *, jobs: int | None = None) -> AuditResult:
    """Audit Dockerfiles by path; ``jobs`` worker processes (default: one per CPU)."""
    options = options or AuditOptions()
    workers = min(jobs or default_jobs(), max(1, len(paths) // (PARALLEL_MIN_FILES // 2)))
    if workers > 1 and "-" not in paths and len(paths) >= PARALLEL_MIN_FILES:
        return _audit_in_workers(paths, options, workers)
    return _audit_sequentially(paths, options)


def _audit_in_workers(paths: list[str], options: AuditOptions, workers: int) -> AuditResult:
    # Several chunks per worker keep both busy when some files (big contexts) are slow.
    chunk_count = workers * 4
    size = -(-len(paths) // chunk_count)
    chunks = [paths[start:start + size] for start in range(0, len(paths), size)]
    import multiprocessing  # here: a one-file audit (pre-commit) should not pay for the import
    from concurrent.futures import ProcessPoolExecutor

    result = AuditResult()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool, gc_paused():
        for packed in pool.map(_audit_chunk, chunks, [options] * len(chunks)):
            result.files.extend(transfer.unpack(*packed))
    return result


def _audit_chunk(paths: list[str], options: AuditOptions) -> tuple[str, bytes, dict]:
    """A worker's part, packed for the way back (see `decruft.audit.transfer`)."""
    with gc_paused():
        return transfer.pack(_audit_each(paths, options).files)


def _audit_sequentially(paths: list[str], options: AuditOptions) -> AuditResult:
    with gc_paused():
        return _audit_each(paths, options)


def _audit_each(paths: list[str], options: AuditOptions) -> AuditResult:
    result = AuditResult()
    # Config discovery once per directory in a run (sibling projects share their parents),
    # and each config file read and combined with the options once.
    configs: dict[Path | None, AuditConfig] = {}
    directories: dict = {}
    for path in paths:
        try:
            source = read_source(path)
        except InputError as exc:
            result.files.append(FileResult(path, error=str(exc)))
            continue
        try:
            config_path = find_config(source.context or Path.cwd(), directories) if options.config is None else None
            if config_path not in configs:
                configs[config_path] = _with_options(options.config or load_config(config_path), options)
        except DecruftError as exc:
            result.files.append(FileResult(source.path, error=str(exc)))
            continue
        result.files.append(_audit_with(source.data, source.path, options, configs[config_path], source.context))
        collect_finished_work()
    return result
