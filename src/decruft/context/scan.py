"""Walk a build context as BuildKit's fsutil walker sends it.

What BuildKit does (tonistiigi/fsutil ``filter.go`` + Go's ``filepath.WalkDir``):

* entries are visited in lexical order, the root itself is never matched (never excluded);
* each entry is decided with ``MatchesUsingParentResults``, inheriting its parent's results;
* an excluded directory is entered only when an exception could re-include something below
  it (`PatternMatcher.may_reinclude_below`); otherwise its whole subtree is skipped;
* an excluded directory is still sent, lazily, when something below it is re-included;
* symlinks are sent as links and never followed;
* ``<Dockerfile>.dockerignore`` beside the Dockerfile replaces the context's ``.dockerignore``.

decruft also walks the skipped subtrees (without matching) to say what the exclusion saved.
Nothing here raises on a bad context: unreadable directories, vanished files, directory
loops (bind mounts), paths over PATH_MAX, binary or huge ignore files become `ScanWarning`s
(``fails_build`` marks the ones BuildKit itself would stop on) and the walk goes on.
Memory is bounded by what is returned: pass ``keep_entries=False`` for counts only.
"""

from __future__ import annotations

import heapq
import itertools
import os
import stat as stat_mod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from decruft.context.dockerignore import (
    BUILDKIT,
    DIALECTS,
    DockerignoreError,
    IgnoreRule,
    MatchInfo,
    PatternMatcher,
    parse_ignore_text,
)

DOCKERIGNORE = ".dockerignore"
DEFAULT_DOCKERFILE = "Dockerfile"
# A larger ignore file is read only up to here (BuildKit would read it all, slowly).
MAX_IGNORE_BYTES = 8 * 1024 * 1024
# Each entry is checked against every pattern, so this bounds the per-entry work.
MAX_PATTERNS = 10_000
MAX_DEPTH = 2048

FILE, DIR, SYMLINK, OTHER = "file", "dir", "symlink", "other"


@dataclass(slots=True)
class ContextEntry:
    """One entry BuildKit sends: ``path`` is relative with ``/``; ``size`` counts files only."""

    path: str
    kind: str
    size: int = 0
    target: str | None = None
    kept_by_exception: bool = False


@dataclass(slots=True)
class TreeSize:
    """Counts for a set of entries: all entries, regular files, and file bytes."""

    entries: int = 0
    files: int = 0
    bytes: int = 0

    def add(self, kind: str, size: int) -> None:
        self.entries += 1
        if kind == FILE:
            self.files += 1
            self.bytes += size

    def merge(self, other: "TreeSize") -> None:
        self.entries += other.entries
        self.files += other.files
        self.bytes += other.bytes


@dataclass(slots=True)
class ExcludedTree:
    """An excluded path whose parent is not excluded, with everything it kept out."""

    path: str
    size: TreeSize = field(default_factory=TreeSize)
    rule: str | None = None
    line: int | None = None


@dataclass(slots=True)
class TopLevelSize:
    """What one top-level entry of the context sends and keeps out."""

    sent: TreeSize = field(default_factory=TreeSize)
    excluded: TreeSize = field(default_factory=TreeSize)


@dataclass(slots=True)
class ScanWarning:
    """Something the walk could not do; ``fails_build`` when BuildKit would stop on it."""

    path: str
    message: str
    fails_build: bool = False


@dataclass
class ContextScan:
    """The result of `scan_context`."""

    root: str
    ignore_file: str | None
    matcher: PatternMatcher | None
    entries: list[ContextEntry] | None
    sent: TreeSize
    excluded: TreeSize
    top_excluded: list[ExcludedTree]
    by_top_level: dict[str, TopLevelSize]
    warnings: list[ScanWarning]

    @property
    def would_fail_build(self) -> bool:
        """True when BuildKit would refuse this context or its ignore file."""
        return any(w.fails_build for w in self.warnings)

    @property
    def sent_paths(self) -> list[str]:
        """The sent paths, in walk order (needs ``keep_entries=True``)."""
        return [e.path for e in self.entries or ()]


# --------------------------------------------------------------------------- ignore file


def find_ignore_file(
    context_dir: str | os.PathLike[str], dockerfile: str | os.PathLike[str] | None = None
) -> Path | None:
    """The ignore file BuildKit uses: ``<Dockerfile>.dockerignore`` first, then the root one.

    Without ``dockerfile`` the default ``<context>/Dockerfile`` is assumed, so a
    ``Dockerfile.dockerignore`` in the context root applies too.
    """
    # os.path on strings: this runs once per audited file, and pathlib costs more than the stat
    context = os.fspath(context_dir)
    dockerfile_path = os.fspath(dockerfile) if dockerfile is not None else os.path.join(context, DEFAULT_DOCKERFILE)
    for candidate in (dockerfile_path + DOCKERIGNORE, os.path.join(context, DOCKERIGNORE)):
        if os.path.isfile(candidate):
            return Path(candidate)
    return None


def load_ignore_rules(path: Path, warnings: list[ScanWarning]) -> list[IgnoreRule]:
    """Read an ignore file leniently: problems become warnings, never exceptions."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IGNORE_BYTES + 1)
    except OSError as error:
        warnings.append(ScanWarning(str(path), f"cannot read ignore file: {error}", True))
        return []
    if len(data) > MAX_IGNORE_BYTES:
        data = data[: data.rfind(b"\n", 0, MAX_IGNORE_BYTES) + 1]
        warnings.append(ScanWarning(str(path), f"ignore file is over {MAX_IGNORE_BYTES:,} "
                                    "bytes; only its beginning is evaluated"))
    if b"\0" in data:
        warnings.append(ScanWarning(str(path), "ignore file looks binary (it has NUL bytes)"))
    problems: list[DockerignoreError] = []
    rules = parse_ignore_text(data, file=str(path), problems=problems)
    warnings.extend(_problem_warning(p) for p in problems)
    return rules


def _problem_warning(problem: DockerignoreError) -> ScanWarning:
    return ScanWarning(problem.file or DOCKERIGNORE, str(problem), problem.fails_build)


def build_matcher(
    rules: Sequence[str | IgnoreRule], warnings: list[ScanWarning], source: str | None,
    dialect: str = BUILDKIT,
) -> PatternMatcher | None:
    """A lenient matcher: bad patterns become warnings; None when there is nothing to match."""
    if len(rules) > MAX_PATTERNS:
        warnings.append(ScanWarning(source or DOCKERIGNORE, f"{len(rules):,} patterns: only "
                                    f"the first {MAX_PATTERNS:,} are evaluated"))
        rules = rules[:MAX_PATTERNS]
    if not rules and dialect in DIALECTS:  # no patterns (most contexts): nothing to compile
        return None
    problems: list[DockerignoreError] = []
    matcher = PatternMatcher(rules, file=source, problems=problems, dialect=dialect)
    warnings.extend(_problem_warning(p) for p in problems)
    return matcher if len(matcher) else None


# --------------------------------------------------------------------------- walker


def _describe(entry: os.DirEntry) -> tuple[str, int]:
    """Kind and size from the directory listing; only regular files need a stat call."""
    if entry.is_symlink():
        return SYMLINK, 0
    if entry.is_dir(follow_symlinks=False):
        return DIR, 0
    if entry.is_file(follow_symlinks=False):
        return FILE, entry.stat(follow_symlinks=False).st_size
    return OTHER, 0


def _same_dir(first: str, second: str) -> bool:
    """Same device and inode (an inode number alone repeats across file systems)."""
    try:
        a, b = os.stat(first), os.stat(second)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _kind_of(mode: int) -> str:
    if stat_mod.S_ISREG(mode):
        return FILE
    if stat_mod.S_ISDIR(mode):
        return DIR
    if stat_mod.S_ISLNK(mode):
        return SYMLINK
    return OTHER


class _Frame:
    """A directory being walked (the root has ``rel == ""``)."""

    __slots__ = ("rel", "prefix", "abs", "info", "excluded", "emitted", "acc", "owns_acc",
                 "inode", "top")

    def __init__(self, rel: str, abs_path: str, info: MatchInfo | None,
                 top: TopLevelSize | None):
        self.rel = rel
        self.prefix = rel + "/" if rel else ""
        self.abs = abs_path
        self.info = info
        self.excluded = False
        self.emitted = True
        self.acc: ExcludedTree | None = None
        self.owns_acc = False
        self.inode: int | None = None
        self.top = top


class ContextWalker:
    """Streams the entries BuildKit would send; totals fill in as the walk goes.

    ``patterns`` overrides the ignore file (decruft uses it to evaluate proposed patterns).
    ``dialect`` picks the client's matcher (`dockerignore.DIALECTS`; default: BuildKit as
    buildx and Docker 23+ run it). Iterate `walk` once; the attributes describe what has
    been seen so far.
    """

    def __init__(
        self,
        context_dir: str | os.PathLike[str],
        dockerfile: str | os.PathLike[str] | None = None,
        *,
        patterns: Sequence[str | IgnoreRule] | None = None,
        top_n: int = 20,
        measure_excluded: bool = True,
        dialect: str = BUILDKIT,
    ) -> None:
        self.root = os.fspath(context_dir)
        self.dialect = dialect
        self.top_n = top_n
        self.measure_excluded = measure_excluded
        self.warnings: list[ScanWarning] = []
        self.sent = TreeSize()
        self.excluded = TreeSize()
        self.by_top_level: dict[str, TopLevelSize] = {}
        self._heap: list[tuple[int, int, ExcludedTree]] = []
        self._counter = itertools.count()
        self._unemitted = 0
        self.ignore_file: str | None = None
        self.matcher = self._make_matcher(dockerfile, patterns)
        self._exception_indexes = tuple(
            i for i, p in enumerate(self.matcher.patterns) if p.exclusion) if self.matcher else ()

    def _make_matcher(self, dockerfile, patterns) -> PatternMatcher | None:
        if patterns is not None:
            return build_matcher(list(patterns), self.warnings, "<patterns>", self.dialect)
        path = find_ignore_file(self.root, dockerfile)
        if path is None:
            return None
        self.ignore_file = str(path)
        rules = load_ignore_rules(path, self.warnings)
        return build_matcher(rules, self.warnings, str(path), self.dialect)

    @property
    def top_excluded(self) -> list[ExcludedTree]:
        """The largest excluded trees seen so far, largest first."""
        return [tree for _, _, tree in sorted(self._heap, key=lambda item: (-item[0], item[1]))]

    # -- the walk

    def walk(self) -> Iterator[ContextEntry]:
        """Yield each sent entry in BuildKit's order (lazily emitted parents just in time)."""
        if not os.path.isdir(self.root):
            self.warnings.append(ScanWarning(self.root, "context is not a directory", True))
            return
        root = _Frame("", self.root, None, None)
        root.inode = self._inode(self.root)
        frames, listings = [root], [self._list(root)]
        while frames:
            entry = next(listings[-1], None)
            if entry is None:
                self._close(frames.pop())
                listings.pop()
                continue
            sent, child = self._visit(frames, entry)
            if sent:
                yield from sent
            if child is not None:
                frames.append(child)
                listings.append(self._list(child))

    def _list(self, frame: _Frame) -> Iterator[os.DirEntry]:
        """The directory's entries sorted by name; errors become warnings."""
        try:
            with os.scandir(frame.abs) as listing:
                return iter(sorted(listing, key=lambda e: e.name))
        except OSError as error:
            ignored = frame.excluded and isinstance(error, PermissionError)
            self._warn(frame.rel or ".", f"cannot list directory: {error.strerror or error}",
                       fails_build=not ignored)
            return iter(())

    def _visit(
        self, stack: list[_Frame], entry: os.DirEntry
    ) -> tuple[list[ContextEntry] | None, _Frame | None]:
        """Decide one entry: what it sends (itself, maybe parents) and a frame to enter."""
        parent = stack[-1]
        rel = parent.prefix + entry.name
        try:
            kind, size = _describe(entry)
        except OSError as error:
            self._warn(rel, f"cannot stat: {error.strerror or error}", fails_build=True)
            return None, None
        top = parent.top or self._top(entry.name)
        excluded, info = False, None
        if self.matcher is not None:
            excluded, info = self._match(rel, parent.info)
        if not excluded:
            sent = self._emit_parents(stack) if self._unemitted else []
            sent.append(self._sent(rel, kind, size, entry, info, top))
            return sent, (self._enter(stack, rel, entry, info, top) if kind == DIR else None)
        if kind != DIR and (parent.acc is not None or not self._may_rank(size)):
            # Charged to the enclosing excluded tree, or too small for the top list anyway.
            self._count_excluded(parent.acc, top, kind, size)
            return None, None
        tree = self._excluded_tree(parent, rel, info)
        if kind == DIR and self.matcher is not None and self.matcher.may_reinclude_below(rel):
            child = self._enter(stack, rel, entry, info, top)
            if child is not None:  # counted when it closes: it may yet be sent
                child.excluded, child.emitted, child.acc = True, False, tree
                child.owns_acc = tree is not parent.acc
                self._unemitted += 1
                return None, child
        self._count_excluded(tree, top, kind, size)
        if kind == DIR and self.measure_excluded:
            self._measure_into(entry.path, rel, tree, top, len(stack))
        if tree is not parent.acc:
            self._push_tree(tree)
        return None, None

    def _match(self, rel: str, parent_info: MatchInfo | None) -> tuple[bool, MatchInfo]:
        """The walker's decision; a pattern Go cannot compile fails the build when reached."""
        matcher = self.matcher
        assert matcher is not None
        while True:
            try:
                return matcher.decide(rel, parent_info)
            except DockerignoreError as error:
                self.warnings.append(ScanWarning(rel, str(error), error.fails_build))
                for pattern in matcher.patterns:
                    if pattern.deferred_error is error:
                        pattern.disable()

    def _enter(self, stack, rel, entry, info, top) -> _Frame | None:
        """A frame for a directory to descend into, unless that would loop or go too deep."""
        inode = entry.inode()
        if len(stack) > MAX_DEPTH or any(
            frame.inode == inode and _same_dir(frame.abs, entry.path) for frame in stack
        ):
            self._warn(rel, "directory loop (a bind mount?) or excessive depth; not descending",
                       fails_build=True)
            return None
        frame = _Frame(rel, entry.path, info, top)
        frame.inode = inode
        return frame

    def _sent(self, rel, kind, size, entry, info, top) -> ContextEntry:
        target = None
        if kind == SYMLINK:
            try:
                target = os.readlink(entry.path)
            except OSError as error:
                self._warn(rel, f"cannot read symlink: {error.strerror or error}", True)
        kept = False
        if info and self._exception_indexes and True in info:
            kept = any(info[i] for i in self._exception_indexes)
        self.sent.add(kind, size)
        top.sent.add(kind, size)
        return ContextEntry(rel, kind, size, target, kept)

    def _emit_parents(self, stack: list[_Frame]) -> list[ContextEntry]:
        """Excluded directories come back when something below them is re-included."""
        emitted: list[ContextEntry] = []
        if not self._unemitted:
            return emitted
        for frame in stack:
            if not frame.emitted:
                frame.emitted = True
                self._unemitted -= 1
                self.sent.add(DIR, 0)
                frame.top.sent.add(DIR, 0)
                emitted.append(ContextEntry(frame.rel, DIR, 0))
        return emitted

    def _close(self, frame: _Frame) -> None:
        """Account for an excluded directory that nothing brought back."""
        if not frame.emitted:
            self._unemitted -= 1
            self._count_excluded(frame.acc, frame.top, DIR, 0)
        if frame.owns_acc and frame.acc is not None:
            self._push_tree(frame.acc)

    # -- exclusion accounting

    def _excluded_tree(self, parent: _Frame, rel: str, info: MatchInfo | None) -> ExcludedTree:
        """The tree an excluded path is charged to: its parent's, or a new one rooted here."""
        if parent.excluded and parent.acc is not None:
            return parent.acc
        rule = self.matcher.deciding_pattern(info) if self.matcher and info else None
        return ExcludedTree(rel, rule=rule.source if rule else None, line=rule.line if rule else None)

    def _count_excluded(self, tree: ExcludedTree | None, top: TopLevelSize | None, kind: str,
                        size: int) -> None:
        self.excluded.add(kind, size)
        if top is not None:
            top.excluded.add(kind, size)
        if tree is not None:
            tree.size.add(kind, size)

    def _may_rank(self, size: int) -> bool:
        """Whether an excluded file of ``size`` bytes could enter the top-N list."""
        heap = self._heap
        return len(heap) < self.top_n or (self.top_n > 0 and size > heap[0][0])

    def _push_tree(self, tree: ExcludedTree) -> None:
        item = (tree.size.bytes, -next(self._counter), tree)
        if len(self._heap) < self.top_n:
            heapq.heappush(self._heap, item)
        elif self.top_n and item[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, item)

    def _measure_into(self, abs_path: str, rel: str, tree: ExcludedTree, top: TopLevelSize,
                      depth: int) -> None:
        """Sizes of a subtree BuildKit skips; problems here never fail a build."""
        measured = measure_tree(abs_path, self.warnings, rel, depth)
        self.excluded.merge(measured)
        top.excluded.merge(measured)
        tree.size.merge(measured)

    def _top(self, name: str) -> TopLevelSize:
        found = self.by_top_level.get(name)
        if found is None:
            found = self.by_top_level[name] = TopLevelSize()
        return found

    def _warn(self, path: str, message: str, fails_build: bool = False) -> None:
        self.warnings.append(ScanWarning(path, message, fails_build))

    @staticmethod
    def _inode(path: str) -> int | None:
        try:
            return os.stat(path).st_ino
        except OSError:
            return None


def measure_tree(
    abs_path: str, warnings: list[ScanWarning] | None = None, rel: str | None = None,
    depth: int = 0,
) -> TreeSize:
    """Entries, files and bytes below ``abs_path`` (not following symlinks; loop-safe)."""
    size = TreeSize()
    seen: set[tuple[int, int]] = set()
    todo = [(abs_path, rel or abs_path, depth)]
    while todo:
        path, shown, level = todo.pop()
        try:
            with os.scandir(path) as listing:
                children = list(listing)
        except OSError as error:
            if warnings is not None:
                warnings.append(ScanWarning(shown, f"cannot measure: {error.strerror or error}"))
            continue
        for child in children:
            try:
                st = child.stat(follow_symlinks=False)
            except OSError:
                continue
            kind = _kind_of(st.st_mode)
            size.add(kind, st.st_size if kind == FILE else 0)
            if kind == DIR and (st.st_dev, st.st_ino) not in seen and level < MAX_DEPTH:
                seen.add((st.st_dev, st.st_ino))
                todo.append((child.path, shown + "/" + child.name, level + 1))
    return size


# --------------------------------------------------------------------------- entry points


def scan_context(
    context_dir: str | os.PathLike[str],
    dockerfile: str | os.PathLike[str] | None = None,
    *,
    patterns: Sequence[str | IgnoreRule] | None = None,
    keep_entries: bool = True,
    top_n: int = 20,
    measure_excluded: bool = True,
    dialect: str = BUILDKIT,
) -> ContextScan:
    """Walk ``context_dir`` as BuildKit would send it for ``dockerfile``.

    ``patterns`` replaces the ignore file; ``keep_entries=False`` keeps only totals (memory
    then depends on the tree's depth and ``top_n``, not its size); ``dialect`` as in
    `ContextWalker`.
    """
    walker = ContextWalker(context_dir, dockerfile, patterns=patterns, top_n=top_n,
                           measure_excluded=measure_excluded, dialect=dialect)
    entries: list[ContextEntry] | None = [] if keep_entries else None
    for entry in walker.walk():
        if entries is not None:
            entries.append(entry)
    return ContextScan(
        root=walker.root,
        ignore_file=walker.ignore_file,
        matcher=walker.matcher,
        entries=entries,
        sent=walker.sent,
        excluded=walker.excluded,
        top_excluded=walker.top_excluded,
        by_top_level=walker.by_top_level,
        warnings=walker.warnings,
    )


def size_of(paths: Iterable[str | os.PathLike[str]]) -> dict[str, TreeSize]:
    """Apparent size of each path (a file, or a directory and everything below it).

    No ignore rules apply: use it to report what a directory weighs, e.g. for each top-level
    entry of a context. Symlinks count as entries and are not followed.
    """
    result: dict[str, TreeSize] = {}
    for path in paths:
        key = os.fspath(path)
        size = TreeSize()
        try:
            st = os.lstat(key)
        except OSError:
            result[key] = size
            continue
        kind = _kind_of(st.st_mode)
        size.add(kind, st.st_size if kind == FILE else 0)
        if kind == DIR:
            size.merge(measure_tree(key))
        result[key] = size
    return result
