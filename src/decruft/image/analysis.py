"""What is in an image, layer by layer, and which bytes the final image cannot see.

Pure functions over :mod:`decruft.image.model` (no I/O).  :func:`analyze` applies the
layers in order with OCI whiteout semantics, one pass, memory proportional to the number of
paths:

* for each layer, *first* its opaque whiteouts (``<dir>/.wh..wh..opq`` hides every lower child
  of ``<dir>``), *then* its explicit whiteouts (``<dir>/.wh.<name>`` deletes ``<name>`` and its
  subtree from lower layers), *then* its own entries in tar order (a later entry for the same
  path replaces an earlier one; a non-directory replacing a directory takes its subtree with it);
* every regular file's bytes either reach the final filesystem or are **waste**, attributed to
  the layer that wrote them and the layer that hid them, by kind:

  ``overwritten``    a later layer (or a later member of the same layer) writes the same path
                     with other content (or unknown content: no hashes, or a different size)
  ``metadata-only``  a later layer re-writes the same path with the same size (and the same
                     digest when hashed) but another mode/owner -- chmod/chown re-adds the file
  ``identical``      a later layer re-writes the same path with the same digest and metadata
                     (only knowable when the reader hashed)
  ``deleted``        an explicit whiteout of the path or of a directory above it
  ``opaque``         an opaque whiteout of a directory above it
  ``replaced``       a directory above it was replaced by a non-directory

  A hidden file that a *visible* hard link of the same layer still references is not waste
  (its inode survives).  ``reclaimable_bytes`` is the sum of the waste.

* final-image duplicates: visible regular files with the same ``digest`` at different paths
  (exact, when the reader hashed) or else the same size and basename ("possible duplicates");
* cruft classes of the final image (:mod:`decruft.image.cruft`);
* optionally the figures of dive 0.13.1 (:func:`dive_metrics`), reproduced with dive's own
  counting rules and quirks so that they match ``dive --ci`` exactly (see ``docs/inspect.md``).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Iterator

from decruft.gcpause import gc_paused
from decruft.image.cruft import CruftReport, CruftTable, classify, load_table
from decruft.image.model import Entry, EntryType, Image

_FILE = EntryType.FILE
_DIR = EntryType.DIR
_HARDLINK = EntryType.HARDLINK
_WHITEOUT = EntryType.WHITEOUT
_OPAQUE = EntryType.OPAQUE

WASTE_KINDS = ("overwritten", "metadata-only", "identical", "deleted", "opaque", "replaced")

# --------------------------------------------------------------------------- instructions

_WS = re.compile(r"\s+")
_ARGS_PREFIX = re.compile(r"^\|\d+ ")


def short_instruction(created_by: str | None) -> str:
    """A one-line form of a history ``created_by``.

    Strips ``/bin/sh -c ``, ``#(nop) `` and `` # buildkit``; a classic-builder shell step
    (``/bin/sh -c apt-get ...``) becomes ``RUN apt-get ...``; BuildKit's ``RUN |2 A=1 B=2
    /bin/sh -c ...`` (build args in scope) becomes ``RUN ...``.
    """
    if not created_by:
        return ""
    text = created_by.strip()
    if text.endswith("# buildkit"):
        text = text[: -len("# buildkit")].rstrip()
    shell = "/bin/sh -c "
    position = text.find(shell)
    if position >= 0:
        head, rest = text[:position].strip(), text[position + len(shell) :].lstrip()
        if rest.startswith("#(nop)"):
            text = rest[len("#(nop)") :].strip()
        elif head == "" or head == "RUN" or (head.startswith("RUN ") and _ARGS_PREFIX.match(head[4:] + " ")):
            text = "RUN " + rest
        else:
            text = head + " " + rest
    elif text.startswith("#(nop)"):
        text = text[len("#(nop)") :].strip()
    return _WS.sub(" ", text).strip()


# --------------------------------------------------------------------------- results


@dataclass(slots=True)
class PathBytes:
    paths: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.paths += 1
        self.bytes += size


@dataclass(slots=True)
class LayerStats:
    index: int
    diff_id: str
    created_by: str  # shortened
    created_by_full: str | None
    size_bytes: int  # regular-file bytes in the layer
    tar_bytes: int
    compressed_bytes: int | None
    files: int  # non-directory, non-whiteout entries
    dirs: int
    whiteouts: int
    opaque_whiteouts: int
    added: PathBytes = field(default_factory=PathBytes)  # non-directory paths new to the image
    modified: PathBytes = field(default_factory=PathBytes)  # non-directory paths that existed below
    deleted: PathBytes = field(default_factory=PathBytes)  # lower non-directory paths whited out
    wasted_bytes: int = 0  # bytes written here that the final image cannot see
    hidden_bytes: int = 0  # bytes of lower layers (or earlier members) this layer hid
    noop_whiteouts: int = 0  # whiteouts of paths no lower layer had


@dataclass(slots=True)
class WasteGroup:
    """Hidden bytes of one root (a file, or a deleted/opaque directory) from one writer."""

    path: str  # directories end with "/"
    kind: str
    written_by: int
    hidden_by: int
    bytes: int = 0
    files: int = 0


@dataclass(slots=True)
class DuplicateGroup:
    size: int  # bytes of each copy
    paths: list[str]
    digest: str | None  # None for size+name matches

    @property
    def wasted_bytes(self) -> int:
        return self.size * (len(self.paths) - 1)


@dataclass(slots=True)
class Duplicates:
    method: str  # "digest" (exact) or "size+name" (possible duplicates, not verified)
    groups: list[DuplicateGroup]
    bytes: int  # sum of wasted_bytes over all groups
    min_size: int

    @property
    def exact(self) -> bool:
        return self.method == "digest"


@dataclass(slots=True)
class FinalFile:
    """A visible non-directory path of the final filesystem."""

    path: str
    entry: Entry
    layer: int


@dataclass
class DiveMetrics:
    """dive 0.13.1's figures, computed its way (including its known flaws)."""

    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float  # nan when there are no user bytes and no waste, inf if waste only
    size_bytes: int
    user_size_bytes: int
    inefficient_files: list[tuple[str, int, int]]  # (path, count, cumulative bytes), largest first
    aborted_layers: list[int] = field(default_factory=list)  # layers whose walk dive abandoned


@dataclass
class Analysis:
    image: Image
    layers: list[LayerStats]
    size_bytes: int  # regular-file bytes of all layers
    final_bytes: int  # regular-file bytes visible in the final filesystem
    final_files: int
    reclaimable_bytes: int
    waste_by_kind: dict[str, int]
    waste_groups: list[WasteGroup]  # all groups, largest first
    waste_matrix: dict[tuple[int, int], int]  # (written_by, hidden_by) -> bytes
    duplicates: Duplicates
    cruft: CruftReport
    files: list[FinalFile]  # final filesystem, non-directories
    dirs: set[str]  # final filesystem, directories (explicit or implied)
    dive: DiveMetrics | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def tar_bytes(self) -> int:
        return self.image.tar_size

    @property
    def compressed_bytes(self) -> int | None:
        return self.image.compressed_size

    def top_waste(self, limit: int = 20) -> list[WasteGroup]:
        return self.waste_groups[:limit]


# --------------------------------------------------------------------------- layer application


class _State:
    """The visible filesystem while layers are applied: path -> (layer, entry or None).

    ``None`` marks a directory that exists only because something below it was written.
    ``children`` (directory -> its direct children) lets subtrees be removed in time
    proportional to their size; it is built on the first removal, so images without
    whiteouts never pay for it.
    """

    __slots__ = ("nodes", "children")

    def __init__(self) -> None:
        self.nodes: dict[str, tuple[int, Entry | None]] = {}
        self.children: dict[str, set[str]] | None = None

    def _index(self) -> dict[str, set[str]]:
        children: dict[str, set[str]] = {}
        for path in self.nodes:
            parent = path.rpartition("/")[0]
            kids = children.get(parent)
            if kids is None:
                children[parent] = {path}
            else:
                kids.add(path)
        self.children = children
        return children

    def put(self, path: str, layer: int, entry: Entry | None) -> None:
        nodes = self.nodes
        nodes[path] = (layer, entry)
        children = self.children
        parent = path.rpartition("/")[0]
        if children is not None:
            kids = children.get(parent)
            if kids is None:
                children[parent] = {path}
            else:
                kids.add(path)
        while parent and parent not in nodes:
            nodes[parent] = (layer, None)
            grand = parent.rpartition("/")[0]
            if children is not None:
                kids = children.get(grand)
                if kids is None:
                    children[grand] = {parent}
                else:
                    kids.add(parent)
            parent = grand

    def remove(self, path: str) -> list[tuple[str, int, Entry | None]]:
        """Remove ``path`` and its subtree; returns the removed nodes (path, layer, entry)."""
        node = self.nodes.pop(path, None)
        if node is None:
            return []
        children = self.children if self.children is not None else self._index()
        kids = children.get(path.rpartition("/")[0])
        if kids is not None:
            kids.discard(path)
        removed = [(path, node[0], node[1])]
        self._remove_below(path, removed, children)
        return removed

    def remove_children(self, path: str) -> list[tuple[str, int, Entry | None]]:
        children = self.children if self.children is not None else self._index()
        removed: list[tuple[str, int, Entry | None]] = []
        self._remove_below(path, removed, children)
        return removed

    def _remove_below(self, path: str, removed: list, children: dict[str, set[str]]) -> None:
        stack = [path]
        nodes = self.nodes
        append = removed.append
        while stack:
            kids = children.pop(stack.pop(), None)
            if not kids:
                continue
            for kid in kids:
                node = nodes.pop(kid, None)
                if node is not None:
                    append((kid, node[0], node[1]))
                    stack.append(kid)


def _is_dir(entry: Entry | None) -> bool:
    return entry is None or entry.type is _DIR


def _overwrite_kind(old: Entry, new: Entry) -> str:
    if new.type is not _FILE or new.size != old.size:
        return "overwritten"
    if old.digest is not None and new.digest is not None and old.digest != new.digest:
        return "overwritten"
    same_meta = old.mode == new.mode and old.uid == new.uid and old.gid == new.gid
    if not same_meta:
        return "metadata-only"
    if old.digest is not None and old.digest == new.digest:
        return "identical"
    return "overwritten"


# (path, size, written_by, hidden_by, kind, root) of a regular file the final image cannot see
Hidden = tuple[str, int, int, int, str, str]


def apply_layers(image: Image) -> tuple[dict[str, tuple[int, Entry | None]], list[LayerStats], list[Hidden]]:
    """Apply all layers; return the final nodes, per-layer stats and every hidden regular file."""
    state = _State()
    nodes = state.nodes
    stats: list[LayerStats] = []
    hidden: list[Hidden] = []
    keep = hidden.append

    for index, layer in enumerate(image.layers):
        entries = layer.entries
        files = dirs = whiteouts = opaques = content = 0
        for entry in entries:
            kind = entry.type
            if kind is _FILE:
                files += 1
                content += entry.size
            elif kind is _DIR:
                dirs += 1
            elif kind is _WHITEOUT:
                whiteouts += 1
            elif kind is _OPAQUE:
                opaques += 1
            else:
                files += 1
        st = LayerStats(
            index=index,
            diff_id=layer.diff_id,
            created_by=short_instruction(layer.created_by),
            created_by_full=layer.created_by,
            size_bytes=content,
            tar_bytes=layer.tar_size,
            compressed_bytes=layer.compressed_size,
            files=files,
            dirs=dirs,
            whiteouts=whiteouts,
            opaque_whiteouts=opaques,
        )
        stats.append(st)
        deleted_paths = deleted_bytes = 0

        def hide(removed: list[tuple[str, int, Entry | None]], kind: str, root: str) -> None:
            nonlocal deleted_paths, deleted_bytes
            for path, writer, entry in removed:
                if entry is None or entry.type is _DIR:
                    continue
                size = entry.size if entry.type is _FILE else 0
                if writer < index:
                    deleted_paths += 1
                    deleted_bytes += size
                if size:
                    keep((path, size, writer, index, kind, root))

        # 1. opaque whiteouts hide all lower children of their directory
        if opaques:
            for entry in entries:
                if entry.type is _OPAQUE:
                    hide(state.remove_children(entry.path), "opaque", entry.path + "/" if entry.path else "/")
        # 2. explicit whiteouts delete a path and its subtree from lower layers
        if whiteouts:
            for entry in entries:
                if entry.type is _WHITEOUT:
                    removed = state.remove(entry.path)
                    if not removed:
                        st.noop_whiteouts += 1
                        continue
                    hide(removed, "deleted", entry.path + ("/" if _is_dir(removed[0][2]) else ""))
        st.deleted.paths, st.deleted.bytes = deleted_paths, deleted_bytes
        # 3. the layer's own entries, in tar order
        added_paths = added_bytes = modified_paths = modified_bytes = 0
        for entry in entries:
            kind = entry.type
            if kind is _WHITEOUT or kind is _OPAQUE:
                continue
            path = entry.path
            if not path:
                continue  # the root directory itself
            size = entry.size if kind is _FILE else 0
            old = nodes.get(path)
            if old is None:
                if kind is not _DIR:
                    added_paths += 1
                    added_bytes += size
                state.put(path, index, entry)
                continue
            writer, old_entry = old
            if old_entry is None or old_entry.type is _DIR:
                if kind is _DIR:
                    nodes[path] = (index, entry)  # directory metadata only
                    continue
                # a non-directory replaces a directory and everything below it
                removed = state.remove(path)
                for sub_path, sub_writer, sub_entry in removed[1:]:
                    if sub_entry is not None and sub_entry.type is _FILE and sub_entry.size:
                        keep((sub_path, sub_entry.size, sub_writer, index, "replaced", path + "/"))
                if writer < index:
                    modified_paths += 1
                    modified_bytes += size
                else:
                    added_paths += 1
                    added_bytes += size
                state.put(path, index, entry)
                continue
            if writer < index:
                modified_paths += 1
                modified_bytes += size
            if old_entry.type is _FILE and old_entry.size:
                how = "overwritten" if kind is _DIR else _overwrite_kind(old_entry, entry)
                keep((path, old_entry.size, writer, index, how, path))
            nodes[path] = (index, entry)
        st.added.paths, st.added.bytes = added_paths, added_bytes
        st.modified.paths, st.modified.bytes = modified_paths, modified_bytes
    return nodes, stats, hidden


# --------------------------------------------------------------------------- analysis


def analyze(
    image: Image,
    *,
    dive: bool = False,
    cruft_table: CruftTable | None = None,
    duplicate_min_size: int | None = None,
) -> Analysis:
    """Analyse ``image``; ``dive=True`` also computes :func:`dive_metrics`."""
    with gc_paused():
        return _analyze(image, dive=dive, cruft_table=cruft_table, duplicate_min_size=duplicate_min_size)


def _analyze(image: Image, *, dive: bool, cruft_table: CruftTable | None, duplicate_min_size: int | None) -> Analysis:
    nodes, stats, hidden = apply_layers(image)

    files: list[FinalFile] = []
    dirs: set[str] = set()
    surviving_links: set[tuple[int, str]] = set()
    for path, (layer_index, entry) in nodes.items():
        if entry is None or entry.type is _DIR:
            dirs.add(path)
            continue
        files.append(FinalFile(path, entry, layer_index))
        if entry.type is _HARDLINK and entry.linkname:
            surviving_links.add((layer_index, entry.linkname))
    files.sort(key=attrgetter("path"))

    waste_by_kind = {kind: 0 for kind in WASTE_KINDS}
    groups: dict[tuple[str, str, int, int], WasteGroup] = {}
    matrix: dict[tuple[int, int], int] = defaultdict(int)
    wasted = [0] * len(stats)
    hides = [0] * len(stats)
    rescued = 0
    for path, size, writer, hider, kind, root in hidden:
        if surviving_links and (writer, path) in surviving_links:
            rescued += size  # a visible hard link still holds this inode
            continue
        waste_by_kind[kind] += size
        key = (root, kind, writer, hider)
        group = groups.get(key)
        if group is None:
            group = groups[key] = WasteGroup(root, kind, writer, hider)
        group.bytes += size
        group.files += 1
        matrix[(writer, hider)] += size
        wasted[writer] += size
        hides[hider] += size
    for st in stats:
        st.wasted_bytes, st.hidden_bytes = wasted[st.index], hides[st.index]
    reclaimable = sum(waste_by_kind.values())
    size_bytes = sum(st.size_bytes for st in stats)
    final_bytes = sum(item.entry.size for item in files if item.entry.type is _FILE) + rescued

    table = cruft_table if cruft_table is not None else load_table()
    analysis = Analysis(
        image=image,
        layers=stats,
        size_bytes=size_bytes,
        final_bytes=final_bytes,
        final_files=len(files),
        reclaimable_bytes=reclaimable,
        waste_by_kind=waste_by_kind,
        waste_groups=sorted(groups.values(), key=lambda g: (-g.bytes, g.path, g.written_by)),
        waste_matrix=dict(matrix),
        duplicates=find_duplicates(files, min_size=duplicate_min_size),
        cruft=classify(files, table),
        files=files,
        dirs=dirs,
        warnings=list(image.warnings),
    )
    noop = sum(st.noop_whiteouts for st in stats)
    if noop:
        analysis.warnings.append(f"{noop} whiteout(s) delete paths that no lower layer has")
    if dive:
        analysis.dive = dive_metrics(image)
    return analysis


def find_duplicates(files: list[FinalFile], *, min_size: int | None = None) -> Duplicates:
    """Same content at different paths of the final filesystem.

    With digests (the reader hashed contents) groups are exact.  Without them, files with the
    same size *and* basename are reported as possible duplicates (``method="size+name"``), and
    only from ``min_size`` bytes (default 1 KiB) to keep the noise down.
    """
    regular = [item for item in files if item.entry.type is _FILE and item.entry.size > 0]
    hashed = any(item.entry.digest for item in regular)
    method = "digest" if hashed else "size+name"
    if min_size is None:
        min_size = 1 if hashed else 1024
    buckets: dict[object, list[FinalFile]] = {}
    if hashed:
        for item in regular:
            digest = item.entry.digest
            if digest and item.entry.size >= min_size:
                bucket = buckets.get(digest)
                if bucket is None:
                    buckets[digest] = [item]
                else:
                    bucket.append(item)
    else:
        by_size: dict[int, list[FinalFile]] = {}
        for item in regular:
            size = item.entry.size
            if size >= min_size:
                bucket = by_size.get(size)
                if bucket is None:
                    by_size[size] = [item]
                else:
                    bucket.append(item)
        for size, items in by_size.items():
            if len(items) > 1:
                for item in items:
                    buckets.setdefault((size, item.path.rpartition("/")[2]), []).append(item)
    groups = [
        DuplicateGroup(items[0].entry.size, sorted(i.path for i in items), items[0].entry.digest if hashed else None)
        for items in buckets.values()
        if len(items) > 1
    ]
    groups.sort(key=lambda g: (-g.wasted_bytes, g.paths[0]))
    return Duplicates(method, groups, sum(g.wasted_bytes for g in groups), min_size)


# --------------------------------------------------------------------------- dive 0.13.1


class _DNode:
    """A node of dive's per-layer/stacked trees: ``FileInfo.IsDir``, ``FileInfo.Size``, children."""

    __slots__ = ("is_dir", "size", "kids")

    def __init__(self, is_dir: bool = False, size: int = 0) -> None:
        self.is_dir = is_dir
        self.size = size
        self.kids: dict[str, _DNode] = {}


def _dive_tree(entries: list[Entry]) -> _DNode:
    """dive's tree of one layer: intermediate nodes get an empty FileInfo (not a directory,
    size 0); a whiteout is a node named ``.wh.<name>``; opaque markers are never added (but
    the directory that holds one is); a repeated path keeps its children and takes the last
    FileInfo."""
    root = _DNode(True)
    for entry in entries:
        path = entry.path
        if not path and entry.type is not _OPAQUE:
            continue
        names = path.split("/") if path else []
        if entry.type is _WHITEOUT:
            names[-1] = ".wh." + names[-1]
        node = root
        for name in names:
            child = node.kids.get(name)
            if child is None:
                child = node.kids[name] = _DNode()
            node = child
        if entry.type is _OPAQUE:
            continue
        node.is_dir = entry.type is _DIR
        node.size = entry.size
    return root


def _dive_walk(node: _DNode, prefix: str) -> Iterator[tuple[str, str, _DNode]]:
    """dive's VisitDepthChildFirst: children in byte order, each subtree before its parent."""
    for name in sorted(node.kids):
        child = node.kids[name]
        path = prefix + "/" + name
        if child.kids:
            yield from _dive_walk(child, path)
        yield path, name, child


def _dive_stack(base: _DNode, upper: _DNode) -> None:
    """dive's FileTree.Stack: a whiteout removes its path, anything else overwrites FileInfo."""
    for path, name, node in _dive_walk(upper, ""):
        names = path[1:].split("/")
        if name.startswith(".wh."):
            names[-1] = name[4:]
            parent = base
            for part in names[:-1]:
                parent = parent.kids.get(part)  # type: ignore[assignment]
                if parent is None:
                    break
            else:
                parent.kids.pop(names[-1], None)
            continue
        target = base
        for part in names:
            child = target.kids.get(part)
            if child is None:
                child = target.kids[part] = _DNode()
            target = child
        target.is_dir = node.is_dir
        target.size = node.size


def _dive_copy(node: _DNode) -> _DNode:
    copy = _DNode(node.is_dir, node.size)
    for name, child in node.kids.items():
        copy.kids[name] = _dive_copy(child)
    return copy


def _dive_subtree_size(node: _DNode) -> int:
    total = 0
    stack = [node]
    while stack:
        current = stack.pop()
        total += current.size
        stack.extend(current.kids.values())
    return total


class _Abort(Exception):
    pass


def dive_layer_entries(image: Image) -> list[list[Entry]]:
    """The layers as dive sees them.  In a ``docker save`` archive of Docker <= 24 (no media
    types) a layer that repeats an earlier one is a *symlink* to the earlier ``layer.tar``;
    dive reads the symlink member itself, which has no content, so for dive that layer is
    empty.  Layers with a media type (OCI layouts) are taken as they are."""
    seen: set[str] = set()
    result = []
    for layer in image.layers:
        repeated = layer.diff_id in seen and layer.media_type is None and layer.digest is None
        seen.add(layer.diff_id)
        result.append([] if repeated else layer.entries)
    return result


def dive_metrics(image: Image) -> DiveMetrics:
    """efficiency, wastedBytes and userWastedPercent exactly as dive 0.13.1 computes them.

    Per path over all layers (leaves of each layer's tree only): ``cum`` (sum of sizes),
    ``min`` and ``n``; a whiteout counts the size of what it deletes *if that was a
    directory* in the stacked lower layers, else 0.  efficiency = sum(min)/sum(cum) (1 when
    sum(cum) = 0); wastedBytes = sum(cum) over paths with n >= 2; userWastedPercent =
    wastedBytes / (bytes of all layers but the first).  Faithfully reproduced quirks: opaque
    whiteouts are ignored; a whiteout whose target is missing below stops dive's walk of the
    rest of that layer and leaves a path with min = -1; the lower stack is "first layer, then
    layers 0..k-1 again"; directories that appear only as parents carry an empty FileInfo.
    A layer repeated in a Docker <= 24 ``docker save`` archive is empty for dive
    (:func:`dive_layer_entries`).  Unlike dive this keeps one stacked tree instead of
    rebuilding it per whiteout.
    """
    with gc_paused():
        return _dive_metrics(image)


def _dive_metrics(image: Image) -> DiveMetrics:
    layers = dive_layer_entries(image)
    trees = [_dive_tree(entries) for entries in layers]
    data: dict[str, list[int]] = {}  # path -> [cum, min, n]
    aborted: list[int] = []
    stacked: _DNode | None = None
    for index, tree in enumerate(trees):
        if index == 0:
            lower = trees[0]  # StackTreeRange(trees, 0, -1): a copy of the first layer alone
        else:
            if stacked is None:
                stacked = _dive_copy(trees[0])
            _dive_stack(stacked, trees[index - 1])
            lower = stacked
        try:
            for path, name, node in _dive_walk(tree, ""):
                if node.kids:
                    continue  # only leaves are visited
                whiteout = name.startswith(".wh.")
                key = path[: -len(name)] + name[4:] if whiteout else path
                record = data.get(key)
                if record is None:
                    record = data[key] = [0, -1, 0]  # created before the lookup that may fail
                if whiteout:
                    target: _DNode | None = lower
                    for part in key[1:].split("/"):
                        if not part:
                            continue
                        target = target.kids.get(part)  # type: ignore[union-attr]
                        if target is None:
                            raise _Abort
                    size = _dive_subtree_size(target) if target.is_dir else 0  # type: ignore[union-attr]
                else:
                    size = node.size
                record[0] += size
                if record[1] < 0 or size < record[1]:
                    record[1] = size
                record[2] += 1
        except _Abort:
            aborted.append(index)
    sum_min = sum(record[1] for record in data.values())
    sum_cum = sum(record[0] for record in data.values())
    efficiency = 1.0 if sum_cum == 0 else sum_min / sum_cum
    inefficient = [(path, record[2], record[0]) for path, record in data.items() if record[2] >= 2]
    inefficient.sort(key=lambda item: (-item[2], item[0]))
    wasted = sum(item[2] for item in inefficient)
    layer_sizes = [sum(entry.size for entry in entries) for entries in layers]
    size_bytes = sum(layer_sizes)
    user = sum(layer_sizes[1:])
    if user:
        percent = wasted / user
    else:
        percent = math.nan if wasted == 0 else math.inf
    return DiveMetrics(efficiency, wasted, percent, size_bytes, user, inefficient, aborted)

