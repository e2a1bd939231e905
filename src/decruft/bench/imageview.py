"""What a built image holds, read with ``decruft inspect``'s own reader and analysis.

The image is streamed from the engine (`decruft.image.sources.open_image` on
``docker://<tag>``) and analysed once (`decruft.image.analysis.analyze`): layer sizes with the
instruction that made them, the number of files in the final filesystem, the cruft total, and
the treemap cells: the final filesystem's bytes grouped by directory (up to three path
components) and by cruft class (the class ``inspect`` assigns; ``-`` for bytes no class claims).
The smallest cells are folded into one ``(other)`` cell per top-level directory so the chart
stays readable and the page small; the byte total is kept exactly.
"""

from __future__ import annotations

from decruft.bench.model import LayerSize, SideResult, TreemapCell

#: Cells kept per image before the rest is folded into "(other)" cells.
MAX_CELLS = 120
DEPTH = 3


def describe_image(tag: str, side: SideResult, *, compressed: list[int] | None = None) -> None:
    """Fill ``side``'s layer, file, cruft and treemap figures from the image ``tag``."""
    from decruft.image.analysis import analyze
    from decruft.image.model import EntryType
    from decruft.image.sources import open_image

    image = open_image(f"docker://{tag}")
    analysis = analyze(image)
    side.layers = len(image.layers)
    side.files = analysis.final_files
    side.cruft_bytes = analysis.cruft.bytes
    side.layer_sizes = [
        LayerSize(stats.index, stats.created_by, stats.size_bytes,
                  compressed[stats.index] if compressed and stats.index < len(compressed) else None)
        for stats in analysis.layers
    ]
    from decruft.image.cruft import load_table

    table = load_table()
    cells: dict[tuple[str, str], list[int]] = {}
    for item in analysis.files:
        if item.entry.type is not EntryType.FILE:
            continue
        parts = item.path.split("/")[:-1] or ["/"]
        directory = "/".join(parts[:DEPTH])
        found = table.class_of(item.path)
        key = (directory, found.id if found is not None and not found.informational else "-")
        slot = cells.setdefault(key, [0, 0])
        slot[0] += item.entry.size
        slot[1] += 1
    side.treemap = fold_cells(cells)


def fold_cells(cells: dict[tuple[str, str], list[int]], limit: int = MAX_CELLS) -> list[TreemapCell]:
    """The ``limit`` largest cells, the rest summed into one ``(other)`` cell per top directory."""
    ordered = sorted(cells.items(), key=lambda kv: (-kv[1][0], kv[0]))
    kept = [TreemapCell(d.split("/")[0], d, c, b, f) for (d, c), (b, f) in ordered[:limit] if b > 0]
    rest: dict[str, list[int]] = {}
    for (directory, _class), (size, files) in ordered[limit:]:
        slot = rest.setdefault(directory.split("/")[0], [0, 0])
        slot[0] += size
        slot[1] += files
    for top, (size, files) in sorted(rest.items()):
        if size > 0:
            kept.append(TreemapCell(top, f"{top}/(other)" if top != "/" else "(other)", "-", size, files))
    return kept
