"""``decruft fix``: apply the audit's fixes as span edits, in rounds, until stable.

Every fix is a list of span replacements on the source text (never a re-print of
the tree), so everything a fix does not touch stays byte-identical.  After each
round the result is re-parsed (it must still be a valid Dockerfile) and
re-audited; fixes that overlap are resolved deterministically (rule code, then
position: the first wins, the other is retried next round on the new text).
"""

from __future__ import annotations

import bisect
import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from decruft.audit import AuditOptions, audit_source
from decruft.audit.config import AuditConfig
from decruft.audit.rule import Applicability, Edit, Finding, get_rule
from decruft.dockerfile import parse
from decruft.errors import DecruftError, DockerfileSyntaxError

MAX_ROUNDS = 8


class FixError(DecruftError):
    pass


@dataclass(slots=True)
class AppliedFix:
    code: str
    description: str
    line: int
    applicability: Applicability
    file: str | None = None  # None: the Dockerfile


@dataclass(slots=True)
class FixResult:
    path: str
    original: str
    fixed: str
    applied: list[AppliedFix] = field(default_factory=list)
    rejected: list[tuple[Finding, str]] = field(default_factory=list)  # finding, reason
    remaining: list[Finding] = field(default_factory=list)  # findings left after fixing
    other_files: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (old, new)
    rounds: int = 0

    @property
    def changed(self) -> bool:
        return self.fixed != self.original or any(old != new for old, new in self.other_files.values())

    def diff(self) -> str:
        parts = [_unified(self.original, self.fixed, self.path)]
        for name, (old, new) in sorted(self.other_files.items()):
            parts.append(_unified(old, new, name))
        return "".join(parts)


def _unified(old: str, new: str, name: str) -> str:
    if old == new:
        return ""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}"
        )
    )


@dataclass(slots=True)
class FixOptions:
    unsafe: bool = False
    select: list[str] | None = None
    ignore: list[str] | None = None
    target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    context: Path | None = None
    external_image_registry: str | None = None  # mirror of the images DC153 copies binaries from


def _allowed(applicability: Applicability, options: FixOptions) -> bool:
    if applicability is Applicability.SAFE:
        return True
    return applicability is Applicability.UNSAFE and options.unsafe


def _overlaps(edit: Edit, taken: list[Edit]) -> bool:
    for other in taken:
        if edit.span.start < other.span.end and other.span.start < edit.span.end:
            return True
        # Two insertions at the same point would depend on order: keep one per round.
        if edit.span.start == edit.span.end == other.span.start == other.span.end:
            return True
        if edit.span.start == edit.span.end and other.span.start < edit.span.start < other.span.end:
            return True
    return False


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits (any order given) to ``text``."""
    for edit in sorted(edits, key=lambda e: (e.span.start, e.span.end), reverse=True):
        text = text[: edit.span.start] + edit.replacement + text[edit.span.end :]
    return text


def fix_source(
    source: str,
    path: str = "Dockerfile",
    options: FixOptions | None = None,
    other_files: dict[str, str] | None = None,
) -> FixResult:
    """Fix ``source`` in memory; ``other_files`` holds e.g. the current .dockerignore text."""
    options = options or FixOptions()
    try:
        parse(source, path=path)
    except DockerfileSyntaxError as exc:
        raise FixError(f"not fixing {path}: {exc}") from None
    files = dict(other_files or {})
    result = FixResult(path, source, source, other_files={k: (v, v) for k, v in files.items()})
    config = AuditConfig(select=options.select, ignore=list(options.ignore or []))
    audit_options = AuditOptions(
        target=options.target,
        build_args=options.build_args,
        config=config,
        context=str(options.context) if options.context else None,
        scan_context=options.context is not None,
        external_image_registry=options.external_image_registry,
    )
    text = source
    for round_number in range(1, MAX_ROUNDS + 1):
        audit_options.file_overrides = {name: new for name, (_old, new) in result.other_files.items()}
        findings = _audit(text, path, audit_options, options.context)
        candidates = [
            f for f in findings if f.fix is not None and f.fix.edits and _allowed(f.fix.applicability, options)
        ]
        if not candidates:
            result.remaining = findings
            break
        result.rounds = round_number
        candidates = _without_superseded(candidates, text, path)
        taken: list[Edit] = []
        chosen: list[Finding] = []
        file_edits: dict[str, list[Edit]] = {}
        for finding in sorted(candidates, key=lambda f: (f.code, f.line, f.column)):
            fix = finding.fix
            assert fix is not None
            if fix.file is not None:
                file_edits.setdefault(fix.file, []).extend(fix.edits)
                chosen.append(finding)
                continue
            if any(_overlaps(edit, taken) for edit in fix.edits):
                continue
            taken.extend(fix.edits)
            chosen.append(finding)
        new_text = apply_edits(text, taken)
        if not _valid(new_text, path):
            new_text, chosen = _apply_one_by_one(text, path, chosen, result)
        text = new_text
        for name, edits in file_edits.items():
            old, current = result.other_files.get(name, ("", files.get(name, "")))
            result.other_files[name] = (old, apply_edits(current, edits))
        for finding in chosen:
            assert finding.fix is not None
            result.applied.append(
                AppliedFix(finding.code, finding.fix.description, finding.line, finding.fix.applicability, finding.fix.file)
            )
        if not chosen:
            result.remaining = findings
            break
    else:
        audit_options.file_overrides = {name: new for name, (_old, new) in result.other_files.items()}
        result.remaining = _audit(text, path, audit_options, options.context)
    result.fixed = text
    return result


def _without_superseded(candidates: list[Finding], text: str, path: str) -> list[Finding]:
    """Drop fixes that another candidate's fix replaces on the same instruction (Rule.supersedes).

    E.g. DC131's cache mount and DC110's ``--no-cache-dir`` on one RUN contradict each other;
    applying both would leave a mount that is never filled.
    """
    starts = [instruction.start_line for instruction in parse(text, path=path).instructions]

    def owner(finding: Finding) -> int:
        index = bisect.bisect_right(starts, finding.line) - 1
        return starts[index] if index >= 0 else finding.line

    superseded: set[tuple[int, str]] = set()
    for finding in candidates:
        registered = get_rule(finding.code)
        if registered is not None and finding.fix is not None and finding.fix.file is None:
            superseded.update((owner(finding), code) for code in registered.supersedes)
    if not superseded:
        return candidates
    return [finding for finding in candidates if (owner(finding), finding.code) not in superseded]


def _audit(text: str, path: str, options: AuditOptions, context: Path | None) -> list[Finding]:
    audited = audit_source(text, path, options, context)
    if audited.syntax_error is not None:  # pragma: no cover - guarded by _valid
        raise FixError(f"internal error: fixed file does not parse: {audited.syntax_error}")
    return audited.findings


def _valid(text: str, path: str) -> bool:
    try:
        parse(text, path=path)
    except DockerfileSyntaxError:
        return False
    return True


def _apply_one_by_one(text: str, path: str, chosen: list[Finding], result: FixResult):
    kept: list[Finding] = []
    edits: list[Edit] = []
    for finding in chosen:
        assert finding.fix is not None
        if finding.fix.file is not None:
            kept.append(finding)
            continue
        trial = apply_edits(text, [*edits, *finding.fix.edits])
        if _valid(trial, path):
            edits.extend(finding.fix.edits)
            kept.append(finding)
        else:
            result.rejected.append((finding, "the edited Dockerfile would not parse"))
    return apply_edits(text, edits), kept


# ---------------------------------------------------------------------- files on disk
def write_atomic(path: Path, text: str, *, backup: bool) -> None:
    """Replace ``path`` atomically, keeping ``<path>.orig`` when asked."""
    data = text.encode("utf-8", "surrogateescape")
    directory = path.parent
    try:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        if backup and path.exists():
            backup_path = path.with_name(path.name + ".orig")
            backup_path.write_bytes(path.read_bytes())
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_name, mode)
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
    except PermissionError:
        raise FixError(f"{path}: permission denied (file left untouched)") from None
    except OSError as exc:
        raise FixError(f"{path}: cannot write: {exc.strerror or exc} (file left untouched)") from None


def fix_file(
    dockerfile: Path,
    options: FixOptions | None = None,
    *,
    write: bool = True,
    backup: bool = True,
) -> FixResult:
    """Fix a Dockerfile on disk (and its .dockerignore); refuses if it changed meanwhile."""
    options = options or FixOptions()
    try:
        original_bytes = dockerfile.read_bytes()
    except OSError as exc:
        raise FixError(f"{dockerfile}: cannot read: {exc.strerror or exc}") from None
    source = original_bytes.decode("utf-8", "surrogateescape")
    context = options.context or dockerfile.parent
    options.context = context
    ignore_path = _dockerignore_path(dockerfile, context)
    others = {}
    if ignore_path.exists():
        others[".dockerignore"] = ignore_path.read_bytes().decode("utf-8", "surrogateescape")
    result = fix_source(source, str(dockerfile), options, others)
    if not write or not result.changed:
        return result
    if not os.access(dockerfile, os.W_OK):
        raise FixError(f"{dockerfile}: read-only (file left untouched)")
    if dockerfile.read_bytes() != original_bytes:
        raise FixError(f"{dockerfile}: changed on disk while fixing (file left untouched)")
    if result.fixed != result.original:
        write_atomic(dockerfile, result.fixed, backup=backup)
    for name, (old, new) in result.other_files.items():
        if old != new and name == ".dockerignore":
            write_atomic(ignore_path, new, backup=False)
    return result


def _dockerignore_path(dockerfile: Path, context: Path) -> Path:
    specific = dockerfile.with_name(dockerfile.name + ".dockerignore")
    if specific.exists():
        return specific
    return context / ".dockerignore"
