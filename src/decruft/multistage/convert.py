"""The engine half of the conversion: build, infer the runtime packages, build again, compare,
and write only a conversion that passed.

Steps (every build through BuildKit via `decruft.fix.verify.DockerEngine`, every container and
image named ``decruft-ms-<token>-...`` and removed at the end, on errors and on Ctrl-C):

1. plan (`decruft.multistage.plan_conversion`); a `NotConvertible` stops here;
2. build the original; it must build (else nothing can be verified);
3. build the build stage alone (its steps are the original's: BuildKit's cache makes this
   nearly free), then any other stage the runtime copies from, and look inside it: the program
   the image runs, which optional artifacts exist;
4. stream the artifacts out of it and read their ELF files; resolve the needed libraries to
   packages in the build image; subtract the runtime base's packages (`runtime_deps`);
5. pick the runtime base (``scratch`` for a static program that needs no CA bundle or
   zoneinfo, exec-form entry, numeric user), render and build the converted file;
6. smoke check of ``fix --verify`` in both images (same behaviour, same files under WORKDIR
   but for the ecosystem's allowed differences), then the ecosystem's extra checks (those that
   decide between plans first: they name the cause better than a failed smoke check);
7. when the plan failed at a stage or check its ``fallback_when`` names, steps 3-6 again with
   its fallback plan (the original is built once);
8. write (keeping ``<file>.orig``) only when everything passed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import posixpath
import shlex
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from decruft.errors import DecruftError
from decruft.fix import FixError, write_atomic
from decruft.fix.verify import (
    Comparison,
    DockerEngine,
    ImageFacts,
    SmokeSpec,
    _Session,
    compare_images,
    normalize_output,
)
from decruft.interrupts import terminate_as_interrupt
from decruft.multistage import plan_conversion
from decruft.multistage.plan import DEFAULT_PATH, Artifact, ExtraCheck, NotConvertible, Plan, is_numeric_user
from decruft.multistage.runtime_deps import (
    ElfInfo,
    RuntimeNeeds,
    decide,
    installed_script,
    needed_sonames,
    parse_resolution,
    resolve_script,
    scan_image_paths,
)

PREFIX = "decruft-ms"


@dataclass(slots=True)
class ConvertOptions:
    context: Path | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    smoke: SmokeSpec = field(default_factory=SmokeSpec)
    no_cache: bool = False
    docker: str | None = None
    build_timeout: float | None = 3600.0
    on_progress: Callable[[str], None] | None = None
    write: bool = True
    backup: bool = True
    external_registry: str | None = None  # mirror of the official images binaries are copied from


@dataclass(slots=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass(slots=True)
class Conversion:
    path: str
    converted: bool = False
    reason: str = ""  # why not (empty when converted)
    detail: str = ""
    failed_at: str = ""  # the stage or check that failed, when it was one
    plan: Plan | None = None
    text: str | None = None  # the converted Dockerfile (also when it failed verification)
    runtime_base: str = ""
    original: ImageFacts | None = None
    build_stage: ImageFacts | None = None
    result: ImageFacts | None = None
    needs: RuntimeNeeds | None = None
    elves: list[ElfInfo] = field(default_factory=list)
    scanned_files: int = 0
    comparison: Comparison | None = None
    checks: list[CheckResult] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    packages_before: int | None = None
    packages_after: int | None = None
    written: bool = False
    token: str = ""  # names this conversion's images and containers: decruft-ms-<token>...

    @property
    def size_change(self) -> float | None:
        if self.original is None or self.result is None or not self.original.size:
            return None
        return (self.result.size - self.original.size) / self.original.size

    def not_converted(self, reason: str, detail: str = "", failed_at: str = "") -> "Conversion":
        self.converted, self.reason, self.detail, self.failed_at = False, reason, detail, failed_at
        return self


def convert_file(dockerfile: Path, options: ConvertOptions | None = None, *, engine=None) -> Conversion:
    """Convert ``dockerfile`` to a multi-stage build, verify it, and write it when it passes.

    Never raises for a file that cannot be converted: the `Conversion` says why. Raises
    `decruft.engine.EngineUnavailableError` when no engine answers and `FixError` for file
    problems (unreadable, read-only, changed while converting).
    """
    options = options or ConvertOptions()
    progress = options.on_progress or (lambda _m: None)
    try:
        original_bytes = dockerfile.read_bytes()
    except OSError as exc:
        raise FixError(f"{dockerfile}: cannot read: {exc.strerror or exc}") from None
    source = original_bytes.decode("utf-8", "surrogateescape")
    context = Path(options.context or dockerfile.parent)
    conversion = Conversion(str(dockerfile))
    try:
        plan = plan_conversion(source, str(dockerfile), context=context, build_args=options.build_args,
                               external_registry=options.external_registry)
    except NotConvertible as exc:
        return conversion.not_converted(str(exc))
    conversion.plan = plan
    if options.write and not _writable(dockerfile):
        raise FixError(f"{dockerfile}: read-only (file left untouched)")
    if engine is None:
        engine = DockerEngine(options.docker, options.build_timeout)
    session = _Session(engine, progress, PREFIX)
    conversion.token = session.token
    with terminate_as_interrupt(), tempfile.TemporaryDirectory(prefix=f"{PREFIX}-") as tmp:
        try:
            _run(conversion, plan, dockerfile, context, options, engine, session, Path(tmp))
            while not conversion.converted and plan.fallback and conversion.failed_at in plan.fallback_when:
                dropped = f"tried first and dropped: {plan.title}: {conversion.reason}"
                progress(dropped)
                plan = plan.fallback
                conversion = Conversion(str(dockerfile), plan=plan, token=session.token, original=conversion.original)
                _run(conversion, plan, dockerfile, context, options, engine, session, Path(tmp))
                if conversion.converted:
                    conversion.explanation.insert(0, dropped)
                else:
                    conversion.reason += f" ({dropped})"
        finally:
            progress("removing the conversion's containers and images")
            session.close()
    if conversion.converted and options.write:
        if dockerfile.read_bytes() != original_bytes:
            raise FixError(f"{dockerfile}: changed on disk while converting (file left untouched)")
        assert conversion.text is not None
        write_atomic(dockerfile, conversion.text, backup=options.backup)
        conversion.written = True
    return conversion


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK)


def _build(engine, session: _Session, options: ConvertOptions, context: Path, file: Path, label: str,
           target: str | None = None) -> ImageFacts:
    return engine.build(context=context, dockerfile=file, tag=session.tag(label), build_args=options.build_args,
                        target=target, no_cache=options.no_cache, labels=session.labels)


def _run(conversion: Conversion, plan: Plan, dockerfile: Path, context: Path, options: ConvertOptions,
         engine, session: _Session, tmp: Path) -> None:
    progress = session.progress
    if conversion.original is None:
        progress(f"building the original {dockerfile.name}")
        try:
            conversion.original = _build(engine, session, options, context, dockerfile, "original")
        except DecruftError as exc:
            conversion.not_converted("the original does not build, so a conversion cannot be verified",
                                     _log(exc))
            return
    build_file = tmp / "Dockerfile.build"
    build_file.write_text(plan.build_text, encoding="utf-8", errors="surrogateescape")
    _same_ignore_file(dockerfile, build_file)
    progress("building the build stage")
    try:
        conversion.build_stage = _build(engine, session, options, context, build_file, "build")
    except DecruftError as exc:
        conversion.not_converted("the build stage does not build", _log(exc))
        return
    for stage in dict.fromkeys(a.stage for a in plan.artifacts if a.stage):
        progress(f"building the stage {stage}")
        try:
            _build(engine, session, options, context, build_file, stage, target=stage)
        except DecruftError as exc:
            conversion.not_converted(f"the stage {stage} does not build", _log(exc), failed_at=stage)
            return
    build_image = conversion.build_stage
    artifacts = list(plan.artifacts)
    extra_env: list[tuple[str, str]] = []
    located: str | None = None  # the program as the entry names it (maybe a symlink)
    resolved: str | None = None  # the file it is
    if plan.entry_binary:
        found = _locate(engine, session, build_image, plan.entry_binary)
        if found is None:
            conversion.not_converted(f"the program the image runs ({plan.entry_binary}) is not in the build stage")
            return
        located, resolved = found
        if not any(located == a.source or located.startswith(a.source.rstrip("/") + "/") for a in artifacts):
            # Neither COPY --from nor the archive endpoint follow a symlink: take the file it points
            # to and put it where the entry looks for it.
            artifacts.insert(0, Artifact(resolved, located, "the program the image runs"))
        directory = posixpath.dirname(located)
        if directory not in DEFAULT_PATH.split(":") and plan.entry_program and "/" not in plan.entry_program:
            # The build image found the program on its own PATH (golang's has /go/bin).
            extra_env.append(("PATH", f"{directory}:$PATH"))
    optional = [a.source for a in artifacts if a.optional]
    if optional:
        present = set(_existing(engine, session, build_image, optional))
        artifacts = [a for a in artifacts if not a.optional or a.source in present]
    progress("reading the ELF files of the artifacts")
    client = getattr(engine, "client", None)
    if client is None:
        conversion.not_converted("this engine cannot stream files out of images")
        return
    scanned = [a.source for a in artifacts if a.scan]
    elves, provided, files = scan_image_paths(client, build_image.image_id, scanned)
    conversion.elves, conversion.scanned_files = elves, files
    needed = needed_sonames(elves, provided)
    entry_elf = next((e for e in elves if resolved is not None and e.path == resolved), None)
    data_keys: set[str] = set()
    if plan.ecosystem in ("go", "binary", "make-install"):
        for elf in elves:
            data_keys.update(elf.data_files)
    progress("resolving the needed libraries to packages in the build image")
    resolve_output = _execute(engine, session, build_image, resolve_script(needed, data_keys), "resolve")
    resolution = parse_resolution(resolve_output)
    data_needed = {k for k in data_keys if resolution.data.get(k)}
    runtime_base = plan.runtime_base
    if (plan.static_candidate and entry_elf is not None and entry_elf.static and not data_needed
            and not plan.needs_shell and is_numeric_user(_final_user(plan))):
        runtime_base = "scratch"
    conversion.runtime_base = runtime_base
    base_packages: set[str] = set()
    if runtime_base != "scratch":
        try:
            listed = _execute(engine, session, ImageFacts(runtime_base, 0, 0.0), installed_script(), "base-packages")
        except Exception as exc:  # docker.errors.ImageNotFound and friends
            conversion.not_converted(f"the runtime base {runtime_base} is not available here", str(exc))
            return
        base_packages = {line.strip() for line in listed.splitlines() if line.strip()}
        if not base_packages and plan.package_manager != "none":
            conversion.not_converted(f"the runtime base {runtime_base} is not available or lists no packages",
                                     listed[-2000:])
            return
    needs = decide(elves, provided, resolution, base_packages, data_keys)
    conversion.needs = needs
    packages = [p for p in plan.base_packages if p not in base_packages] + needs.packages
    if packages and plan.package_manager == "none":
        conversion.not_converted(f"the runtime base {runtime_base} has no package manager for {', '.join(packages)}")
        return
    conversion.text = plan.render(packages, runtime_base, artifacts, extra_env)
    converted_file = tmp / "Dockerfile.converted"
    converted_file.write_text(conversion.text, encoding="utf-8", errors="surrogateescape")
    _same_ignore_file(dockerfile, converted_file)
    progress(f"building the converted file (runtime: {runtime_base})")
    try:
        conversion.result = _build(engine, session, options, context, converted_file, "converted")
    except DecruftError as exc:
        conversion.not_converted("the converted Dockerfile does not build", _log(exc))
        return
    deciding = [c for c in plan.checks if c.name in plan.fallback_when]
    if not _checks_pass(conversion, deciding, engine, session):
        return
    progress("smoke check of both images")
    allowed = _allowed(plan.allowed_differences)
    comparison = compare_images(conversion.original, conversion.result, options.smoke, engine=engine,
                                dockerfile=dockerfile.name, allowed=allowed, prefix=PREFIX)
    conversion.comparison = comparison
    if not comparison.passed:
        reason = comparison.reason.replace("the fixed image", "the converted image")
        conversion.not_converted(reason, comparison.detail)
        return
    if not _checks_pass(conversion, [c for c in plan.checks if c not in deciding], engine, session):
        return
    conversion.packages_before = _count_packages(engine, session, conversion.original)
    conversion.packages_after = _count_packages(engine, session, conversion.result) if runtime_base != "scratch" else 0
    conversion.converted = True
    conversion.explanation = explain(conversion, plan, artifacts)


def _checks_pass(conversion: Conversion, checks: list[ExtraCheck], engine, session: _Session) -> bool:
    for check in checks:
        session.progress(f"check: {check.name}")
        result = _extra_check(engine, session, conversion.original, conversion.result, check.command, check.workdir)
        conversion.checks.append(CheckResult(check.name, result is None, result or ""))
        if result is not None:
            conversion.not_converted(f"{check.name} differ between the original and the converted image", result,
                                     failed_at=check.name)
            return False
    return True


def _log(exc: DecruftError) -> str:
    return getattr(exc, "log_tail", None) or str(exc)


def _same_ignore_file(original: Path, copy: Path) -> None:
    """BuildKit prefers ``<Dockerfile>.dockerignore`` next to the Dockerfile over the context's
    ``.dockerignore``: a copy elsewhere must carry it along to send the same context."""
    specific = original.with_name(original.name + ".dockerignore")
    if specific.is_file():
        copy.with_name(copy.name + ".dockerignore").write_bytes(specific.read_bytes())


# ---------------------------------------------------------------------------------- in-image helpers
def _execute(engine, session: _Session, image: ImageFacts, script: str, what: str) -> str:
    outcome = engine.execute(image, name=session.container(what), labels=session.labels,
                             command=["/bin/sh", "-c", script], timeout=600.0)
    return outcome.output


def _locate(engine, session, image: ImageFacts, program: str) -> tuple[str, str] | None:
    """``(path as the entry names it, the file it resolves to)`` in the build image."""
    quoted = shlex.quote(program)
    if program.startswith("/"):
        script = f"[ -f {quoted} ] && echo {quoted} && readlink -f {quoted}"
    else:
        script = f"p=$(command -v {quoted}) && echo \"$p\" && readlink -f \"$p\""
    lines = [line.strip() for line in _execute(engine, session, image, script, "locate").splitlines()]
    paths = [line for line in lines if line.startswith("/")]
    return (paths[-2], paths[-1]) if len(paths) >= 2 else None


def _existing(engine, session, image: ImageFacts, paths: list[str]) -> list[str]:
    script = "; ".join(f"[ -e {shlex.quote(p)} ] && echo {shlex.quote(p)}" for p in paths) + "; true"
    return [line.strip() for line in _execute(engine, session, image, script, "exists").splitlines()]


def _count_packages(engine, session, image: ImageFacts) -> int | None:
    with contextlib.suppress(Exception):
        listed = _execute(engine, session, image, installed_script(), "packages")
        return len([line for line in listed.splitlines() if line.strip()])
    return None


def _final_user(plan: Plan) -> str | None:
    user = None
    for instruction in plan.carried:
        if instruction.keyword == "USER":
            user = instruction.args.strip()
    return user


def _allowed(patterns: list[str]) -> Callable[[str], bool] | None:
    if not patterns:
        return None
    return lambda path: any(fnmatch.fnmatchcase(path, p) or path == p.removesuffix("/*") for p in patterns)


def _extra_check(engine, session, original: ImageFacts, converted: ImageFacts, command: list[str],
                 workdir: str | None) -> str | None:
    """None when ``command`` exits alike with the same (normalised) output in both images."""
    argv = command
    if workdir:
        argv = ["/bin/sh", "-c", f"cd {shlex.quote(workdir)} && exec \"$@\"", "decruft-check", *command]
    outcomes = []
    for image, what in ((original, "check-original"), (converted, "check-converted")):
        outcomes.append(engine.execute(image, name=session.container(what), labels=session.labels,
                                       command=argv, timeout=300.0))
    before, after = outcomes
    if before.exit_code != after.exit_code:
        return f"exit code {after.exit_code} instead of {before.exit_code}\n{after.output[-2000:]}"
    a = normalize_output(before.output, before.names)
    b = normalize_output(after.output, after.names)
    if a != b:
        import difflib

        return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), "original", "converted", lineterm="", n=0))
    return None


# ---------------------------------------------------------------------------------- explanation
def _size(count: int | None) -> str:
    from decruft.audit.rule import format_bytes

    return "-" if count is None else format_bytes(count)


def explain(conversion: Conversion, plan: Plan, artifacts: list[Artifact]) -> list[str]:
    """The short explanation every conversion prints."""
    lines = list(plan.explanation)
    lines.append(f"runtime stage ({conversion.runtime_base}): "
                 + "; ".join(f"{a.source} ({a.why})" for a in artifacts))
    needs = conversion.needs
    if needs is not None:
        elf_count = len(conversion.elves)
        if needs.packages:
            for package in needs.packages:
                lines.append(f"  runtime package {package}: needed by " + "; ".join(needs.reasons[package][:3]))
        else:
            lines.append(f"  no runtime package to add: {elf_count} ELF file(s) among {conversion.scanned_files} "
                         "scanned need only what the runtime base has")
        if needs.already:
            shown = ", ".join(f"{package} ({', '.join(sorted({r.split(' ', 1)[0] for r in needs.already[package]}))})"
                              for package in sorted(needs.already)[:8])
            more = f" and {len(needs.already) - 8} more" if len(needs.already) > 8 else ""
            lines.append(f"  already in the runtime base: {shown}{more}")
        for item in needs.unresolved:
            lines.append(f"  not found in the build image (verification decided): {item}")
        for item in needs.refused:
            lines.append(f"  not installed (a -dev package): {item}")
    if plan.base_packages:
        lines.append(f"  installed because the build installed them: {', '.join(plan.base_packages)}")
    if conversion.original is not None and conversion.result is not None:
        change = conversion.size_change
        shown = f" ({change * 100:+.1f} %)" if change is not None else ""
        lines.append(f"size: {_size(conversion.original.size)} -> {_size(conversion.result.size)}{shown}")
    if conversion.packages_before is not None and conversion.packages_after is not None:
        lines.append(f"packages: {conversion.packages_before} -> {conversion.packages_after}")
    return lines


def report_lines(conversion: Conversion) -> list[str]:
    """What the CLI prints for one file."""
    name = conversion.path
    if not conversion.converted:
        lines = [f"{name}: not converted: {conversion.reason}"]
        lines += [f"    | {line}" for line in conversion.detail.splitlines()[-25:]]
        return lines
    head = "converted to a multi-stage build" + ("" if conversion.written else " (not written)")
    lines = [f"{name}: {head}"]
    lines += [f"  {line}" for line in conversion.explanation]
    if conversion.comparison is not None:
        original, converted = conversion.comparison.original.run, conversion.comparison.fixed.run
        lines.append(f"  smoke: original {original.describe()}; converted {converted.describe()}")
    for check in conversion.checks:
        lines.append(f"  check {check.name}: {'same in both' if check.passed else 'differs'}")
    return lines
