"""``decruft inspect IMAGE`` and ``decruft diff A B`` (registered on the main click group).

IMAGE is anything :func:`decruft.image.sources.open_image` reads: a ``docker save`` archive,
an OCI layout directory, ``docker://name`` or a name the local daemon has, a registry
reference.  Exit codes: 0 fine, 1 a ``--fail-on``/``--dive-ci`` rule failed, 2 usage or read
errors (also a misconfigured ``.dive-ci``, where dive itself would exit 1).
"""

from __future__ import annotations

import gc
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from typing import TYPE_CHECKING

from decruft import jsonout

if TYPE_CHECKING:  # imported when a command runs, so `decruft --help` stays fast
    from rich.console import Console

    from decruft.image.analysis import Analysis
    from decruft.image.model import Image
    from decruft.image.report import GateResult

EXIT_OK, EXIT_GATE, EXIT_USAGE = 0, 1, 2


def _stderr() -> "Console":
    return _console(stderr=True, soft_wrap=True)


def _console(**options) -> "Console":
    from rich.console import Console  # only for human output: JSON runs skip its import

    return Console(highlight=False, **options)


def _no_cyclic_gc() -> None:
    """The command reads one image and exits: its hundreds of thousands of entry records are
    acyclic (reference counting frees them), so the cyclic collector only re-scans them,
    a fifth of the analysis time on a 30,000-entry image. Memory stays bounded."""
    gc.disable()


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int | None], None] | None]:
    """A rich progress bar on stderr fed by open_image's ``progress(label, done, total)``."""
    if not enabled:  # before the console: JSON runs never import rich
        yield None
        return
    console = _stderr()
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

    bar = Progress(
        TextColumn("{task.description}", justify="left"),
        BarColumn(),
        DownloadColumn(binary_units=False),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def report(label: str, done: int, total: int | None) -> None:
        task = tasks.get(label)
        if task is None:
            task = tasks[label] = bar.add_task(label[:40], total=total)
        bar.update(task, completed=done, total=total)

    with bar:
        yield report


def open_source(
    reference: str,
    *,
    platform: str | None,
    hash_contents: bool,
    progress: Callable[[str, int, int | None], None] | None,
    verify: bool = True,
    read_files: set[str] | None = None,
) -> tuple[Image, dict[str, bytes]]:
    """Open ``reference``; returns the image and the contents of ``read_files`` it could get.

    ``read_files`` goes to ``open_image(..., read_files={"var/lib/dpkg/status"})``, which fills
    ``Image.file_contents`` (path -> bytes of the copy visible in the final filesystem).  A
    reader without that argument is called without it, and the caller falls back to what paths
    alone tell.
    """
    from decruft.image.sources import open_image

    kwargs: dict[str, Any] = {"platform": platform, "hash_contents": hash_contents, "progress": progress}
    if not verify:
        kwargs["verify"] = False
    image = None
    if read_files:
        try:
            image = open_image(reference, read_files=set(read_files), **kwargs)
        except TypeError as exc:
            if "read_files" not in str(exc):
                raise
    if image is None:
        image = open_image(reference, **kwargs)
    contents = getattr(image, "file_contents", None) or {}
    return image, dict(contents)


def _visible_contents(analysis: Analysis, contents: dict[str, bytes]) -> dict[str, bytes]:
    """Keep only contents of paths that are regular files in the final filesystem."""
    from decruft.image.model import EntryType

    if not contents:
        return {}
    visible = {item.path for item in analysis.files if item.entry.type is EntryType.FILE}
    return {path: data for path, data in contents.items() if path in visible}


def _known_cruft(table_path: Path | None) -> set[str]:
    from decruft.image.cruft import CATEGORIES, load_table

    table = load_table(table_path)
    return {cls.id for cls in table.classes} | set(CATEGORIES)


@click.command("inspect")
@click.argument("image")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option("--dive-compatible", is_flag=True, help="Also compute dive 0.13.1's efficiency / wastedBytes / userWastedPercent.")
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    metavar="RULE",
    help="CI gate, e.g. reclaimable>20MB, cruft>50MB, cruft.apt-lists>0, efficiency<0.95, wasted>10MB, "
    "user-wasted-percent>0.1 (repeatable or comma-separated). Exit 1 when one fails.",
)
@click.option("--dive-ci", "dive_ci", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also apply the rules of dive's .dive-ci file.")
@click.option("--platform", default=None, help="os/arch[/variant] of a multi-platform image (default: the host's).")
@click.option("--hash", "hash_contents", is_flag=True, help="Read and hash file contents: exact duplicates, exact overwrite kinds (slower).")
@click.option("--top", default=10, show_default=True, help="Rows per list.")
@click.option("--no-verify", is_flag=True, help="Report digest mismatches as warnings instead of failing.")
@click.option("--cruft-table", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Use another cruft_classes.toml.")
@click.option("--no-progress", is_flag=True, help="No progress bar while reading.")
def inspect_command(
    image: str,
    output_format: str,
    dive_compatible: bool,
    fail_on: tuple[str, ...],
    dive_ci: Path | None,
    platform: str | None,
    hash_contents: bool,
    top: int,
    no_verify: bool,
    cruft_table: Path | None,
    no_progress: bool,
) -> None:
    """Show what every layer of IMAGE adds, which bytes the final image cannot see
    (overwritten, deleted, hidden by opaque whiteouts), cruft classes and duplicates."""
    _no_cyclic_gc()
    from decruft.image.analysis import analyze
    from decruft.image.cruft import load_table
    from decruft.image.report import GateConfigError, evaluate_gate, inspect_dict, parse_dive_ci, parse_rules, print_inspect

    rules = []
    skipped: list[str] = []
    try:
        rules = parse_rules(fail_on, known_cruft=_known_cruft(cruft_table)) if fail_on else []
        if dive_ci is not None:
            try:
                text = dive_ci.read_text(encoding="utf-8")
            except OSError as exc:
                raise GateConfigError(f"cannot read {dive_ci}: {exc.strerror}") from None
            dive_rules, skipped = parse_dive_ci(text)
            rules.extend(dive_rules)
    except (GateConfigError, ValueError) as exc:
        _stderr().print(f"[bold red]error:[/] {exc}", markup=True)
        sys.exit(EXIT_USAGE)
    need_dive = dive_compatible or any(rule.needs_dive for rule in rules)

    with _progress(not no_progress and output_format == "text") as progress:
        img, _ = open_source(image, platform=platform, hash_contents=hash_contents, progress=progress, verify=not no_verify)
    table = load_table(cruft_table) if cruft_table else None
    analysis = analyze(img, dive=need_dive, cruft_table=table)
    gate: GateResult | None = evaluate_gate(analysis, rules, skipped) if (rules or skipped) else None

    if output_format == "json":
        click.echo(jsonout.dumps(inspect_dict(analysis, top=top, gate=gate)))
        if gate is not None and not gate.passed:
            for outcome in gate.failures:
                _stderr().print(f"gate failed: {outcome.rule.text} ({outcome.message})", markup=False)
    else:
        print_inspect(analysis, _console(), top=top, gate=gate)
    sys.exit(EXIT_GATE if gate is not None and not gate.passed else EXIT_OK)


@click.command("diff")
@click.argument("image_a")
@click.argument("image_b")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option("--platform", default=None, help="os/arch[/variant] for both images.")
@click.option("--hash", "hash_contents", is_flag=True, help="Hash contents: content changes without a size change are seen.")
@click.option("--top", default=10, show_default=True, help="Rows per list.")
@click.option("--no-verify", is_flag=True, help="Report digest mismatches as warnings instead of failing.")
@click.option("--no-progress", is_flag=True, help="No progress bar while reading.")
def diff_command(
    image_a: str,
    image_b: str,
    output_format: str,
    platform: str | None,
    hash_contents: bool,
    top: int,
    no_verify: bool,
    no_progress: bool,
) -> None:
    """Compare two images (any two sources): sizes per layer and directory, files added,
    removed and changed, cruft classes, and installed packages (dpkg, apk, pip, npm)."""
    _no_cyclic_gc()
    from decruft.image.analysis import analyze
    from decruft.image.diff import PACKAGE_FILES, diff_images
    from decruft.image.report import diff_dict, print_diff

    analyses = []
    contents = []
    with _progress(not no_progress and output_format == "text") as progress:
        for reference in (image_a, image_b):
            img, files = open_source(
                reference,
                platform=platform,
                hash_contents=hash_contents,
                progress=progress,
                verify=not no_verify,
                read_files=set(PACKAGE_FILES),
            )
            analysis = analyze(img)
            analyses.append(analysis)
            contents.append(_visible_contents(analysis, files))
    diff = diff_images(analyses[0], analyses[1], contents_a=contents[0], contents_b=contents[1])
    if output_format == "json":
        click.echo(jsonout.dumps(diff_dict(diff, top=top)))
    else:
        print_diff(diff, _console(), top=top)
