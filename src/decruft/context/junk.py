"""What a build context sends that it should not, and the ``.dockerignore`` lines that fix it.

The classes (VCS metadata, ``node_modules``, virtualenvs, bytecode, build outputs, IDE files,
large data, secrets) live in ``junk_classes.toml`` beside this module; this code only reads
the table. `detect_junk` attributes every sent path to at most one class (the outermost
claimed directory wins) and sums the exact bytes. `propose_dockerignore` turns findings into
BuildKit patterns that never exclude what a COPY/ADD needs, extends the existing ignore file
instead of rewriting it, and measures the result by really evaluating the new file with
`scan.scan_context`.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from decruft.context.dockerignore import (
    BUILDKIT,
    DockerignoreError,
    IgnoreRule,
    PatternMatcher,
    go_clean,
    go_path_match,
    parse_ignore_text,
)
from decruft.context.scan import (
    DIR,
    DOCKERIGNORE,
    FILE,
    ContextEntry,
    ContextScan,
    TreeSize,
    find_ignore_file,
    scan_context,
)

TABLE = Path(__file__).with_name("junk_classes.toml")
_CONTENT_PEEK_BYTES = 64 * 1024
# Wildcards, plus what Docker 20.10 leaves as live regexp syntax; "\\c" is literal in both.
_BUILDKIT_SPECIAL = re.compile(r"([*?\[\]\\+(){}|^])")
_GLOB_CHARS = frozenset("*?[\\")
BLOCK_HEADER = "# --- added by decruft: keeps junk out of the build context ---"


@dataclass(frozen=True)
class JunkClass:
    """One row of ``junk_classes.toml``."""

    id: str
    title: str
    kind: str
    why: str
    dir_names: frozenset[str] = frozenset()
    dir_globs: tuple[str, ...] = ()
    dir_markers: frozenset[str] = frozenset()
    file_names: frozenset[str] = frozenset()
    file_globs: tuple[str, ...] = ()
    file_except: tuple[str, ...] = ()
    path_suffixes: tuple[str, ...] = ()
    content_regex: re.Pattern[str] | None = None
    min_bytes: int = 0
    ignore_case: bool = False
    anywhere: bool = False


@dataclass
class JunkPath:
    """One claimed path: ``rule`` is the table name or glob that claimed it."""

    path: str
    is_dir: bool
    rule: str
    size: TreeSize = field(default_factory=TreeSize)


@dataclass
class JunkFinding:
    """Everything the context sends of one class, with exact bytes."""

    junk: JunkClass
    paths: list[JunkPath] = field(default_factory=list)

    @property
    def size(self) -> TreeSize:
        total = TreeSize()
        for item in self.paths:
            total.merge(item.size)
        return total


@dataclass
class ProposedPattern:
    """A line to add, why, and what it keeps out (measured on its own)."""

    pattern: str
    class_id: str
    title: str
    paths: list[str]
    size: TreeSize


@dataclass
class Proposal:
    """The ignore-file change decruft proposes, measured before and after."""

    ignore_file: Path
    existing_text: str
    text: str
    patterns: list[ProposedPattern]
    before: TreeSize
    after: TreeSize
    findings: list[JunkFinding]
    kept: list[tuple[str, str]]
    warnings: list[str]

    @property
    def saved(self) -> TreeSize:
        """Entries, files and bytes the proposal removes from the context."""
        return TreeSize(
            self.before.entries - self.after.entries,
            self.before.files - self.after.files,
            self.before.bytes - self.after.bytes,
        )


# --------------------------------------------------------------------------- the table


@lru_cache(maxsize=4)
def load_classes(path: Path = TABLE) -> tuple[JunkClass, ...]:
    """Read the class table (cached)."""
    with open(path, "rb") as handle:
        rows = tomllib.load(handle)["class"]
    return tuple(_junk_class(row) for row in rows)


def _junk_class(row: dict) -> JunkClass:
    sets = {k: frozenset(row.get(k, ())) for k in ("dir_names", "dir_markers", "file_names")}
    tuples = {k: tuple(row.get(k, ())) for k in ("dir_globs", "file_globs", "file_except",
                                                   "path_suffixes")}
    regex = row.get("content_regex")
    return JunkClass(
        id=row["id"], title=row["title"], kind=row["kind"], why=row["why"], **sets, **tuples,
        content_regex=re.compile(regex) if regex else None,
        min_bytes=int(row.get("min_bytes", 0)), ignore_case=bool(row.get("ignore_case")),
        anywhere=bool(row.get("anywhere")),
    )


# --------------------------------------------------------------------------- detection


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _first_glob(name: str, globs: Sequence[str]) -> str | None:
    if not globs:
        return None
    match = _combined_globs(tuple(globs)).match(name)
    return globs[int(match.lastgroup[1:])] if match else None


@lru_cache(maxsize=256)
def _combined_globs(globs: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a glob list (first matching glob wins), instead of fnmatch per glob."""
    return re.compile("|".join(f"(?P<g{i}>{fnmatch.translate(glob)})" for i, glob in enumerate(globs)))


def _dir_rule(junk: JunkClass, entry: ContextEntry, venvs: set[str]) -> str | None:
    """The name/glob by which ``junk`` claims a directory, if it does."""
    name = _basename(entry.path)
    if name in junk.dir_names:
        return name
    if junk.dir_markers and entry.path in venvs:
        return next(iter(sorted(junk.dir_markers)))
    return _first_glob(name, junk.dir_globs)


def _file_rule(junk: JunkClass, entry: ContextEntry, root: str) -> str | None:
    """The name/glob/suffix by which ``junk`` claims a file, if it does."""
    if entry.size < junk.min_bytes:
        return None
    name = _basename(entry.path)
    key = name.lower() if junk.ignore_case else name
    if _first_glob(key, junk.file_except):
        return None
    rule = name if name in junk.file_names else _first_glob(key, junk.file_globs)
    if rule is None:
        rule = next((s for s in junk.path_suffixes
                     if entry.path == s or entry.path.endswith("/" + s)), None)
    if rule is not None and junk.content_regex is not None:
        return rule if _content_matches(os.path.join(root, entry.path), junk.content_regex) else None
    return rule


def _content_matches(path: str, regex: re.Pattern[str]) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(_CONTENT_PEEK_BYTES)
    except OSError:
        return False
    return regex.search(head.decode("utf-8", "replace")) is not None


def _marker_dirs(entries: Sequence[ContextEntry], markers: frozenset[str]) -> set[str]:
    """Directories that contain a marker file (``pyvenv.cfg``)."""
    return {e.path.rpartition("/")[0] for e in entries
            if e.kind == FILE and _basename(e.path) in markers and "/" in e.path}


def detect_junk(
    context: ContextScan | str | os.PathLike[str],
    dockerfile: str | os.PathLike[str] | None = None,
    *,
    large_file_bytes: int | None = None,
    classes: Sequence[JunkClass] | None = None,
) -> list[JunkFinding]:
    """Junk the context sends today (after its current ignore file), by class, exact bytes."""
    scan = context if isinstance(context, ContextScan) else scan_context(context, dockerfile)
    classes = list(classes or load_classes())
    if large_file_bytes is not None:
        classes = [_with_threshold(c, large_file_bytes) for c in classes]
    entries = scan.entries or []
    prefilter = _prefilter(tuple(map(id, classes)), tuple(classes))
    venvs = _marker_dirs(entries, prefilter.markers)
    root = os.fspath(scan.root)
    findings: dict[str, JunkFinding] = {}
    open_dir: tuple[str, JunkPath] | None = None
    for entry in entries:
        if open_dir is not None and entry.path.startswith(open_dir[0]):
            open_dir[1].size.add(entry.kind, entry.size)
            continue
        open_dir = None
        if not prefilter.may_claim(entry, venvs):
            continue
        claim = _claim(entry, classes, venvs, root)
        if claim is None:
            continue
        junk, rule = claim
        item = JunkPath(entry.path, entry.kind == DIR, rule)
        item.size.add(entry.kind, entry.size)
        if junk.id not in findings:
            findings[junk.id] = JunkFinding(junk)
        findings[junk.id].paths.append(item)
        if entry.kind == DIR:
            open_dir = (entry.path + "/", item)
    order = {junk.id: position for position, junk in enumerate(classes)}
    return sorted(findings.values(), key=lambda finding: order[finding.junk.id])


def _with_threshold(junk: JunkClass, threshold: int) -> JunkClass:
    if not junk.min_bytes:
        return junk
    return JunkClass(**{**junk.__dict__, "min_bytes": threshold})


def _claim(entry, classes, venvs, root) -> tuple[JunkClass, str] | None:
    """The first class that claims ``entry`` and the rule it used."""
    for junk in classes:
        if entry.kind == DIR:
            rule = _dir_rule(junk, entry, venvs)
        elif entry.kind == FILE:
            rule = _file_rule(junk, entry, root)
        else:
            rule = None
        if rule is not None:
            return junk, rule
    return None


class _Prefilter:
    """A cheap test that some class could claim an entry (most context files are not junk).

    It accepts everything a class's names, globs or suffixes accept; the exact per-class
    rules (exceptions, sizes, content) still decide in :func:`_claim`.
    """

    def __init__(self, classes: Sequence[JunkClass]) -> None:
        self.markers = frozenset().union(*(junk.dir_markers for junk in classes))
        self.dir_names = frozenset().union(*(junk.dir_names for junk in classes))
        self.file_names = frozenset().union(*(junk.file_names for junk in classes))
        self.suffixes = frozenset(suffix for junk in classes for suffix in junk.path_suffixes)
        self.slashed_suffixes = tuple("/" + suffix for suffix in self.suffixes)
        self.dir_globs = _one_regex(fnmatch.translate(glob) for junk in classes for glob in junk.dir_globs)
        self.file_globs = _one_regex(
            ("(?i:{})" if junk.ignore_case else "(?:{})").format(fnmatch.translate(glob))
            for junk in classes
            for glob in junk.file_globs
        )

    def may_claim(self, entry: ContextEntry, venvs: set[str]) -> bool:
        name = _basename(entry.path)
        if entry.kind == DIR:
            return entry.path in venvs or name in self.dir_names or self.dir_globs.match(name) is not None
        if entry.kind != FILE:
            return False
        if name in self.file_names or self.file_globs.match(name) is not None:
            return True
        return entry.path in self.suffixes or entry.path.endswith(self.slashed_suffixes)


_PREFILTERS: dict[tuple[int, ...], tuple[tuple[JunkClass, ...], _Prefilter]] = {}


def _prefilter(ids: tuple[int, ...], classes: tuple[JunkClass, ...]) -> _Prefilter:
    """One prefilter per class list, keyed by identity (hashing the classes costs more).

    The cached value holds the classes, so their ids cannot be reused while cached.
    """
    cached = _PREFILTERS.get(ids)
    if cached is None:
        if len(_PREFILTERS) >= 8:
            _PREFILTERS.clear()
        cached = _PREFILTERS[ids] = (classes, _Prefilter(classes))
    return cached[1]


def _one_regex(parts) -> re.Pattern[str]:
    return re.compile("|".join(parts) or "(?!)")


# --------------------------------------------------------------------------- proposal


def escape_path(path: str) -> str | None:
    """A BuildKit pattern matching exactly ``path``; None if a line cannot express it."""
    if any(ord(c) < 0x20 or 0xDC80 <= ord(c) <= 0xDCFF or c == "\x7f" for c in path):
        return None
    escaped = _BUILDKIT_SPECIAL.sub(r"\\\1", path)
    if escaped[:1] in ("#", "!") or escaped[:1].isspace():
        escaped = "\\" + escaped
    if escaped[-1:].isspace():  # a trailing space would be trimmed; a class keeps it
        escaped = escaped[:-1] + "[" + escaped[-1] + "]"
    return escaped


@dataclass
class _Candidate:
    pattern: str
    finding: JunkFinding
    items: list[JunkPath]


def _candidates(finding: JunkFinding) -> list[_Candidate]:
    """Class-wide ``**/name`` lines for ``anywhere`` classes, else one line per path."""
    if not finding.junk.anywhere:
        return _per_path(finding, finding.paths)
    by_rule: dict[str, list[JunkPath]] = {}
    for item in finding.paths:
        by_rule.setdefault(item.rule, []).append(item)
    out = []
    for rule, items in by_rule.items():
        at_root = all("/" not in i.path for i in items)
        out.append(_Candidate(rule if at_root else "**/" + rule, finding, items))
    return out


def _per_path(finding: JunkFinding, items: Sequence[JunkPath]) -> list[_Candidate]:
    out = []
    for item in items:
        pattern = escape_path(item.path)
        if pattern is not None:
            out.append(_Candidate(pattern, finding, [item]))
    return out


def protected_paths(
    scan: ContextScan, needed_sources: Sequence[str], warnings: list[str]
) -> dict[str, str]:
    """Paths that must stay in the context, each with the reason.

    A COPY/ADD source names itself (a glob names every sent path it matches); ``.`` names
    the whole context and protects nothing specific. Paths the existing ignore file
    re-includes by an explicit ``!`` line are protected too.
    """
    sent = scan.entries or []
    protected: dict[str, str] = {}
    for source in needed_sources:
        cleaned = go_clean(source.strip()).lstrip("/") or "."
        if cleaned == ".":
            continue
        if not any(c in _GLOB_CHARS for c in cleaned):
            protected[cleaned] = f"COPY/ADD source {source!r}"
            continue
        try:
            hits = [e.path for e in sent if go_path_match(cleaned, e.path)]
        except ValueError as bad:
            warnings.append(f"COPY/ADD source {source!r} is not a valid pattern: {bad}")
            continue
        protected.update((path, f"COPY/ADD source {source!r}") for path in hits)
    protected.update(_explicitly_reincluded(scan))
    return protected


def _explicitly_reincluded(scan: ContextScan) -> dict[str, str]:
    """Sent paths an exception line names directly: the user asked to keep them."""
    matcher = scan.matcher
    if matcher is None or not matcher.has_exclusions:
        return {}
    exceptions = [p for p in matcher.patterns if p.exclusion]
    out = {}
    for entry in scan.entries or []:
        rule = next((p for p in exceptions if p.match_quietly(entry.path)), None)
        if rule is not None:
            out[entry.path] = f"kept by {rule.source!r} in the ignore file"
    return out


def _conflict(pattern: str, protected: dict[str, str]) -> tuple[str, str] | None:
    """A protected path ``pattern`` would exclude (it or a parent matches), if any.

    The proposed lines contain no regexp syntax, so both dialects read them alike.
    """
    matcher = PatternMatcher([pattern])
    for path, reason in protected.items():
        if matcher.matches_or_parent_matches(path):
            return path, reason
    return None


def _safe_candidates(
    findings: Sequence[JunkFinding], protected: dict[str, str], kept: list[tuple[str, str]]
) -> list[_Candidate]:
    """Candidates that exclude nothing protected; wide ones narrow to per-path lines first."""
    safe: list[_Candidate] = []
    for finding in findings:
        for candidate in _candidates(finding):
            if _conflict(candidate.pattern, protected) is None:
                safe.append(candidate)
                continue
            for narrow in _per_path(finding, candidate.items):
                hit = _conflict(narrow.pattern, protected)
                if hit is None:
                    safe.append(narrow)
                else:
                    kept.append((narrow.items[0].path, f"needed: {hit[1]} ({hit[0]})"))
    return safe


def _render(existing: str, chosen: Sequence[ProposedPattern]) -> str:
    """The existing text, untouched, plus a commented block of the new lines."""
    if not chosen:
        return existing
    lines = [BLOCK_HEADER]
    last_class = None
    for item in chosen:
        if item.class_id != last_class:
            lines.append(f"# {item.title}")
            last_class = item.class_id
        lines.append(item.pattern)
    prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
    spacer = "\n" if prefix.strip() else ""
    return prefix + spacer + "\n".join(lines) + "\n"


def propose_dockerignore(
    context: str | os.PathLike[str],
    needed_sources: Sequence[str],
    existing: str | None = None,
    *,
    dockerfile: str | os.PathLike[str] | None = None,
    large_file_bytes: int | None = None,
    dialect: str = BUILDKIT,
) -> Proposal:
    """Patterns that keep junk out of ``context`` without excluding what COPY/ADD needs.

    ``existing`` is the current ignore file's text; None reads the file BuildKit would use
    (``<Dockerfile>.dockerignore`` or ``.dockerignore``); ``""`` means there is none.
    """
    ignore_path, existing_text = _existing(context, dockerfile, existing)
    warnings: list[str] = []
    problems: list = []
    rules = parse_ignore_text(existing_text, file=str(ignore_path), problems=problems)
    warnings.extend(str(p) for p in problems)
    before = scan_context(context, dockerfile, patterns=rules, top_n=0, dialect=dialect)
    findings = detect_junk(before, large_file_bytes=large_file_bytes)
    protected = protected_paths(before, needed_sources, warnings)
    _warn_needed_but_excluded(before, protected, warnings)
    kept: list[tuple[str, str]] = []
    chosen = _dedupe(_safe_candidates(findings, protected, kept), rules)
    text = _render(existing_text, chosen)
    if not chosen and text == existing_text:
        after = before  # nothing proposed: the context would not change
    else:
        after_rules = parse_ignore_text(text, file=str(ignore_path), problems=[])
        after = scan_context(context, dockerfile, patterns=after_rules, top_n=0, dialect=dialect)
    _verify(after, before, protected, warnings)
    after_size = _with_new_ignore_file(after, Path(context), ignore_path, text)
    _warn_kept_secrets(kept, findings, warnings)
    return Proposal(ignore_path, existing_text, text, chosen, before.sent, after_size,
                    findings, kept, warnings)


def _existing(context, dockerfile, existing: str | None) -> tuple[Path, str]:
    found = find_ignore_file(context, dockerfile)
    path = found or Path(context) / DOCKERIGNORE
    if existing is not None:
        return path, existing
    if found is None:
        return path, ""
    return path, found.read_bytes().decode("utf-8", "surrogateescape")


def _dedupe(candidates: Sequence[_Candidate], existing_rules: Sequence[IgnoreRule]) -> list[ProposedPattern]:
    """One line per pattern, skipping lines the existing file already has."""
    already = {r.pattern for r in existing_rules}
    chosen: dict[str, ProposedPattern] = {}
    for candidate in candidates:
        line = candidate.pattern
        if line in already:
            continue
        item = chosen.get(line)
        if item is None:
            junk = candidate.finding.junk
            item = chosen[line] = ProposedPattern(line, junk.id, junk.title, [], TreeSize())
        for path in candidate.items:
            item.paths.append(path.path)
            item.size.merge(path.size)
    return list(chosen.values())


def _warn_needed_but_excluded(scan: ContextScan, protected: dict[str, str], warnings: list[str]):
    """A COPY source that the current ignore file already excludes fails the build."""
    if scan.matcher is None:
        return
    for path, reason in protected.items():
        try:
            excluded = scan.matcher.walker_excludes(path)
        except DockerignoreError:
            continue
        if excluded:
            warnings.append(f"{path!r} ({reason}) is excluded by the current ignore file")


def _verify(after: ContextScan, before: ContextScan, protected: dict[str, str],
            warnings: list[str]) -> None:
    """Check, on the real evaluation, that every protected path that was sent still is."""
    sent_before = set(before.sent_paths)
    sent_after = set(after.sent_paths)
    for path in protected:
        if path in sent_before and path not in sent_after:
            warnings.append(f"internal: proposal would exclude needed path {path!r}")


def _with_new_ignore_file(after: ContextScan, context: Path, path: Path, text: str) -> TreeSize:
    """``after.sent`` corrected for the ignore file itself, which is sent unless excluded."""
    size = TreeSize(after.sent.entries, after.sent.files, after.sent.bytes)
    if path.parent == context:
        rel = path.name  # the usual case; resolving both (many lstat calls) is not needed
    else:
        try:
            rel = path.resolve().relative_to(context.resolve()).as_posix()
        except ValueError:
            return size  # a <Dockerfile>.dockerignore outside the context is never sent
    new_bytes = len(text.encode("utf-8", "surrogateescape"))
    sent = next((entry for entry in after.entries or () if entry.path == rel), None)
    if sent is not None:
        size.bytes += new_bytes - (sent.size if sent.kind == FILE else path.stat().st_size)
    elif not path.exists() and text and not _excluded(after, rel):
        size.add(FILE, new_bytes)
    return size


def _excluded(scan: ContextScan, rel: str) -> bool:
    try:
        return scan.matcher is not None and scan.matcher.walker_excludes(rel)
    except DockerignoreError:
        return False


def _warn_kept_secrets(kept, findings, warnings: list[str]) -> None:
    secrets = {p.path for f in findings if f.junk.kind == "secret" for p in f.paths}
    for path, reason in kept:
        if path in secrets:
            warnings.append(f"secret {path!r} stays in the context: {reason}")
