"""``decruft audit``: run the rules over Dockerfiles and their build contexts.

Library entry points: :func:`audit_source` for one Dockerfile given as text or
bytes, :func:`audit_files` for paths (what the CLI calls).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from pathlib import Path

from decruft.audit.config import AuditConfig, find_config, load_config
from decruft.audit.context import RuleContext
from decruft.audit.pragmas import collect
from decruft.audit.rule import Finding, Severity, all_rules
from decruft.dockerfile import parse
from decruft.dockerfile.model import build_model
from decruft.errors import DecruftError, DockerfileSyntaxError
from decruft.files import InputError, read_source

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


@dataclass(slots=True)
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    syntax_error: DockerfileSyntaxError | None = None
    error: str | None = None  # unreadable file etc.
    warnings: list[str] = field(default_factory=list)
    fail_on: str = "warning"


@dataclass(slots=True)
class AuditResult:
    files: list[FileResult] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.files for finding in result.findings]

    def exit_code(self) -> int:
        """0 clean, 1 findings at or above fail-on, 2 usage/syntax/input errors."""
        if self.input_errors or any(r.syntax_error or r.error for r in self.files):
            return 2
        for result in self.files:
            if result.fail_on == "never":
                continue
            threshold = Severity(result.fail_on).rank
            if any(f.severity.rank >= threshold for f in result.findings):
                return 1
        return 0


def _effective_config(options: AuditOptions, near: Path | None) -> AuditConfig:
    config = options.config
    if config is None:
        config = load_config(find_config(near or Path.cwd()))
    else:
        # Never mutate the caller's object: audit_files applies the options once per file.
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
    result = FileResult(path or "-")
    try:
        config = _effective_config(options, context_dir)
    except DecruftError as exc:
        result.error = str(exc)
        return result
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
    )
    suppressions = collect(dockerfile)
    starts = [ins.start_line for ins in dockerfile.instructions]
    findings: list[Finding] = []
    for registered in all_rules():
        if not config.enabled(registered.code):
            continue
        for finding in registered.run(context):
            if finding is None:
                continue
            if suppressions.suppressed(finding.code, _owning_line(starts, finding.line)):
                continue
            override = config.severity.get(finding.code)
            if override is not None:
                finding.severity = override
            findings.append(finding)
    findings.sort(key=Finding.sort_key)
    result.findings = findings
    result.warnings = [*dockerfile.warnings, *model.warnings, *context.warnings]
    return result


def _owning_line(starts: list[int], line: int) -> int:
    """Start line of the instruction containing ``line`` (pragmas are keyed by it)."""
    index = bisect.bisect_right(starts, line) - 1
    return starts[index] if index >= 0 else line


def audit_files(paths: list[str], options: AuditOptions | None = None) -> AuditResult:
    options = options or AuditOptions()
    result = AuditResult()
    configs: dict[Path, AuditConfig] = {}  # config discovery once per directory in a run
    for path in paths:
        try:
            source = read_source(path)
        except InputError as exc:
            result.files.append(FileResult(path, error=str(exc)))
            continue
        file_options = options
        if options.config is None:
            near = (source.context or Path.cwd()).resolve()
            try:
                if near not in configs:
                    configs[near] = load_config(find_config(near))
            except DecruftError as exc:
                result.files.append(FileResult(source.path, error=str(exc)))
                continue
            file_options = replace(options, config=configs[near])
        result.files.append(audit_source(source.data, source.path, file_options, source.context))
    return result
