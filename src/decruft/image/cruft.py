"""Cruft classes of a final image filesystem: what it ships that it does not need to run.

The classes live in ``decruft/data/cruft_classes.toml`` (a data table; this module only reads
it).  Each visible non-directory path belongs to at most one class: the first pattern that
matches, in table order (class order, then pattern order), wins; a class's ``exclude``
patterns hand the path on to the following classes.  Bytes are regular-file bytes; symlinks
and hard links count as files with 0 bytes.

Pattern syntax (paths are relative to ``/``, no leading slash): ``*`` and ``?`` never cross
``/``; ``**`` is any number of whole components (``**/x`` matches ``x`` and ``a/b/x``; a
trailing ``/**`` means "everything below"); ``[...]`` is a character class (``[!...]``
negates); ``{a,b}`` alternatives (not nested).

Matching is done per directory where possible (a ``dir/**`` pattern depends only on the
parent directory, memoised) and per basename for ``**/name`` patterns, so a 200,000-file
image classifies in well under a second.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from decruft.image.model import EntryType

if TYPE_CHECKING:
    from decruft.image.analysis import FinalFile

_GLOB_CHARS = frozenset("*?[{")
CATEGORIES = (
    "secret",
    "package-manager",
    "vcs",
    "tests",
    "bytecode",
    "docs",
    "toolchain",
    "dev-files",
    "logs",
    "temp",
    "context-junk",
)


@dataclass(frozen=True)
class CruftClass:
    id: str
    title: str
    category: str
    why: str
    fix: str
    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    informational: bool = False  # reported, never counted in the cruft total


@dataclass
class CruftTable:
    classes: list[CruftClass]

    def __post_init__(self) -> None:
        self._matcher = _Matcher(self.classes)

    def class_of(self, path: str) -> CruftClass | None:
        found = self._matcher.match(path)
        return None if found is None else self.classes[found[0]]

    def match(self, path: str) -> tuple[int, str] | None:
        """(class index, directory matched by a ``dir/**`` pattern, or "" for file patterns)."""
        return self._matcher.match(path)

    def get(self, class_id: str) -> CruftClass | None:
        return next((c for c in self.classes if c.id == class_id), None)


@dataclass
class CruftClassResult:
    cls: CruftClass
    bytes: int = 0
    files: int = 0
    roots: dict[str, list[int]] = field(default_factory=dict)  # top path -> [bytes, files]
    largest: list[tuple[int, str]] = field(default_factory=list)  # (bytes, path), unsorted pool

    def top_roots(self, limit: int = 10) -> list[tuple[str, int, int]]:
        items = sorted(self.roots.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        return [(path, values[0], values[1]) for path, values in items[:limit]]

    def top_files(self, limit: int = 10) -> list[tuple[str, int]]:
        return [(path, size) for size, path in sorted(self.largest, key=lambda x: (-x[0], x[1]))[:limit]]


@dataclass
class CruftReport:
    results: list[CruftClassResult]  # only classes with at least one path, largest first

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.results if not r.cls.informational)

    @property
    def files(self) -> int:
        return sum(r.files for r in self.results if not r.cls.informational)

    def get(self, class_id: str) -> CruftClassResult | None:
        return next((r for r in self.results if r.cls.id == class_id), None)

    def bytes_of(self, name: str) -> int:
        """Bytes of a class id or of a whole category (0 when absent)."""
        total = 0
        for result in self.results:
            if result.cls.id == name or (result.cls.category == name and not result.cls.informational):
                total += result.bytes
        return total

    def by_category(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for result in self.results:
            if not result.cls.informational:
                totals[result.cls.category] = totals.get(result.cls.category, 0) + result.bytes
        return totals


# --------------------------------------------------------------------------- table loading


def load_table(path: str | Path | None = None) -> CruftTable:
    if path is None:
        return _default_table()
    return _parse_table(Path(path).read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=1)
def _default_table() -> CruftTable:
    text = resources.files("decruft.data").joinpath("cruft_classes.toml").read_text(encoding="utf-8")
    return _parse_table(text, "cruft_classes.toml")


def _parse_table(text: str, name: str) -> CruftTable:
    data = tomllib.loads(text)
    classes = []
    seen: set[str] = set()
    for row in data.get("class", []):
        try:
            cls = CruftClass(
                id=row["id"],
                title=row["title"],
                category=row["category"],
                why=row.get("why", ""),
                fix=row.get("fix", ""),
                paths=tuple(row["paths"]),
                exclude=tuple(row.get("exclude", ())),
                informational=bool(row.get("informational", False)),
            )
        except KeyError as exc:
            raise ValueError(f"{name}: class {row.get('id', '?')!r} lacks {exc}") from None
        if cls.id in seen:
            raise ValueError(f"{name}: duplicate class id {cls.id!r}")
        seen.add(cls.id)
        for pattern in cls.paths + cls.exclude:
            glob_to_regex(pattern)  # validates
        classes.append(cls)
    return CruftTable(classes)


# --------------------------------------------------------------------------- globs


def glob_to_regex(pattern: str) -> str:
    """Regex source (for fullmatch) of a path glob; see the module docstring."""
    pattern = pattern.strip("/")
    parts = pattern.split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            if last:
                out.append(".*" if index == 0 else "(?:/.*)?")
                # "a/**" also matches "a" itself when used directly; callers use heads instead
            else:
                out.append("(?:[^/]+/)*" if index == 0 else "/(?:[^/]+/)*")
            continue
        prefix = "" if index == 0 or parts[index - 1] == "**" else "/"
        out.append(prefix + _component(part, pattern))
    return "".join(out)


def _component(part: str, pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = part.find("]", i + 2)
            if end < 0:
                raise ValueError(f"unclosed [ in {pattern!r}")
            body = part[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        elif char == "{":
            end = part.find("}", i)
            if end < 0:
                raise ValueError(f"unclosed {{ in {pattern!r}")
            options = part[i + 1 : end].split(",")
            out.append("(?:" + "|".join(_component(option, pattern) for option in options) + ")")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _is_literal(text: str) -> bool:
    return not any(char in _GLOB_CHARS for char in text)


class _Glob:
    """One glob compiled on first use, behind a cheap literal pre-check.

    ``prefix``: the literal text the string must start with (anchored globs); ``needles``:
    literal chunks that must all occur in the string.  Only strings that pass both reach the
    regular expression.
    """

    __slots__ = ("index", "pattern", "prefix", "needles", "_regex")

    def __init__(self, index: int, pattern: str) -> None:
        self.index = index
        self.pattern = pattern
        # "HEAD/**" also matches HEAD itself, so the pre-checks come from HEAD alone
        head = pattern[:-3] if pattern.endswith("/**") else pattern
        literal = re.split(r"[*?\[{]", head, maxsplit=1)[0]
        self.prefix = "" if head.startswith("**") else literal
        chunks = [c for c in re.split(r"\*\*/?|[*?]|\[[^\]]*\]|\{[^}]*\}", head) if len(c) >= 2]
        self.needles = tuple(sorted(set(chunks), key=len, reverse=True)[:2])
        self._regex: re.Pattern[str] | None = None

    def match(self, text: str) -> bool:
        if self.prefix and not text.startswith(self.prefix):
            return False
        for needle in self.needles:
            if needle not in text:
                return False
        regex = self._regex
        if regex is None:
            regex = self._regex = re.compile(glob_to_regex(self.pattern))
        return regex.fullmatch(text) is not None


class _BaseTest:
    """The basename part of a file pattern: literal, ``*suffix``, ``prefix*`` or a glob."""

    __slots__ = ("index", "literal", "suffix", "prefix", "glob")

    def __init__(self, index: int, base: str) -> None:
        self.index = index
        self.literal = self.suffix = self.prefix = None
        self.glob: _Glob | None = None
        if _is_literal(base):
            self.literal = base
        elif base.startswith("*") and base[1:] and _is_literal(base[1:]):
            self.suffix = base[1:]
        elif base.endswith("*") and base[:-1] and _is_literal(base[:-1]):
            self.prefix = base[:-1]
        else:
            self.glob = _Glob(index, base)


class _NameTests:
    """Basename tests of many patterns at once, answering "smallest matching pattern index".

    Literal names are one dictionary look-up, ``*suffix`` and ``prefix*`` one ``endswith`` /
    ``startswith`` over a tuple (a name that passes is then attributed to its pattern), other
    globs are tried in index order behind their literal pre-checks.  Most names match nothing,
    so most files cost three C-level calls.
    """

    __slots__ = ("literal", "suffix", "suffixes", "prefix", "prefixes", "globs", "glob_prefixes", "glob_any")

    def __init__(self, tests: Sequence[_BaseTest]) -> None:
        self.literal: dict[str, int] = {}
        self.suffix: dict[str, int] = {}
        self.prefix: dict[str, int] = {}
        self.globs: list[_Glob] = []
        for test in sorted(tests, key=attrgetter("index")):
            if test.literal is not None:
                self.literal.setdefault(test.literal, test.index)
            elif test.suffix is not None:
                self.suffix.setdefault(test.suffix, test.index)
            elif test.prefix is not None:
                self.prefix.setdefault(test.prefix, test.index)
            else:
                self.globs.append(test.glob)  # type: ignore[arg-type]
        self.suffixes = tuple(self.suffix)
        self.prefixes = tuple(self.prefix)
        # a glob with a literal start can only match names with that start
        self.glob_prefixes = tuple(glob.prefix for glob in self.globs)
        self.glob_any = any(not prefix for prefix in self.glob_prefixes)

    def first(self, name: str, limit: int) -> int:
        """The smallest index below ``limit`` of a pattern matching ``name``, else ``limit``."""
        best = limit
        index = self.literal.get(name)
        if index is not None and index < best:
            best = index
        if self.suffixes and name.endswith(self.suffixes):
            for suffix, index in self.suffix.items():
                if index < best and name.endswith(suffix):
                    best = index
        if self.prefixes and name.startswith(self.prefixes):
            for prefix, index in self.prefix.items():
                if index < best and name.startswith(prefix):
                    best = index
        if self.globs and (self.glob_any or name.startswith(self.glob_prefixes)):
            for glob in self.globs:
                if glob.index >= best:
                    break
                if glob.match(name):
                    best = glob.index
                    break
        return best


_NO_MATCH = 1 << 30


def _strictly_below(pattern: str) -> str:
    return pattern + "/*" if pattern.endswith("/**") else pattern


class _Matcher:
    """First-match-wins over all (class, pattern) pairs, without testing every pattern.

    Everything that depends on a file's directory is computed once per directory and
    memoised: the smallest-index directory pattern (``HEAD/**``) matching the directory or an
    ancestor, and the basename tests that apply there -- the ``**/name`` patterns plus the file
    patterns (``DIR/BASE``) whose DIR part matches the directory, merged into one
    :class:`_NameTests` (shared by every directory with the same set).  Per file, only its
    basename is tested.  The winner is the smallest pattern index; its class's excludes may
    pass the path on (then an exhaustive ordered search decides).
    """

    def __init__(self, classes: Sequence[CruftClass]) -> None:
        self.classes = classes
        self.pattern_class: list[int] = []
        self.dir_literal: dict[str, int] = {}
        self.dir_suffix: dict[str, int] = {}
        self.dir_globs: list[_Glob] = []
        self.base_tests: list[_BaseTest] = []  # "**/BASE" and "BASE": apply in every directory
        self.file_anchored: dict[str, list[tuple[_Glob, _BaseTest]]] = {}  # first component -> (DIR, BASE)
        self.file_floating: list[tuple[_Glob, _BaseTest]] = []
        for class_index, cls in enumerate(classes):
            for pattern in cls.paths:
                index = len(self.pattern_class)
                self.pattern_class.append(class_index)
                self._add(index, pattern.strip("/"))
        # paths classified are files, so an exclude "X/**" hands on what is below X, never a file named X
        self.excludes = [[_Glob(-1, _strictly_below(p.strip("/"))) for p in cls.exclude] for cls in classes]
        self._everywhere = _NameTests(self.base_tests)
        self._name_tests: dict[tuple[int, ...], _NameTests] = {}
        self._memo: dict[str, tuple[tuple[int, str] | None, _NameTests]] = {}
        self._suffix_max_parts = max((s.count("/") + 1 for s in self.dir_suffix), default=0)

    def _add(self, index: int, pattern: str) -> None:
        if pattern.endswith("/**") and pattern != "**/**":
            head = pattern[:-3]
            if _is_literal(head):
                self.dir_literal.setdefault(head, index)
            elif head.startswith("**/") and _is_literal(head[3:]):
                self.dir_suffix.setdefault(head[3:], index)
            else:
                self.dir_globs.append(_Glob(index, head))
            return
        directory, _, base = pattern.rpartition("/")
        if directory in ("", "**") and base != "**":
            self.base_tests.append(_BaseTest(index, base))
            return
        pair = (_Glob(index, directory), _BaseTest(index, base))
        first = directory.split("/", 1)[0]
        if _is_literal(first):
            self.file_anchored.setdefault(first, []).append(pair)
        else:
            self.file_floating.append(pair)

    # ------------------------------------------------------------------ per directory

    def _own_dir_match(self, directory: str) -> int | None:
        best = self.dir_literal.get(directory)
        if self.dir_suffix:
            parts = directory.split("/")
            for count in range(1, min(len(parts), self._suffix_max_parts) + 1):
                found = self.dir_suffix.get("/".join(parts[-count:]))
                if found is not None and (best is None or found < best):
                    best = found
        for glob in self.dir_globs:
            if best is not None and glob.index > best:
                break
            if glob.match(directory):
                best = glob.index
                break
        return best

    def _directory(self, directory: str) -> tuple[tuple[int, str] | None, _NameTests]:
        memo = self._memo
        found = memo.get(directory)
        if found is not None:
            return found
        if directory:
            parent = directory.rpartition("/")[0]
            inherited = self._directory(parent)[0] if parent else None
            own = self._own_dir_match(directory)
            best = inherited
            if own is not None and (inherited is None or own < inherited[0]):
                best = (own, directory)
        else:
            best = None
        tests = [base for dir_glob, base in self.file_anchored.get(directory.partition("/")[0], ()) if dir_glob.match(directory)]
        tests += [base for dir_glob, base in self.file_floating if dir_glob.match(directory)]
        names = self._everywhere
        if tests:
            key = tuple(sorted(test.index for test in tests))
            shared = self._name_tests.get(key)
            if shared is None:
                shared = self._name_tests[key] = _NameTests(self.base_tests + tests)
            names = shared
        result = memo[directory] = (best, names)
        return result

    def dir_match(self, directory: str) -> tuple[int, str] | None:
        """Smallest directory-pattern index matching ``directory`` or an ancestor, and the
        ancestor that matched (the class root)."""
        return self._directory(directory)[0] if directory else None

    # ------------------------------------------------------------------ per file

    def match(self, path: str) -> tuple[int, str] | None:
        parent, _, base = path.rpartition("/")
        found, names = self._directory(parent)
        if found is None:
            best, root = _NO_MATCH, ""
        else:
            best, root = found
        index = names.first(base, best)
        if index < best:
            best, root = index, ""
        elif best == _NO_MATCH:
            return None
        class_index = self.pattern_class[best]
        excludes = self.excludes[class_index]
        if excludes and any(glob.match(path) for glob in excludes):
            return self._slow(path)
        return class_index, root

    def _slow(self, path: str) -> tuple[int, str] | None:
        """The exhaustive ordered search: regular expressions only, none of the shortcuts (the
        tests check :meth:`match` against it)."""
        parent = path.rpartition("/")[0]
        for class_index, cls in enumerate(self.classes):
            if any(re.fullmatch(glob_to_regex(glob.pattern), path) for glob in self.excludes[class_index]):
                continue
            for pattern in cls.paths:
                pattern = pattern.strip("/")
                if pattern.endswith("/**"):
                    head = re.compile(glob_to_regex(pattern[:-3]))
                    parts = parent.split("/") if parent else []
                    for count in range(1, len(parts) + 1):
                        candidate = "/".join(parts[:count])
                        if head.fullmatch(candidate):
                            return class_index, candidate
                elif re.fullmatch(glob_to_regex(pattern), path):
                    return class_index, ""
        return None


# --------------------------------------------------------------------------- classification


def top_path(path: str, matched_dir: str) -> str:
    """The path reported for a member: the child of the matched directory that contains it
    (``usr/share/doc/bash/`` for ``usr/share/doc/bash/copyright`` under ``usr/share/doc/**``),
    or the file itself."""
    if not matched_dir:
        return path
    rest = path[len(matched_dir) + 1 :]
    head, sep, _ = rest.partition("/")
    return f"{matched_dir}/{head}/" if sep else path


def classify(files: Sequence["FinalFile"], table: CruftTable, *, keep_largest: int = 10) -> CruftReport:
    results: dict[int, CruftClassResult] = {}
    match = table._matcher.match
    regular = EntryType.FILE
    for item in files:
        found = match(item.path)
        if found is None:
            continue
        class_index, matched_dir = found
        root = top_path(item.path, matched_dir)
        result = results.get(class_index)
        if result is None:
            result = results[class_index] = CruftClassResult(table.classes[class_index])
        size = item.entry.size if item.entry.type is regular else 0
        result.bytes += size
        result.files += 1
        slot = result.roots.get(root)
        if slot is None:
            result.roots[root] = [size, 1]
        else:
            slot[0] += size
            slot[1] += 1
        largest = result.largest
        if len(largest) < keep_largest * 4:
            largest.append((size, item.path))
        elif size > 0:
            largest.append((size, item.path))
            largest.sort(key=lambda x: (-x[0], x[1]))
            del largest[keep_largest:]
    for result in results.values():
        result.largest.sort(key=lambda x: (-x[0], x[1]))
        del result.largest[keep_largest:]
    ordered = sorted(results.values(), key=lambda r: (r.cls.informational, -r.bytes, -r.files, r.cls.id))
    return CruftReport(ordered)
