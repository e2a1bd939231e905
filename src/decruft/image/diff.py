"""``decruft diff A B``: what changed between two images (pure, over two analyses).

Compares the *final filesystems* (after whiteouts) and the layer stacks: total and per-layer
sizes (layers with the same DiffID at the same position are "shared"), regular-file bytes per
top-level directory, files added / removed / changed (type, size, digest when both sides are
hashed, mode, owner, link target), cruft classes before/after, and installed packages:

* dpkg: ``var/lib/dpkg/status`` contents when the reader can return them (name, version);
  otherwise names only, from ``var/lib/dpkg/info/<name>[:<arch>].list`` paths (and the
  distroless ``var/lib/dpkg/status.d/<name>`` files);
* apk: ``lib/apk/db/installed`` contents when available;
* pip: ``*.dist-info`` / ``*.egg-info`` directories under ``site-packages``/``dist-packages``
  (name and version from the directory name, PEP 503-normalised name);
* npm: ``node_modules/<name>/package.json`` and ``node_modules/@scope/<name>/package.json``
  paths (names only; the count is the number of installed copies).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Mapping

from decruft.image.analysis import Analysis, FinalFile
from decruft.image.model import EntryType

DPKG_STATUS = "var/lib/dpkg/status"
APK_INSTALLED = "lib/apk/db/installed"
PACKAGE_FILES = frozenset({DPKG_STATUS, APK_INSTALLED})

_NAME_NORMALIZE = re.compile(r"[-_.]+")
_EGG_PY = re.compile(r"-py\d+(\.\d+)*$")


@dataclass
class Packages:
    """ecosystem -> name -> sorted versions ("" when unknown)."""

    by_ecosystem: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # ecosystem -> how it was read

    def names(self, ecosystem: str) -> dict[str, list[str]]:
        return self.by_ecosystem.get(ecosystem, {})


@dataclass
class PackageChanges:
    ecosystem: str
    source_a: str
    source_b: str
    added: list[tuple[str, list[str]]]
    removed: list[tuple[str, list[str]]]
    changed: list[tuple[str, list[str], list[str]]]  # name, versions in A, versions in B


@dataclass
class FileChange:
    path: str
    size_a: int | None
    size_b: int | None
    what: str  # "added", "removed", or comma-separated changed attributes


@dataclass
class LayerPair:
    index: int
    a: tuple[int, str, str] | None  # (size, diff_id, instruction)
    b: tuple[int, str, str] | None
    shared: bool


@dataclass
class ImageDiff:
    a: Analysis
    b: Analysis
    layers: list[LayerPair]
    shared_layers: int  # leading layers with equal DiffIDs
    top_dirs: list[tuple[str, int, int]]  # (dir, bytes in A, bytes in B)
    added: list[FileChange]
    removed: list[FileChange]
    changed: list[FileChange]
    cruft: list[tuple[str, str, int, int]]  # (class id, title, bytes A, bytes B)
    packages: list[PackageChanges]

    @property
    def added_bytes(self) -> int:
        return sum(c.size_b or 0 for c in self.added)

    @property
    def removed_bytes(self) -> int:
        return sum(c.size_a or 0 for c in self.removed)


# --------------------------------------------------------------------------- packages


def normalize_python_name(name: str) -> str:
    return _NAME_NORMALIZE.sub("-", name).lower()


def parse_dpkg_status(text: str) -> dict[str, list[str]]:
    """Installed packages of a dpkg status file (``Status: ... installed``)."""
    packages: dict[str, list[str]] = {}
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if not line or line[0] in " \t":
                continue
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip().lower()] = value.strip()
        name = fields.get("package")
        if not name:
            continue
        status = fields.get("status", "install ok installed").split()
        if status and status[-1] != "installed":
            continue  # config-files, half-installed, not-installed, ...
        arch = fields.get("architecture", "")
        key = name if name not in packages else f"{name}:{arch}"
        packages.setdefault(key, []).append(fields.get("version", ""))
    return {name: sorted(set(versions)) for name, versions in packages.items()}


def parse_apk_installed(text: str) -> dict[str, list[str]]:
    packages: dict[str, list[str]] = {}
    name = version = None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if name:
                packages.setdefault(name, []).append(version or "")
            name = version = None
            continue
        if line.startswith("P:"):
            name = line[2:].strip()
        elif line.startswith("V:"):
            version = line[2:].strip()
    return {n: sorted(set(v)) for n, v in packages.items()}


def installed_packages(analysis: Analysis, contents: Mapping[str, bytes] | None = None) -> Packages:
    """Packages of the final filesystem; ``contents`` maps paths to file bytes when known."""
    contents = contents or {}
    result = Packages()
    paths = {item.path for item in analysis.files}

    status = contents.get(DPKG_STATUS)
    if status is not None:
        result.by_ecosystem["dpkg"] = parse_dpkg_status(status.decode("utf-8", "replace"))
        result.sources["dpkg"] = DPKG_STATUS
    else:
        dpkg: dict[str, list[str]] = {}
        for path in paths:
            if path.startswith("var/lib/dpkg/info/") and path.endswith(".list"):
                name = path[len("var/lib/dpkg/info/") : -len(".list")]
                if "/" not in name:
                    dpkg.setdefault(name.split(":")[0] if name.count(":") == 1 else name, [""])
            elif path.startswith("var/lib/dpkg/status.d/"):
                name = path[len("var/lib/dpkg/status.d/") :]
                if "/" not in name and not name.endswith(".md5sums"):
                    dpkg.setdefault(name, [""])
        if dpkg or DPKG_STATUS in paths:
            result.by_ecosystem["dpkg"] = dpkg
            result.sources["dpkg"] = "var/lib/dpkg/info/*.list (names only)"

    apk = contents.get(APK_INSTALLED)
    if apk is not None:
        result.by_ecosystem["apk"] = parse_apk_installed(apk.decode("utf-8", "replace"))
        result.sources["apk"] = APK_INSTALLED
    elif APK_INSTALLED in paths:
        result.sources["apk"] = f"{APK_INSTALLED} (contents not available)"
        result.by_ecosystem["apk"] = {}

    pip: dict[str, set[str]] = defaultdict(set)
    candidates = set(analysis.dirs)
    candidates.update(item.path for item in analysis.files if item.path.endswith(".egg-info"))
    for path in candidates:
        parent, _, base = path.rpartition("/")
        if not parent.endswith(("site-packages", "dist-packages")):
            continue
        if base.endswith(".dist-info"):
            stem = base[: -len(".dist-info")]
        elif base.endswith(".egg-info"):
            stem = _EGG_PY.sub("", base[: -len(".egg-info")])
        else:
            continue
        name, sep, version = stem.rpartition("-")
        if not sep:
            name, version = stem, ""
        pip[normalize_python_name(name)].add(version)
    if pip:
        result.by_ecosystem["pip"] = {name: sorted(versions) for name, versions in pip.items()}
        result.sources["pip"] = "*.dist-info / *.egg-info directories"

    npm: Counter[str] = Counter()
    for path in paths:
        if not path.endswith("/package.json") or "node_modules/" not in path:
            continue
        head = path[: -len("/package.json")]
        marker = head.rfind("node_modules/")
        name = head[marker + len("node_modules/") :]
        if name.startswith("@"):
            if name.count("/") != 1:
                continue
        elif "/" in name or not name or name.startswith("."):
            continue
        npm[name] += 1
    if npm:
        result.by_ecosystem["npm"] = {name: [f"{count} cop{'y' if count == 1 else 'ies'}"] for name, count in npm.items()}
        result.sources["npm"] = "node_modules/*/package.json paths (names only)"
    return result


def diff_packages(a: Packages, b: Packages) -> list[PackageChanges]:
    changes = []
    for ecosystem in sorted(set(a.by_ecosystem) | set(b.by_ecosystem)):
        left, right = a.names(ecosystem), b.names(ecosystem)
        added = [(name, right[name]) for name in sorted(set(right) - set(left))]
        removed = [(name, left[name]) for name in sorted(set(left) - set(right))]
        changed = [
            (name, left[name], right[name])
            for name in sorted(set(left) & set(right))
            if left[name] != right[name] and left[name] != [""] and right[name] != [""]
        ]
        changes.append(
            PackageChanges(ecosystem, a.sources.get(ecosystem, "-"), b.sources.get(ecosystem, "-"), added, removed, changed)
        )
    return changes


# --------------------------------------------------------------------------- files


def _file_changes(a: FinalFile, b: FinalFile) -> list[str]:
    ea, eb = a.entry, b.entry
    what = []
    if ea.type is not eb.type:
        what.append("type")
    if ea.size != eb.size:
        what.append("size")
    elif ea.digest and eb.digest and ea.digest != eb.digest:
        what.append("content")
    if ea.mode != eb.mode:
        what.append("mode")
    if ea.uid != eb.uid or ea.gid != eb.gid:
        what.append("owner")
    if ea.linkname != eb.linkname and (ea.type is not EntryType.HARDLINK or eb.type is not EntryType.HARDLINK):
        what.append("target")
    return what


def top_dir(path: str) -> str:
    head, sep, _ = path.partition("/")
    return head + "/" if sep else "/"


def diff_images(
    a: Analysis,
    b: Analysis,
    *,
    contents_a: Mapping[str, bytes] | None = None,
    contents_b: Mapping[str, bytes] | None = None,
) -> ImageDiff:
    layers: list[LayerPair] = []
    shared = 0
    prefix = True
    for index in range(max(len(a.layers), len(b.layers))):
        la = a.layers[index] if index < len(a.layers) else None
        lb = b.layers[index] if index < len(b.layers) else None
        same = la is not None and lb is not None and la.diff_id == lb.diff_id
        if same and prefix:
            shared += 1
        else:
            prefix = False
        layers.append(
            LayerPair(
                index,
                (la.size_bytes, la.diff_id, la.created_by) if la else None,
                (lb.size_bytes, lb.diff_id, lb.created_by) if lb else None,
                same,
            )
        )

    files_a = {item.path: item for item in a.files}
    files_b = {item.path: item for item in b.files}
    dirs: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in a.files:
        if item.entry.type is EntryType.FILE:
            dirs[top_dir(item.path)][0] += item.entry.size
    for item in b.files:
        if item.entry.type is EntryType.FILE:
            dirs[top_dir(item.path)][1] += item.entry.size
    top_dirs = sorted(((d, v[0], v[1]) for d, v in dirs.items()), key=lambda t: (-abs(t[2] - t[1]), -max(t[1], t[2]), t[0]))

    def size(item: FinalFile) -> int:
        return item.entry.size if item.entry.type is EntryType.FILE else 0

    added = [FileChange(p, None, size(files_b[p]), "added") for p in files_b.keys() - files_a.keys()]
    removed = [FileChange(p, size(files_a[p]), None, "removed") for p in files_a.keys() - files_b.keys()]
    changed = []
    for path in files_a.keys() & files_b.keys():
        what = _file_changes(files_a[path], files_b[path])
        if what:
            changed.append(FileChange(path, size(files_a[path]), size(files_b[path]), ",".join(what)))
    added.sort(key=lambda c: (-(c.size_b or 0), c.path))
    removed.sort(key=lambda c: (-(c.size_a or 0), c.path))
    changed.sort(key=lambda c: (-abs((c.size_b or 0) - (c.size_a or 0)), c.path))

    cruft: dict[str, list] = {}
    for result in a.cruft.results:
        cruft[result.cls.id] = [result.cls.title, result.bytes, 0]
    for result in b.cruft.results:
        cruft.setdefault(result.cls.id, [result.cls.title, 0, 0])[2] = result.bytes
    cruft_rows = sorted(((cid, v[0], v[1], v[2]) for cid, v in cruft.items()), key=lambda r: (-max(r[2], r[3]), r[0]))

    packages = diff_packages(installed_packages(a, contents_a), installed_packages(b, contents_b))
    return ImageDiff(a, b, layers, shared, top_dirs, added, removed, changed, cruft_rows, packages)
