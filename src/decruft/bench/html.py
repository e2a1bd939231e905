"""``decruft bench --format html``: one self-contained page, readable offline.

Everything is inline: the CSS, the charts (SVG drawn here, in Python), a few lines of
JavaScript (legend filtering in the treemap, nothing the numbers depend on) and the complete
JSON result (``<script type="application/json" id="bench-data">``, the same document as
``--format json``), so the page can be archived as a CI artifact and still be checked later.
No external resource is referenced: no CDN, no font, no image URL.

Every number in the summary table sits in an element with ``data-side``, ``data-key`` and
``data-value`` (the raw JSON value); tests open the page in headless Chromium and compare
those and the text shown with the JSON.

Charts: the size of each layer for both images (horizontal bars on one scale), the build
and transfer times side by side, and a treemap per image of the final filesystem by
directory and cruft class (`squarify`, the layout of Bruls, Huizing and van Wijk, 2000).
"""

from __future__ import annotations

import html
import json
from typing import Sequence

from decruft.bench.model import TIMINGS, BenchResult, SideResult, TreemapCell
from decruft.bench.report import (
    cell,
    change,
    describe_setup,
    failures,
    format_seconds,
    headline,
    visible_rows,
    where_rebuilds_go,
)
from decruft.image.report import format_bytes

SIDE_COLOURS = {"original": "#c0504d", "optimised": "#2e86ab"}
_PALETTE = ("#e07a5f", "#81b29a", "#f2cc8f", "#9b5de5", "#f15bb5", "#00bbf9", "#fee440",
            "#00f5d4", "#ff924c", "#8ac926", "#6a4c93", "#ffca3a")
_NO_CLASS = "#a9b4c2"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def class_colours(cells: Sequence[TreemapCell]) -> dict[str, str]:
    """One colour per cruft class on the page, largest class first (so that the big ones never
    share a colour); ``-``, content no class claims, is grey."""
    totals: dict[str, int] = {}
    for item in cells:
        if item.cruft_class != "-":
            totals[item.cruft_class] = totals.get(item.cruft_class, 0) + item.bytes
    ordered = sorted(totals, key=lambda name: (-totals[name], name))
    colours = {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(ordered)}
    colours["-"] = _NO_CLASS
    return colours


# ---------------------------------------------------------------------------------- treemap layout
def squarify(values: Sequence[float], x: float, y: float, width: float, height: float) -> list[tuple[float, float, float, float]]:
    """Rectangles (x, y, w, h) for ``values`` (sorted largest first) filling the box, each with
    an area proportional to its value, laid out row by row keeping aspect ratios near 1."""
    total = float(sum(values))
    if total <= 0 or width <= 0 or height <= 0:
        return [(x, y, 0.0, 0.0) for _ in values]
    scale = width * height / total
    areas = [v * scale for v in values]
    rects: list[tuple[float, float, float, float]] = []
    start = 0
    while start < len(areas):
        side = min(width, height)
        row = [areas[start]]
        end = start + 1
        while end < len(areas) and _worst(row + [areas[end]], side) <= _worst(row, side):
            row.append(areas[end])
            end += 1
        row_area = sum(row)
        if width >= height:  # lay the row out as a column on the left
            column_width = row_area / height if height else 0
            offset = y
            for area in row:
                h = area / column_width if column_width else 0
                rects.append((x, offset, column_width, h))
                offset += h
            x, width = x + column_width, width - column_width
        else:  # a row along the top
            row_height = row_area / width if width else 0
            offset = x
            for area in row:
                w = area / row_height if row_height else 0
                rects.append((offset, y, w, row_height))
                offset += w
            y, height = y + row_height, height - row_height
        start = end
    return rects


def _worst(row: list[float], side: float) -> float:
    total = sum(row)
    if total <= 0 or side <= 0:
        return float("inf")
    return max(max(side * side * r / (total * total), total * total / (side * side * r)) for r in row if r > 0)


def treemap_svg(cells: list[TreemapCell], colours: dict[str, str], *, width: int = 900, height: int = 420,
                title: str = "") -> str:
    tops: dict[str, list[TreemapCell]] = {}
    for item in cells:
        tops.setdefault(item.top, []).append(item)
    groups = sorted(tops.items(), key=lambda kv: -sum(c.bytes for c in kv[1]))
    outer = squarify([sum(c.bytes for c in group) for _top, group in groups], 0, 0, width, height)
    parts = [f'<svg class="treemap" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg">']
    for (top, group), (gx, gy, gw, gh) in zip(groups, outer):
        group = sorted(group, key=lambda c: -c.bytes)
        inner = squarify([c.bytes for c in group], gx + 1, gy + 14, max(gw - 2, 0), max(gh - 15, 0))
        total = sum(c.bytes for c in group)
        parts.append(f'<g class="top"><rect x="{gx:.1f}" y="{gy:.1f}" width="{gw:.1f}" height="{gh:.1f}" '
                     f'fill="#37474f"><title>/{_e(top)}: {_e(format_bytes(total))}</title></rect>')
        if gw > 40:
            parts.append(f'<text x="{gx + 3:.1f}" y="{gy + 11:.1f}" class="toplabel">/{_e(top)} '
                         f'{_e(format_bytes(total))}</text>')
        for item, (x, y, w, h) in zip(group, inner):
            parts.append(
                f'<rect class="cell" data-class="{_e(item.cruft_class)}" data-bytes="{item.bytes}" x="{x:.1f}" '
                f'y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colours.get(item.cruft_class, _NO_CLASS)}">'
                f'<title>/{_e(item.directory)} [{_e(item.cruft_class if item.cruft_class != "-" else "no cruft class")}]'
                f' {_e(format_bytes(item.bytes))}, {item.files} files</title></rect>')
            if w > 70 and h > 14:
                name = item.directory.rsplit("/", 1)[-1][: int(w / 6.5)]
                parts.append(f'<text x="{x + 3:.1f}" y="{y + 11:.1f}" class="celllabel">{_e(name)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _legend(cells: list[TreemapCell], colours: dict[str, str]) -> str:
    totals: dict[str, int] = {}
    for item in cells:
        totals[item.cruft_class] = totals.get(item.cruft_class, 0) + item.bytes
    items = []
    for name, size in sorted(totals.items(), key=lambda kv: -kv[1]):
        label = "no cruft class" if name == "-" else name
        items.append(f'<button type="button" class="legend-item" data-class="{_e(name)}">'
                     f'<span class="swatch" style="background:{colours.get(name, _NO_CLASS)}"></span>{_e(label)} '
                     f'{_e(format_bytes(size))}</button>')
    return '<div class="legend">' + "".join(items) + "</div>"


# ---------------------------------------------------------------------------------- bar charts
def layers_svg(sides: list[SideResult], width: int = 900) -> str:
    largest = max((layer.size_bytes for side in sides for layer in side.layer_sizes), default=0) or 1
    bar_left, row_height = 360, 18
    rows = sum(len(side.layer_sizes) + 2 for side in sides)
    height = rows * row_height + 10
    parts = [f'<svg class="layers" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="size per layer" xmlns="http://www.w3.org/2000/svg">']
    y = 4
    for side in sides:
        colour = SIDE_COLOURS.get(side.name, "#555")
        parts.append(f'<text x="0" y="{y + 13}" class="sidelabel" fill="{colour}">{_e(side.name)}: '
                     f'{len(side.layer_sizes)} layers</text>')
        y += row_height
        for layer in side.layer_sizes:
            bar = (width - bar_left - 90) * layer.size_bytes / largest
            label = f"{layer.index}: {layer.created_by or '(base)'}"
            parts.append(
                f'<g class="layer" data-side="{side.name}" data-index="{layer.index}" data-bytes="{layer.size_bytes}">'
                f'<title>{_e(layer.created_by)} -- {_e(format_bytes(layer.size_bytes))}</title>'
                f'<text x="0" y="{y + 13}" class="layerlabel">{_e(label[:58])}</text>'
                f'<rect x="{bar_left}" y="{y + 3}" width="{max(bar, 0.5):.1f}" height="{row_height - 6}" fill="{colour}"/>'
                f'<text x="{bar_left + bar + 4:.1f}" y="{y + 13}" class="value">{_e(format_bytes(layer.size_bytes))}</text></g>')
            y += row_height
        y += row_height
    parts.append("</svg>")
    return "".join(parts)


def times_svg(result: BenchResult, width: int = 900) -> str:
    sides = result.sides()
    keys = [(key, label) for key, label in TIMINGS if any(side.figure(key) is not None for side in sides)]
    largest = max((side.figure(key) or 0 for side in sides for key, _ in keys), default=0) or 1
    bar_left, bar_height = 260, 14
    group_height = bar_height * len(sides) + 12
    height = group_height * len(keys) + 10
    parts = [f'<svg class="times" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="build times" xmlns="http://www.w3.org/2000/svg">']
    y = 4
    for key, label in keys:
        parts.append(f'<text x="0" y="{y + bar_height}" class="layerlabel">{_e(label)}</text>')
        for index, side in enumerate(sides):
            value = side.figure(key)
            if value is None:
                continue
            bar = (width - bar_left - 80) * value / largest
            top = y + index * bar_height
            parts.append(f'<g class="time" data-side="{side.name}" data-key="{key}" data-value="{value}">'
                         f'<title>{_e(side.name)}: {_e(format_seconds(value))}</title>'
                         f'<rect x="{bar_left}" y="{top + 1}" width="{max(bar, 0.5):.1f}" height="{bar_height - 2}" '
                         f'fill="{SIDE_COLOURS.get(side.name, "#555")}"/>'
                         f'<text x="{bar_left + bar + 4:.1f}" y="{top + bar_height - 3}" class="value">'
                         f'{_e(format_seconds(value))}</text></g>')
        y += group_height
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------- page
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:980px;color:#1d2733;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #e6ebf0;text-align:right}
th:first-child,td:first-child{text-align:left}td.better{color:#1b7f3b;font-weight:600}td.worse{color:#b3261e}
.headline li{margin:2px 0}.setup{color:#5b6775;font-size:12px}.failed{background:#fdecea;border:1px solid #f5c2bd;padding:8px 12px;border-radius:4px}
pre{background:#1d2733;color:#e6ebf0;padding:8px;overflow:auto;font-size:12px;max-height:320px}
svg text{font:11px system-ui,sans-serif}.toplabel{fill:#fff;font-weight:600}.celllabel{fill:#1d2733}
.sidelabel{font-weight:700;font-size:12px}.value{fill:#37474f}.layerlabel{fill:#1d2733}
.legend{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}.legend-item{border:1px solid #ccd5de;background:#fff;border-radius:12px;padding:2px 8px;cursor:pointer;font-size:12px}
.legend-item.active{border-color:#1d2733;font-weight:600}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
rect.cell{stroke:#fff;stroke-width:.5}svg.dimmed rect.cell{opacity:.15}svg.dimmed rect.cell.on{opacity:1}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
"""

_JS = """
(function () {
  document.querySelectorAll('.legend').forEach(function (legend) {
    var svg = legend.nextElementSibling;
    legend.addEventListener('click', function (event) {
      var button = event.target.closest('.legend-item');
      if (!button || !svg) { return; }
      var wanted = button.getAttribute('data-class');
      var active = button.classList.toggle('active');
      legend.querySelectorAll('.legend-item').forEach(function (other) {
        if (other !== button) { other.classList.remove('active'); }
      });
      svg.classList.toggle('dimmed', active);
      svg.querySelectorAll('rect.cell').forEach(function (rect) {
        rect.classList.toggle('on', active && rect.getAttribute('data-class') === wanted);
      });
    });
  });
  var data = JSON.parse(document.getElementById('bench-data').textContent);
  document.documentElement.setAttribute('data-bench-schema', data.schema);
})();
"""


def render_html(result: BenchResult) -> str:
    # "<" as \u003c: no "</script>" or "<!--" from an image's history can end or confuse the block.
    data = json.dumps(result.to_dict(), ensure_ascii=False).replace("<", "\\u003c")
    sides = result.sides()
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width,initial-scale=1">',
           f"<title>decruft bench: {_e(result.project)}</title><style>{_CSS}</style></head><body>",
           f"<h1>decruft bench: {_e(result.project)}</h1>"]
    out.append('<ul class="headline">' + "".join(f"<li>{_e(line)}</li>" for line in headline(result)) + "</ul>")
    for _side, lines in failures(result):
        out.append(f'<div class="failed"><strong>{_e(lines[0])}</strong>'
                   + "".join(f"<pre>{_e(extra)}</pre>" for extra in lines[1:]) + "</div>")
    out.append('<h2>Summary</h2><table id="summary"><thead><tr><th></th><th>original</th><th>optimised</th>'
               "<th>change</th></tr></thead><tbody>")
    for row in visible_rows(result):
        cells = [f"<td>{_e(row.label)}</td>"]
        for side in (result.original, result.optimised):
            value = result.value(side, row.key) if side is not None else None
            cells.append(f'<td data-side="{side.name if side else ""}" data-key="{row.key}" '
                         f'data-value="{_e(json.dumps(value))}">{_e(cell(result, side, row))}</td>')
        shown = change(result, row)
        kind = _verdict(result, row.key)
        cells.append(f'<td class="{kind}" data-key="{row.key}" data-change="1">{_e(shown)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if where_rebuilds_go(result):
        out.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in where_rebuilds_go(result)) + "</ul>")
    out.append('<p class="setup">' + "<br>".join(_e(line) for line in describe_setup(result)) + "</p>")
    if result.notes:
        out.append('<p class="setup">' + "<br>".join("note: " + _e(n) for n in result.notes) + "</p>")
    if result.optimised_text:
        out.append(f"<details><summary>The optimised Dockerfile</summary><pre>{_e(result.optimised_text)}</pre></details>")
    if any(side.figure(key) is not None for side in sides for key, _ in TIMINGS):
        out.append("<h2>Build and transfer times</h2>" + _side_keys(sides) + times_svg(result))
    if any(side.layer_sizes for side in sides):
        out.append("<h2>Size per layer</h2>" + layers_svg([s for s in sides if s.layer_sizes]))
    colours = class_colours([item for side in sides for item in side.treemap])
    for side in sides:
        if side.treemap:
            out.append(f"<h2>What the {_e(side.name)} image holds (by directory and cruft class)</h2>")
            out.append(_legend(side.treemap, colours))
            out.append(treemap_svg(side.treemap, colours, title=f"{side.name} image contents"))
    out.append(f'<script type="application/json" id="bench-data">{data}</script>')
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out) + "\n"


def _verdict(result: BenchResult, key: str) -> str:
    """``better`` when the optimised side is smaller or faster by at least 0.05 %, ``worse``
    when larger or slower by as much, else nothing (every figure is better smaller)."""
    if result.original is None or result.optimised is None:
        return ""
    a, b = result.value(result.original, key), result.value(result.optimised, key)
    if not a or b is None:
        return ""
    ratio = b / a
    return "better" if ratio < 0.9995 else ("worse" if ratio > 1.0005 else "")


def _side_keys(sides: list[SideResult]) -> str:
    return "<p>" + "".join(f'<span class="key" style="background:{SIDE_COLOURS.get(s.name, "#555")}"></span>'
                           f"{_e(s.name)}" for s in sides) + "</p>"

