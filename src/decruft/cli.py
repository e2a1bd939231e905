"""The ``decruft`` command line: a thin layer over the library API."""

from __future__ import annotations

import sys

from typing import TYPE_CHECKING

import click

from decruft import __version__, jsonout
from decruft.errors import DecruftError, DockerfileSyntaxError
from decruft.files import InputError, expand_inputs, read_source

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


# rich and the Dockerfile parser are imported where used: `decruft inspect --format json`
# needs neither, and importing them is a tenth of its run time on a 1 GB image.
def _console(**options) -> "Console":
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, **options)


def _stderr() -> "Console":
    return _console(stderr=True)


def _build_args(values: tuple[str, ...]) -> dict[str, str]:
    result = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key:
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--build-arg")
        # Like `docker build --build-arg NAME`: take the value from the environment.
        result[key] = value if sep else __import__("os").environ.get(key, "")
    return result


class _Group(click.Group):
    """Click group that imports heavy subcommands only when they are used."""

    lazy_commands = {
        "inspect": "decruft.image.cli:inspect_command",
        "diff": "decruft.image.cli:diff_command",
        "bench": "decruft.bench.cli:bench_command",
        "ci-cache": "decruft.cicache:ci_cache_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, name: str):
        command = super().get_command(ctx, name)
        if command is None and name in self.lazy_commands:
            import importlib

            module_name, attribute = self.lazy_commands[name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
        return command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DecruftError as exc:
            _stderr().print(f"[bold red]error:[/] {exc}", markup=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="decruft")
def main() -> None:
    """Make Docker images smaller and their builds faster, and prove it.

    \b
    decruft audit PATH      explain every size and build-cache problem
    decruft parse FILE      print the parsed Dockerfile model
    decruft rules [CODE]    list the audit rules or explain one
    """


@main.command("parse")
@click.argument("file", type=str)
@click.option("--format", "output_format", type=click.Choice(["json", "text"]), default="text")
@click.option("--build-arg", "build_args", multiple=True, metavar="NAME=VALUE")
@click.option("--target", default=None, help="Stage the build would stop at.")
def parse_command(file: str, output_format: str, build_args: tuple[str, ...], target: str | None) -> None:
    """Parse FILE (or - for stdin) and print its stages, instructions and shell commands."""
    from decruft.dockerfile.export import dockerfile_to_dict
    from decruft.dockerfile.model import build_model

    from decruft.dockerfile import parse

    source = read_source(file)
    try:
        dockerfile = parse(source.data, path=source.path)
    except DockerfileSyntaxError as exc:
        _stderr().print(f"[bold red]syntax error:[/] {exc}", markup=True)
        sys.exit(EXIT_USAGE)
    model = build_model(dockerfile, build_args=_build_args(build_args))
    try:
        data = dockerfile_to_dict(dockerfile, model, target)
    except KeyError as exc:
        raise click.BadParameter(str(exc), param_hint="--target") from None
    if output_format == "json":
        click.echo(jsonout.dumps(data))
        return
    _print_model(data)


def _print_model(data: dict) -> None:
    console = _console()
    for directive in data["directives"]:
        console.print(f"# {directive['name']}={directive['value']}  (line {directive['line']})")
    for arg in data["meta_args"]:
        console.print(f"global ARG {arg['name']} = {arg['value']!r}  (line {arg['line']})")
    for stage in data["stages"]:
        flags = []
        if stage["final"]:
            flags.append("final")
        if not stage["reachable"]:
            flags.append("not needed for the target")
        label = f"stage {stage['index']}" + (f" '{stage['name']}'" if stage["name"] else "")
        extra = f" [{', '.join(flags)}]" if flags else ""
        console.print(
            f"[bold]{label}[/] FROM {stage['base_resolved']}  line {stage['line']}, "
            f"{stage['layers']} layer(s){extra}"
        )
        for dep in stage["dependencies"]:
            what = f"stage {dep['stage']}" if dep["stage"] is not None else "image"
            console.print(f"    needs {dep['kind']} {dep['reference']} ({what}, line {dep['line']})")
        for ins in stage["instructions"][1:]:
            span = f"{ins['line']}" if ins["line"] == ins["end_line"] else f"{ins['line']}-{ins['end_line']}"
            layer = " +layer" if ins["creates_layer"] else ""
            console.print(f"  {span:>7}  {ins['kind']}{layer}  {ins['args_text'][:90]}", markup=False)
            for command in ins.get("shell", {}).get("commands", []):
                console.print(f"             $ {command['text'][:100]}", markup=False)
    for warning in data["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")


@main.command("audit")
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif", "github"]), default="text")
@click.option("--context", "context", default=None, help="Build context (default: the Dockerfile's directory).")
@click.option("--target", default=None, help="Stage the build would stop at.")
@click.option("--build-arg", "build_args", multiple=True, metavar="NAME=VALUE")
@click.option("--select", default=None, help="Only these rule codes (comma-separated).")
@click.option("--ignore", default=None, help="Skip these rule codes (comma-separated).")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default=None,
    help="Exit 1 when findings reach this severity (default: warning).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Worker processes for many files (0: one per CPU).",
)
@click.option("--external-image-registry", "external_registry", default=None, metavar="HOST[/PATH]",
              help="A mirror of the official images DC153 names (overrides the config file).")
def audit_command(paths, output_format, context, target, build_args, select, ignore, fail_on, jobs,
                  external_registry) -> None:
    """Find size, layer and build-cache problems in Dockerfiles and their build context.

    PATHS are Dockerfiles, directories (searched for Dockerfile, *.Dockerfile,
    Dockerfile.*, Containerfile) or - for stdin.
    """
    from decruft.audit import AuditOptions, audit_files
    from decruft.audit.report import render

    files, input_errors = expand_inputs(list(paths))
    files = list(dict.fromkeys(files))  # `decruft audit . Dockerfile` audits ./Dockerfile once
    options = AuditOptions(
        context=context,
        target=target,
        build_args=_build_args(build_args),
        select=_codes(select),
        ignore=_codes(ignore),
        fail_on=fail_on,
        external_image_registry=external_registry,
    )
    result = audit_files(files, options, jobs=jobs or None)
    result.input_errors[:0] = input_errors
    render(result, output_format)
    sys.exit(result.exit_code())


def _codes(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [code.strip().upper() for code in value.split(",") if code.strip()]


@main.command("rules")
@click.argument("code", required=False)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def rules_command(code: str | None, output_format: str) -> None:
    """List the audit rules, or print the documentation of one (e.g. DC101)."""
    from decruft.audit.report import print_rule_docs, print_rules

    if code is None:
        print_rules(output_format)
    else:
        print_rule_docs(code.upper(), output_format)


__all__ = ["main", "InputError"]


@main.command("fix")
@click.argument("paths", nargs=-1, required=True)
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff and change nothing.")
@click.option("--unsafe", is_flag=True, help="Also apply fixes that may change behaviour.")
@click.option("--select", default=None, help="Only fix these rule codes (comma-separated).")
@click.option("--ignore", default=None, help="Do not fix these rule codes (comma-separated).")
@click.option("--no-backup", is_flag=True, help="Do not keep the original as <file>.orig.")
@click.option("--context", "context", default=None, help="Build context (default: the Dockerfile's directory).")
@click.option("--target", default=None, help="Stage the build would stop at.")
@click.option("--build-arg", "build_args", multiple=True, metavar="NAME=VALUE")
@click.option("--verify", is_flag=True, help="Build before and after with BuildKit, compare size, time and behaviour; write only the fixes that pass.")
@click.option("--smoke", "smoke", default=None, metavar="CMD", help="With --verify (implied): run CMD in both images; exit code and output must match.")
@click.option("--smoke-spec", "smoke_spec", default=None, metavar="FILE", type=click.Path(exists=True, dir_okay=False),
              help='With --verify (implied): a JSON smoke check {"command", "port", "expect", "path"}.')
@click.option("--multistage", is_flag=True,
              help="Convert a single-stage file to a build stage and a slim runtime stage with the runtime libraries "
                   "inferred from the built artifacts; written only when both images build and pass the smoke check "
                   "(needs a Docker engine; also done by --unsafe --verify).")
@click.option("--external-image-registry", "external_registry", default=None, metavar="HOST[/PATH]",
              help="Copy binaries (DC153, --multistage) from this mirror of the official images, e.g. "
                   "mirror.example.com/ghcr (default: the config file's external-image-registry, else the images' own registries).")
def fix_command(paths, show_diff, unsafe, select, ignore, no_backup, context, target, build_args, verify, smoke, smoke_spec,
                multistage, external_registry) -> None:
    """Rewrite Dockerfiles (and .dockerignore) with the audit's fixes.

    Safe fixes only, unless --unsafe.  Everything a fix does not touch stays
    byte-identical; the original is kept as <file>.orig unless --no-backup.
    --verify builds the original and the fixed file and keeps only the fixes
    whose image still builds and behaves the same (needs a Docker engine).
    --multistage then converts the file to a multi-stage build, verified the same way.
    """
    from pathlib import Path

    from decruft.fix import FixError, FixOptions, fix_file

    files, input_errors = expand_inputs(list(paths))
    console = _console()
    err = _stderr()
    status = EXIT_OK
    for text in input_errors:
        err.print(f"[bold red]error:[/] {text}")
        status = EXIT_USAGE
    for name in files:
        if name == "-":
            err.print("[bold red]error:[/] fix needs a file, not stdin (use `decruft audit -`)")
            status = EXIT_USAGE
            continue
        options = FixOptions(
            unsafe=unsafe,
            select=_codes(select),
            ignore=_codes(ignore),
            target=target,
            build_args=_build_args(build_args),
            context=Path(context) if context else None,
            external_image_registry=external_registry or _configured_registry(Path(name), context),
        )
        checked = None
        try:
            if verify or smoke or smoke_spec:
                from decruft.fix.verify import SmokeSpec, VerifyOptions, report_lines, verify_file

                spec = SmokeSpec.from_file(Path(smoke_spec)) if smoke_spec else SmokeSpec()
                spec.command = smoke or spec.command
                checked = verify_file(
                    Path(name), options,
                    VerifyOptions(smoke=spec, on_progress=lambda m: err.print(f"[dim]{m}...[/]")),
                    write=not show_diff, backup=not no_backup,
                )
                result = checked.fix
                for line in report_lines(checked):
                    console.print(line, markup=False)
            else:
                result = fix_file(Path(name), options, write=not show_diff, backup=not no_backup)
        except FixError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            status = EXIT_USAGE
            continue
        convert = multistage or (unsafe and verify)
        if show_diff:
            click.echo(result.diff(), nl=False)
            if convert:
                status = max(status, _multistage(Path(name), context, build_args, smoke, smoke_spec, console, err,
                                                 write=False, backup=False, show_diff=True,
                                                 registry=options.external_image_registry))
            continue
        if not result.changed and not (checked and checked.rejected) and not convert:
            console.print(f"{name}: nothing to fix")
        for applied in result.applied:
            target_file = applied.file or name
            console.print(f"{target_file}:{applied.line}: fixed {applied.code} ({applied.applicability.value}): {applied.description}")
        for finding, reason in result.rejected:
            console.print(f"{name}:{finding.line}: [yellow]not fixed[/] {finding.code}: {reason}")
        left = [f for f in result.remaining if f.fix is None or not f.fix.edits]
        if left:
            console.print(f"{name}: {len(left)} finding(s) need a manual change (see `decruft audit {name}`)")
        if convert:
            # The rule fixes (if any) already kept the pristine file as <file>.orig.
            backup = not no_backup and not result.changed
            status = max(status, _multistage(Path(name), context, build_args, smoke, smoke_spec, console, err,
                                             write=True, backup=backup, show_diff=False,
                                             registry=options.external_image_registry))
    sys.exit(status)


def _configured_registry(dockerfile, context) -> str | None:
    """``external-image-registry`` from the config file nearest the build context."""
    from pathlib import Path

    from decruft.audit.config import find_config, load_config

    try:
        return load_config(find_config(Path(context) if context else dockerfile.parent)).external_image_registry
    except DecruftError:
        return None  # a broken config file is the audit's to report


def _multistage(path, context, build_args, smoke, smoke_spec, console, err, *, write, backup, show_diff,
                registry=None) -> int:
    """``fix --multistage`` for one file: convert, verify, write; prints the explanation."""
    import difflib
    from pathlib import Path

    from decruft.fix import FixError
    from decruft.fix.verify import SmokeSpec
    from decruft.multistage.convert import ConvertOptions, convert_file, report_lines

    spec = SmokeSpec.from_file(Path(smoke_spec)) if smoke_spec else SmokeSpec()
    spec.command = smoke or spec.command
    options = ConvertOptions(
        context=Path(context) if context else None, build_args=_build_args(build_args), smoke=spec,
        on_progress=lambda m: err.print(f"[dim]{m}...[/]"), write=write, backup=backup, external_registry=registry,
    )
    original = path.read_text(encoding="utf-8", errors="surrogateescape") if show_diff else ""
    try:
        conversion = convert_file(path, options)
    except (FixError, DecruftError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        return EXIT_USAGE
    if show_diff and conversion.converted and conversion.text is not None:
        click.echo("".join(difflib.unified_diff(original.splitlines(keepends=True),
                                                conversion.text.splitlines(keepends=True),
                                                f"a/{path}", f"b/{path}")), nl=False)
        return EXIT_OK
    for line in report_lines(conversion):
        (console if conversion.converted or not show_diff else err).print(line, markup=False)
    return EXIT_OK
