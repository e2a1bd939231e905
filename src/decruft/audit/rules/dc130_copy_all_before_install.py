"""DC130: the whole build context is copied before a dependency install."""

from __future__ import annotations

import glob
import os
import posixpath

from decruft.audit.context import RuleContext
from decruft.audit.facts import DependencyInstall, copy_sources, dependency_install
from decruft.audit.rule import Applicability, Fix, Severity, Stake, rule
from decruft.dockerfile.nodes import Instruction

_BROAD = frozenset({".", "*", "/"})
_COMPILE_CACHES = {
    "go": ("/go/pkg/mod", "/root/go/pkg/mod", "/root/.cache/go-build"),
    "rust": ("/usr/local/cargo/registry", "/root/.cargo/registry", "/cargo/registry"),
    "java": ("/root/.m2", "/root/.gradle", "/home/gradle/.gradle"),
    "dotnet": ("/root/.nuget/packages",),
}

# What to run on the manifests alone when the install is a compile that fetches dependencies.
_DEPENDENCY_STEP = {
    "go": "run `go mod download`",
    "cargo": "build the dependencies alone (a stub src/main.rs, or cargo-chef)",
    "maven": "run `mvn dependency:go-offline`",
    "gradle": "run `gradle dependencies`",
    "dotnet": "run `dotnet restore`",
}


@rule(
    code="DC130",
    name="copy-all-before-install",
    severity=Severity.WARNING,
    summary="the whole build context is copied before a dependency install",
    why="""
BuildKit reuses a RUN from the cache only while every earlier step is unchanged.
`COPY . .` changes whenever any file in the context changes, so every install that
comes after it (pip, poetry, uv, npm, yarn, pnpm, go, bundler, composer, maven,
gradle, cargo, R, apt ...) runs again on every code change: minutes per build, on
every CI run and every local rebuild.  Copy only the dependency manifests first,
install, then copy the rest.  An install that does not read the context at all
(`pip install gunicorn`, `apt-get install curl`) simply moves above the COPY.

A same-ecosystem install before the broad COPY (the manifest-first pattern, e.g.
`poetry install --no-root` then `poetry install` for the project) is accepted, and
so are compile steps (`go build`, `cargo build`, `mvn package`) that use a cache
mount for their dependency cache.
""",
    bad="""
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -r requirements.txt
""",
    good="""
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
""",
    fix="describes the split: copy the manifests first, install, then copy the rest",
    applicability=Applicability.UNSAFE,
)
def check(context: RuleContext):
    for stage in context.model.stages:
        if not context.built(stage.from_instruction) or not _has_broad_copy(context, stage):
            continue
        installed: set[str] = set()  # ecosystems installed before the broad COPY
        narrow: dict[str, Instruction] = {}  # context paths copied one by one, by name
        broad: Instruction | None = None
        pending: list[tuple[Instruction, DependencyInstall]] = []
        for instruction in stage.instructions:
            keyword = instruction.keyword
            if keyword in ("COPY", "ADD") and instruction.flag_value("from") is None:
                sources = copy_sources(context, instruction)
                if any(_is_broad(source) for source in sources):
                    yield from _report(context, broad, pending, narrow)
                    broad, pending = instruction, []
                elif broad is None:
                    for source in sources:
                        narrow.setdefault(posixpath.normpath(source).lstrip("/"), instruction)
                        narrow.setdefault(posixpath.basename(source.rstrip("/")), instruction)
            elif keyword == "RUN" and instruction.shell is not None:
                for command in instruction.shell.commands:
                    install = dependency_install(command)
                    if install is None:
                        continue
                    if broad is None:
                        installed.add(install.ecosystem)
                    elif _rebuilds(context, instruction, install, installed):
                        pending.append((instruction, install))
        yield from _report(context, broad, pending, narrow)


def _has_broad_copy(context: RuleContext, stage) -> bool:
    return any(
        instruction.keyword in ("COPY", "ADD")
        and instruction.flag_value("from") is None
        and any(_is_broad(source) for source in copy_sources(context, instruction))
        for instruction in stage.instructions
    )


def _is_broad(source: str) -> bool:
    clean = posixpath.normpath(source) if source not in ("", "/") else source
    return clean in _BROAD or clean.rstrip("/") in ("", ".")


def _rebuilds(context, instruction, install: DependencyInstall, installed: set[str]) -> bool:
    if install.kind == "os" or not install.manifests:
        return True
    if install.ecosystem in installed:
        return False  # manifest-first already done; this installs the project itself
    if install.kind == "build":
        caches = _COMPILE_CACHES.get(install.ecosystem, ())
        if caches and context.has_cache_mount(instruction, *caches):
            return False
        if context.cache_mount_targets(instruction) and install.ecosystem in _COMPILE_CACHES:
            return False
    return True


def _report(context: RuleContext, broad, pending, narrow):
    if broad is None or not pending:
        return
    run, install = pending[0]
    command = install.command.text.split("\n", 1)[0]
    if len(command) > 60:
        command = command[:57] + "..."
    where = f"`{command}` on line {run.start_line}"
    if install.kind == "os" or not install.manifests:
        advice = "it does not need the sources: move it above the COPY"
        fix = f"move the RUN on line {run.start_line} above line {broad.start_line}"
    else:
        manifests = _existing(context, install.manifests)
        copied = [narrow[name] for name in manifests if name in narrow]
        if copied:
            advice = (
                f"its manifest is already copied on line {copied[0].start_line}: move the "
                f"install above line {broad.start_line}"
            )
            fix = f"move the RUN on line {run.start_line} above line {broad.start_line}"
        else:
            listed = " ".join(manifests)
            step = _DEPENDENCY_STEP.get(install.tool, "install") if install.kind == "build" else "install"
            advice = f"copy {_join(manifests)} first, {step}, then copy the rest"
            fix = (
                f"insert `COPY {listed} ./` (adjust the destination) and the install before line "
                f"{broad.start_line}, keeping `COPY . .` after it"
            )
    others = len({id(run) for run, _ in pending}) - 1
    message = (
        f"`{broad.keyword} {' '.join(broad.words)}` copies the whole build context before {where}: "
        f"every code change re-runs the install; {advice}"
    )
    if others > 0:
        message += f" ({others} more install step{'s' if others > 1 else ''} after it re-run too)"
    severity = None
    notes = []
    if context.cache_mount_targets(run):
        severity = Severity.INFO
        notes.append("the install has a cache mount, so re-runs reuse downloads, but still run")
    finding = context.report(
        "DC130",
        broad,
        message,
        severity=severity,
        stake=Stake(rebuild="re-runs on every code change"),
        fix=Fix(fix, Applicability.UNSAFE),
        notes=notes,
        stage_aware=False,  # build time: a builder stage re-runs its install just the same
    )
    if finding is not None:
        yield finding


def _existing(context: RuleContext, manifests: tuple[str, ...]) -> list[str]:
    """The manifests that exist in the build context (all of them when it is unknown)."""
    if context.context_dir is None:
        return _generic(manifests)
    root = os.fspath(context.context_dir)
    found = []
    for manifest in manifests:
        pattern = os.path.join(root, manifest.rstrip("/"))
        if any(ch in manifest for ch in "*?["):
            found.extend(sorted(os.path.relpath(path, root) for path in glob.glob(pattern)))
        elif os.path.exists(pattern):
            found.append(manifest)
    return found or _generic(manifests)


def _generic(manifests: tuple[str, ...]) -> list[str]:
    """Without a context: the usual ones (the first manifest and its lock file)."""
    optional = (".yarnrc.yml", ".yarn/releases", "pnpm-workspace.yaml", "npm-shrinkwrap.json",
                "bun.lock", "setup.cfg", "NuGet.config", "gradle.properties", "gradle/", "gradlew",
                "build.gradle.kts", "settings.gradle.kts")  # fmt: skip
    chosen = [manifest for manifest in manifests if manifest not in optional]
    return chosen or list(manifests)


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return names[0] if names else "the manifests"
    return ", ".join(names[:-1]) + f" and {names[-1]}"
