"""The project as ``decruft bench`` builds it: a private copy, both Dockerfiles, the files to edit.

Nothing in the user's project is ever written.  The build context is copied into a temporary
directory (symlinks kept as symlinks) and every build and every edit happens there:

* the original Dockerfile keeps its place relative to the context (or is copied next to it
  when it lives outside), so ``COPY`` sees exactly what the user's build sees;
* the optimised Dockerfile (``fix --unsafe`` in memory, or ``--against FILE``) is written
  outside the context copy, with the fixed ``.dockerignore`` as ``Dockerfile.dockerignore``
  beside it (BuildKit prefers that file over the context's own), so the original side's
  ``COPY . .`` never picks it up;
* the *source change* edits one application file that ``COPY``/``ADD`` take into the image
  and that is not a dependency manifest; the *dependency change* edits one manifest. An edit
  appends a line of blanks (spaces and tabs) that differs on every edit: a blank line means
  nothing to any compiler, interpreter or package manager, yet it changes the file's content
  checksum, which is what BuildKit's ``COPY`` cache key hashes (the modification time is not
  part of the key, so ``touch`` would not be a change at all). The original bytes are put
  back right after the rebuild.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

from decruft.errors import DecruftError

#: Dependency manifests and lock files, most telling first (the one edited for the dependency
#: change is the first of these the image copies).
MANIFESTS: tuple[str, ...] = (
    "requirements.txt", "package.json", "go.mod", "pyproject.toml", "Pipfile", "Gemfile",
    "Cargo.toml", "composer.json", "pom.xml", "build.gradle", "mix.exs", "DESCRIPTION",
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "go.sum", "poetry.lock", "uv.lock",
    "Pipfile.lock", "Gemfile.lock", "Cargo.lock", "composer.lock", "requirements-dev.txt",
    "constraints.txt", "setup.py", "setup.cfg", "npm-shrinkwrap.json", "bun.lockb",
)
_MANIFEST_PATTERNS = ("requirements*.txt", "*.csproj", "*.gemspec")
#: Files that are build or repository plumbing, not application sources.
_NOT_SOURCES_PATTERNS = ("Dockerfile*", "*.dockerignore", ".dockerignore", "Containerfile*", ".git*",
                         "*.md", "*.orig", "LICENSE*", "smoke.json", "*.lock", ".env*")
#: Extensions of application source code, preferred for the source change.
SOURCE_EXTENSIONS: tuple[str, ...] = (
    ".py", ".go", ".ts", ".tsx", ".js", ".mjs", ".cjs", ".jsx", ".rb", ".rs", ".java", ".kt",
    ".c", ".cc", ".cpp", ".h", ".hpp", ".cs", ".php", ".R", ".r", ".ex", ".exs", ".scala",
    ".swift", ".html", ".css", ".vue", ".svelte", ".sh",
)


class WorkspaceError(DecruftError):
    pass


def is_manifest(path: str) -> bool:
    name = PurePosixPath(path).name
    return name in MANIFESTS or any(fnmatch.fnmatchcase(name, p) for p in _MANIFEST_PATTERNS)


def _is_plumbing(path: str) -> bool:
    name = PurePosixPath(path).name
    return any(fnmatch.fnmatchcase(name, p) for p in _NOT_SOURCES_PATTERNS)


@dataclass(slots=True)
class Workspace:
    root: Path  # the temporary directory (removed by the caller)
    context: Path  # the copy of the build context
    original: Path  # the original Dockerfile, inside the copy when it was inside the context
    optimised: Path  # the optimised Dockerfile, outside the context copy
    optimised_text: str
    fixes: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)  # context files COPY/ADD take into the image
    notes: list[str] = field(default_factory=list)

    def source_file(self) -> str | None:
        return choose_source(self.copied)

    def manifest_file(self) -> str | None:
        return choose_manifest(self.copied)


def choose_source(copied: list[str]) -> str | None:
    """The application file the source change edits: code first, shallow paths first."""
    candidates = [p for p in copied if not is_manifest(p) and not _is_plumbing(p)]
    if not candidates:
        return None

    def rank(path: str) -> tuple:
        code = PurePosixPath(path).suffix in SOURCE_EXTENSIONS
        return (not code, path.count("/"), path)

    return min(candidates, key=rank)


def choose_manifest(copied: list[str]) -> str | None:
    """The manifest the dependency change edits: the first of `MANIFESTS` the image copies."""
    found = [p for p in copied if is_manifest(p)]
    if not found:
        return None

    def rank(path: str) -> tuple:
        name = PurePosixPath(path).name
        order = MANIFESTS.index(name) if name in MANIFESTS else len(MANIFESTS)
        return (order, path.count("/"), path)

    return min(found, key=rank)


def copied_files(dockerfile_text: str, dockerfile_path: str, context: Path, *,
                 target: str | None = None, build_args: dict[str, str] | None = None) -> list[str]:
    """Context files (relative, ``/``-separated) that COPY/ADD of the built stages take in,
    after ``.dockerignore``."""
    from decruft.audit.context import RuleContext
    from decruft.audit.contextfacts import needed_sources
    from decruft.context.scan import scan_context
    from decruft.dockerfile import parse
    from decruft.dockerfile.model import build_model

    dockerfile = parse(dockerfile_text, path=dockerfile_path)
    model = build_model(dockerfile, build_args=dict(build_args or {}))
    rule_context = RuleContext(dockerfile, model, target=target, context_dir=context)
    sources = [s.strip() for s in needed_sources(rule_context)]
    scan = scan_context(context, dockerfile_path if Path(dockerfile_path).exists() else None,
                        measure_excluded=False)
    files = [entry.path for entry in scan.entries or [] if entry.kind == "file"]
    return [path for path in files if any(_source_takes(source, path) for source in sources)]


def _source_takes(source: str, path: str) -> bool:
    """Does the COPY source ``source`` (as written, relative to the context) include ``path``?"""
    clean = os.path.normpath(source.lstrip("/")).replace(os.sep, "/")
    if clean in (".", ""):
        return True
    if path == clean or path.startswith(clean.rstrip("/") + "/"):
        return True
    # A wildcard source (COPY *.json ./) matches path by path; a matched directory takes its tree.
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        if fnmatch.fnmatchcase("/".join(parts[:depth]), clean):
            return True
    return False


def prepare(root: Path, dockerfile: Path, context: Path, *, against: Path | None = None,
            unsafe: bool = True, verify: bool = False, multistage: bool = False, target: str | None = None,
            build_args: dict[str, str] | None = None, docker: str | None = None,
            on_progress: Callable[[str], None] | None = None) -> Workspace:
    """Copy the context into ``root`` and write both Dockerfiles there (see the module doc).

    ``verify``: keep only the fixes ``fix --verify`` proves on the engine (the fixed image
    builds and passes the smoke check of the project's ``smoke.json``, or the default one),
    so an unsafe fix that breaks the build does not make the whole optimised side fail.
    ``multistage``: after fixing, convert the fixed file to a multi-stage build with
    ``fix --multistage``'s verified conversion (`decruft.multistage.convert.convert_file`,
    smoke check from the project's ``smoke.json`` when there is one); when the file cannot be
    converted, or the conversion fails its verification, the fixed file is kept and a note says why.
    """
    from decruft.fix import FixOptions, _dockerignore_path, fix_source

    dockerfile, context = dockerfile.resolve(), context.resolve()
    if not dockerfile.is_file():
        raise WorkspaceError(f"{dockerfile}: no such Dockerfile")
    if not context.is_dir():
        raise WorkspaceError(f"{context}: the build context is not a directory")
    copy = root / "context"
    shutil.copytree(context, copy, symlinks=True)
    try:
        relative = dockerfile.relative_to(context)
        original = copy / relative
    except ValueError:
        original = root / "original" / dockerfile.name
        original.parent.mkdir()
        shutil.copy2(dockerfile, original)
        specific = dockerfile.with_name(dockerfile.name + ".dockerignore")
        if specific.exists():
            shutil.copy2(specific, original.with_name(specific.name))
    source = dockerfile.read_bytes().decode("utf-8", "surrogateescape")
    optimised_dir = root / "optimised"
    optimised_dir.mkdir()
    optimised = optimised_dir / "Dockerfile"
    fixes: list[str] = []
    notes: list[str] = []
    if against is not None:
        against = against.resolve()
        if not against.is_file():
            raise WorkspaceError(f"{against}: no such Dockerfile (--against)")
        text = against.read_bytes().decode("utf-8", "surrogateescape")
        specific = against.with_name(against.name + ".dockerignore")
        if specific.exists():
            shutil.copy2(specific, optimised_dir / "Dockerfile.dockerignore")
    else:
        ignore_path = _dockerignore_path(dockerfile, context)
        others = {}
        if ignore_path.exists():
            others[".dockerignore"] = ignore_path.read_bytes().decode("utf-8", "surrogateescape")
        options = FixOptions(unsafe=unsafe, target=target, build_args=dict(build_args or {}), context=context)
        result = None
        if verify:
            result = _verified_fix(original, copy, options, dockerfile.parent / "smoke.json", docker,
                                   on_progress, notes)
        if result is None:
            result = fix_source(source, str(dockerfile), options, others)
        text = result.fixed
        fixes = list(dict.fromkeys(applied.code for applied in result.applied))
        old_ignore, new_ignore = result.other_files.get(".dockerignore", (None, None))
        if new_ignore is not None and new_ignore != old_ignore:
            (optimised_dir / "Dockerfile.dockerignore").write_text(new_ignore, encoding="utf-8", errors="surrogateescape")
        elif ignore_path.exists() and ignore_path != context / ".dockerignore":
            shutil.copy2(ignore_path, optimised_dir / "Dockerfile.dockerignore")
        if not result.changed:
            notes.append("fix found nothing to change")
    optimised.write_text(text, encoding="utf-8", errors="surrogateescape")
    if multistage and against is None:
        converted = _convert(optimised, copy, dockerfile.parent / "smoke.json", build_args, docker, on_progress, notes)
        if converted is not None:
            text = converted
            fixes.append("multistage")
            optimised.write_text(text, encoding="utf-8", errors="surrogateescape")
    if text == source:
        notes.append("both sides build the same Dockerfile")
    copied = copied_files(source, str(original), copy, target=target, build_args=build_args)
    return Workspace(root, copy, original, optimised, text, fixes, copied, notes)


def _verified_fix(original: Path, context: Path, options, smoke_file: Path, docker: str | None,
                  on_progress: Callable[[str], None] | None, notes: list[str]):
    """``fix --verify`` on the copy: the fixes that build and behave alike (None when the
    original itself cannot be verified; the caller then uses every fix, unverified)."""
    from dataclasses import replace

    from decruft.fix.verify import SmokeSpec, VerifyError, VerifyOptions, verify_file

    spec = SmokeSpec.from_file(smoke_file) if smoke_file.is_file() else SmokeSpec()
    try:
        checked = verify_file(original, replace(options, context=context),
                              VerifyOptions(smoke=spec, docker=docker, on_progress=on_progress), write=False)
    except VerifyError as exc:
        notes.append(f"fixes not verified: {exc}")
        return None
    for rejected in checked.rejected:
        notes.append(f"fix {rejected.code} left out: --verify rejected it ({rejected.reason})")
    return checked.fix


def _convert(fixed: Path, context: Path, smoke_file: Path, build_args: dict[str, str] | None,
             docker: str | None, on_progress: Callable[[str], None] | None, notes: list[str]) -> str | None:
    """The verified multi-stage conversion of ``fixed``, or None (with a note saying why)."""
    try:
        from decruft.multistage.convert import ConvertOptions, convert_file
    except ImportError:
        notes.append("no multi-stage conversion in this decruft version")
        return None
    from decruft.fix.verify import SmokeSpec

    spec = SmokeSpec.from_file(smoke_file) if smoke_file.is_file() else SmokeSpec()
    options = ConvertOptions(context=context, build_args=dict(build_args or {}), smoke=spec, docker=docker,
                             on_progress=on_progress, write=False, backup=False)
    conversion = convert_file(fixed, options)
    if conversion.converted and conversion.text:
        notes.append("multi-stage conversion: " + "; ".join(conversion.explanation[:2]))
        return conversion.text
    notes.append(f"not converted to a multi-stage build: {conversion.reason}")
    return None


class Editor:
    """Makes each edit of a file different from every earlier one (see the module doc)."""

    def __init__(self) -> None:
        self._seed = secrets.randbits(20)
        self._count = 0

    def blank_line(self) -> str:
        self._count += 1
        bits = (self._seed + self._count * 7919) & 0xFFFFF
        # A leading space keeps the line blank for make (a leading tab would be a recipe line).
        return " " + "".join("\t" if bits >> i & 1 else " " for i in range(20)) + "\n"

    @contextlib.contextmanager
    def edited(self, path: Path) -> Iterator[None]:
        """Append a new blank line to ``path`` for the duration of the block."""
        original = path.read_bytes()
        stat = path.stat()
        suffix = b"" if original.endswith(b"\n") or not original else b"\n"
        try:
            path.write_bytes(original + suffix + self.blank_line().encode())
            yield
        finally:
            path.write_bytes(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
