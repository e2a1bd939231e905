"""``decruft bench``: the command (options, the progress display, the output formats)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


@click.command("bench")
@click.argument("path", required=False, default=".", type=click.Path(exists=True, path_type=Path))
@click.option("--against", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Compare with this Dockerfile instead of decruft fix's output.")
@click.option("--context", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Build context (default: the Dockerfile's directory).")
@click.option("--repeat", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Samples per measurement (medians are reported).")
@click.option("--registry", default=None, metavar="HOST:PORT",
              help="Registry for the CI, push and pull measurements (default: $DECRUFT_BENCH_REGISTRY or 127.0.0.1:5000).")
@click.option("--no-ci", is_flag=True, help="Skip the registry measurements (CI cache, push, pull).")
@click.option("--safe", is_flag=True, help="Optimise with safe fixes only (default: unsafe fixes too, then the "
                                           "multi-stage conversion).")
@click.option("--no-verify", is_flag=True, help="Use every fix without proving it on the engine first "
                                                "(default: only the fixes `fix --verify` keeps).")
@click.option("--no-multistage", is_flag=True, help="Do not convert to a multi-stage build (fix only).")
@click.option("--target", default=None, help="Stage the build stops at.")
@click.option("--build-arg", "build_args", multiple=True, metavar="NAME=VALUE")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown", "html"]), default="text")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file (default: standard output).")
@click.option("--no-progress", is_flag=True, help="No progress display on standard error.")
def bench_command(path, against, context, repeat, registry, no_ci, safe, no_verify, no_multistage, target, build_args, output_format,
                  output, no_progress) -> None:
    """Build the original and the optimised Dockerfile and measure both.

    \b
    Size (uncompressed, compressed, layers, files), cold build, rebuild after a source
    change and after a dependency change, CI without a cache versus CI seeded from a
    registry cache, push and pull -- each measured --repeat times, medians reported.
    Needs a Docker engine with BuildKit; the project on disk is never modified (the
    builds run in a temporary copy). Exit code 1 when a side fails to build.
    """
    import os

    from decruft.bench import BenchOptions, run_bench
    from decruft.cli import _build_args

    err = _stderr()
    registry = None if no_ci else (registry or os.environ.get("DECRUFT_BENCH_REGISTRY") or "127.0.0.1:5000")
    options = BenchOptions(
        repeat=repeat, against=against, context=context, registry=registry, unsafe=not safe,
        verify=not no_verify, multistage=not no_multistage,
        target=target, build_args=_build_args(build_args),
    )
    display = _ProgressDisplay(err) if not no_progress and err.is_terminal else _PlainProgress(err, no_progress)
    options.on_progress = display.progress
    options.on_line = display.line
    try:
        with display:
            result = run_bench(path, options)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted:[/] bench images, tags, pushed manifests and temporary files removed")
        sys.exit(EXIT_INTERRUPTED)
    text = render(result, output_format)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    elif output_format == "text":
        print_text(result)
    else:
        click.echo(text, nl=False)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def render(result, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if output_format == "markdown":
        from decruft.bench.report import markdown

        return markdown(result)
    if output_format == "html":
        from decruft.bench.html import render_html

        return render_html(result)
    import io

    from decruft.bench.report import print_report

    buffer = io.StringIO()
    print_report(result, Console(file=buffer, width=120, force_terminal=False, highlight=False, soft_wrap=True))
    return buffer.getvalue()


def print_text(result) -> None:
    from decruft.bench.report import print_report

    print_report(result, Console(highlight=False, soft_wrap=True))


class _ProgressDisplay:
    """A live bar on standard error: operations done of planned, the phase, the last log line."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress_bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("[dim]{task.fields[line]}"), console=console, transient=True,
        )
        self.task = self.progress_bar.add_task("preparing", total=None, line="")

    def __enter__(self):
        self.progress_bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress_bar.stop()

    def progress(self, event) -> None:
        self.progress_bar.update(self.task, description=f"{event.side}: {event.phase}", completed=event.done,
                                 total=event.total)

    def line(self, text: str) -> None:
        text = text.strip()
        if text:
            self.progress_bar.update(self.task, line=text[:60])


class _PlainProgress:
    """Without a terminal: one line per phase on standard error (nothing with --no-progress)."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self._last = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def progress(self, event) -> None:
        text = f"[{event.done}/{event.total}] {event.side}: {event.phase}"
        if not self.quiet and text != self._last:
            self.console.print(text, markup=False)
            self._last = text

    def line(self, text: str) -> None:
        return None
