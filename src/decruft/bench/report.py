"""``decruft bench`` reports for people: the terminal table (rich) and pull-request markdown.

Both show the same rows (`rows`): each figure of the original and the optimised side and the
change (optimised / original, as a percentage smaller or larger and as a factor for the
speed-ups), then per side the two ratios the goal is about: rebuild after a source change as a
share of the cold build, and how much faster a CI build seeded from the registry cache is than
one without. A side that failed says so, with the end of its build log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from decruft.bench.model import BenchResult, SideResult
from decruft.image.report import format_bytes


def format_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 600 else f"{value / 60:.1f} min"


def format_count(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def format_change(ratio: float | None) -> str:
    """optimised / original as people say it: "-58.2 %" (smaller) or "+3.0 %"."""
    if ratio is None:
        return "-"
    return f"{(ratio - 1) * 100:+.1f} %"


def format_factor(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def format_share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f} %"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    format: Callable[[float | None], str]
    steps: tuple[str, str] | None = None  # keys of (re-run, cached) step counts shown alongside


ROWS: tuple[Row, ...] = (
    Row("image_size_bytes", "image size (uncompressed)", format_bytes),
    Row("compressed_size_bytes", "image size (compressed, as pushed)", format_bytes),
    Row("layers", "layers", format_count),
    Row("files", "files", format_count),
    Row("cruft_bytes", "cruft (inspect's classes)", format_bytes),
    Row("cold_build_s", "cold build", format_seconds),
    Row("warm_rebuild_s", "rebuild after a source change", format_seconds,
        ("warm_rebuild_steps_rerun", "warm_rebuild_steps_cached")),
    Row("dep_rebuild_s", "rebuild after a dependency change", format_seconds,
        ("dep_rebuild_steps_rerun", "dep_rebuild_steps_cached")),
    Row("ci_nocache_s", "CI build, empty cache", format_seconds),
    Row("ci_registry_cache_s", "CI build, registry cache", format_seconds,
        ("ci_registry_cache_steps_rerun", "ci_registry_cache_steps_cached")),
    Row("push_s", "push", format_seconds),
    Row("push_bytes", "bytes pushed", format_bytes),
    Row("pull_s", "pull", format_seconds),
    Row("pull_bytes", "bytes pulled", format_bytes),
)


def cell(result: BenchResult, side: SideResult | None, row: Row) -> str:
    if side is None:
        return "-"
    text = row.format(result.value(side, row.key))
    if row.steps and result.value(side, row.key) is not None:
        rerun, cached = (side.figure(k) for k in row.steps)
        if rerun is not None and cached is not None:
            text += f" ({rerun:.0f} of {rerun + cached:.0f} steps re-run)"
    return text


def change(result: BenchResult, row: Row) -> str:
    if result.original is None or result.optimised is None:
        return "-"
    a, b = result.value(result.original, row.key), result.value(result.optimised, row.key)
    if a is None or b is None or a == 0:
        return "-"
    return format_change(b / a)


def visible_rows(result: BenchResult) -> list[Row]:
    """Rows with a figure on at least one side."""
    return [row for row in ROWS if any(result.value(side, row.key) is not None for side in result.sides())]


def headline(result: BenchResult) -> list[str]:
    """The sentences a reviewer reads first."""
    lines = []
    original, optimised = result.original, result.optimised
    if original and optimised and original.image_size_bytes and optimised.image_size_bytes:
        ratio = optimised.image_size_bytes / original.image_size_bytes
        how = f"{(1 - ratio) * 100:.1f} % smaller" if ratio <= 1 else f"{(ratio - 1) * 100:.1f} % larger"
        lines.append(f"Image {format_bytes(original.image_size_bytes)} -> {format_bytes(optimised.image_size_bytes)} "
                     f"({how}).")
    within = result.within_side_ratios()
    for side in result.sides():
        figures = within.get(side.name, {})
        parts = []
        if figures.get("warm_rebuild_over_cold") is not None:
            parts.append(f"a rebuild after a source change takes {format_share(figures['warm_rebuild_over_cold'])} "
                         "of a cold build")
        if figures.get("ci_cache_speedup") is not None:
            parts.append(f"a CI build seeded from the registry cache is "
                         f"{format_factor(figures['ci_cache_speedup'])} faster than one without")
        if parts:
            lines.append(f"{side.name.capitalize()}: " + "; ".join(parts) + ".")
    return lines


def short_step(name: str, limit: int = 70) -> str:
    """A BuildKit step name without its ``--mount`` flags (the command is what people read)."""
    text = re.sub(r"--mount=\S+\s+", "", name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def where_rebuilds_go(result: BenchResult, limit: int = 3) -> list[str]:
    """Per side: the slowest steps a rebuild after a source change re-ran (BuildKit's times)."""
    lines = []
    for side in result.sides():
        steps = side.rerun_steps.get("warm_rebuild") or []
        if steps:
            shown = "; ".join(f"{short_step(name)} {format_seconds(seconds)}" for name, seconds in steps[:limit])
            lines.append(f"{side.name.capitalize()}, rebuild after a source change re-ran: {shown}")
    return lines


def describe_setup(result: BenchResult) -> list[str]:
    engine = result.engine
    lines = [
        f"Dockerfile {result.dockerfile}, context {result.context}; optimised = "
        + (f"decruft fix ({', '.join(result.fixes) or 'no fix applied'})"
           if result.optimised_from == "fix" else f"--against {result.optimised.dockerfile if result.optimised else ''}"),
        f"{result.repeat} sample(s) per figure, medians; engine {engine.get('server_version', '?')}, "
        f"{engine.get('build_path', '?')} BuildKit via {engine.get('docker', '?')}; "
        f"registry {result.registry or 'none (no CI, push or pull figures)'}"
        + (f", CI cache {result.ci_cache}" if result.ci_cache else ""),
    ]
    changed = []
    if result.changed_source:
        changed.append(f"source change: {result.changed_source}")
    if result.changed_manifest:
        changed.append(f"dependency change: {result.changed_manifest}")
    if changed:
        lines.append("; ".join(changed) + " (a blank line appended, then restored)")
    return lines


def failures(result: BenchResult) -> list[tuple[SideResult, list[str]]]:
    out = []
    for side in result.sides():
        if side.error is not None:
            lines = [f"the {side.name} side failed during the {side.error.phase}: {side.error.message}"]
            out.append((side, lines + ([side.error.log_tail] if side.error.log_tail else [])))
    return out


# ---------------------------------------------------------------------------------- terminal
def print_report(result: BenchResult, console) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="decruft bench", title_justify="left", header_style="bold")
    table.add_column("")
    table.add_column("original", justify="right")
    table.add_column("optimised", justify="right")
    table.add_column("change", justify="right")
    for row in visible_rows(result):
        shown = change(result, row)
        style = {"-": "green", "+": "red"}.get(shown[:1], "") if shown not in ("-", "+0.0 %", "-0.0 %") else ""
        table.add_row(row.label, cell(result, result.original, row), cell(result, result.optimised, row),
                      Text(shown, style=style))
    console.print(table)
    for line in headline(result) + where_rebuilds_go(result):
        console.print(line, markup=False, highlight=False)
    for line in describe_setup(result):
        console.print(Text(line, style="dim"))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))
    for side, lines in failures(result):
        console.print(Text(lines[0], style="bold red"))
        for extra in lines[1:]:
            console.print(Text(extra, style="dim"))


# ---------------------------------------------------------------------------------- markdown
def markdown(result: BenchResult) -> str:
    out = ["### decruft bench", ""]
    out += [line for line in headline(result)]
    out += ["", "| | original | optimised | change |", "| --- | ---: | ---: | ---: |"]
    for row in visible_rows(result):
        out.append(f"| {row.label} | {cell(result, result.original, row)} | "
                   f"{cell(result, result.optimised, row)} | {change(result, row)} |")
    out.append("")
    for line in where_rebuilds_go(result):
        out.append(f"- {_escape(line)}")
    out.append("")
    for line in describe_setup(result):
        out.append(f"<sub>{_escape(line)}</sub><br>")
    for note in result.notes:
        out.append(f"<sub>note: {_escape(note)}</sub><br>")
    for side, lines in failures(result):
        out += ["", f"**{_escape(lines[0])}**", ""]
        for extra in lines[1:]:
            out += ["```", extra, "```"]
    return "\n".join(out).rstrip() + "\n"


def _escape(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
