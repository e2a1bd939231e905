"""DC112: `npm install` where a lockfile exists (use `npm ci`)."""

from __future__ import annotations

import os
from pathlib import Path

from decruft.audit.context import RuleContext
from decruft.audit.facts import tool_calls
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, rule
from decruft.dockerfile.model import mounts_of
from decruft.dockerfile.nodes import Instruction

LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json")
_GLOB = frozenset("*?[")
_SKIP_FLAGS = ("-g", "--global", "--no-package-lock", "--package-lock-only", "--package-lock")


@rule(
    code="DC112",
    name="npm-install-not-ci",
    severity=Severity.WARNING,
    summary="npm install with a lockfile present: npm ci is reproducible and faster",
    why="""
`npm install` without package names resolves the dependency tree again: it may
pick newer versions than the lockfile within the ranges of package.json, rewrite
package-lock.json inside the image, and it is slower.  `npm ci` installs exactly
what the lockfile says, fails when package.json and the lockfile disagree (a
build should fail then), and starts from a clean node_modules.  This rule reports
`npm install` / `npm i` without package arguments when the stage has a lockfile:
a COPY/ADD of package-lock.json or npm-shrinkwrap.json before the step, a bind
mount of one, or, when the build context is known, a COPY of a directory or glob
(`COPY . .`, `COPY package*.json ./`) whose source holds one and is not excluded
by .dockerignore.  `npm install -g` and `--no-package-lock` are left alone.
""",
    bad="""
COPY package.json package-lock.json ./
RUN npm install
""",
    good="""
COPY package.json package-lock.json ./
RUN npm ci
""",
    fix="replace `install` by `ci` (unsafe: npm ci deletes node_modules first and fails when the lockfile is out of sync)",
    applicability=Applicability.UNSAFE,
    category="build-time",
)
def check(context: RuleContext):
    ignored = None
    for step in context.runs():
        instruction = step.instruction
        calls = [
            call
            for call in tool_calls(instruction.shell, "npm")
            if call.verb == "install" and call.verb_word is not None and call.verb_word.value != "add"
            and not call.operands() and not call.has_flag(*_SKIP_FLAGS)
        ]  # fmt: skip
        if not calls:
            continue
        if ignored is None:
            ignored = _ignore_matcher(context)
        evidence = _lockfile_evidence(context, instruction, ignored)
        if evidence is None:
            continue
        for call in calls:
            word = call.verb_word
            yield context.report(
                "DC112",
                call.command.span,
                f"`npm {word.value}` with a lockfile ({evidence}): use `npm ci` for a "
                "reproducible, faster install",
                instruction=instruction,
                stake=Stake(note="npm install can resolve newer versions than the lockfile and rewrite it"),
                fix=Fix("replace `install` by `ci`", Applicability.UNSAFE, [Edit(word.span, "ci")]),
                stage_aware=False,
            )


def _lockfile_evidence(context: RuleContext, run: Instruction, ignored) -> str | None:
    """Where the stage gets a lockfile before ``run`` (a description), or None."""
    for mount in mounts_of(run):
        if mount.type == "bind" and _basename(mount.source or "") in LOCKFILES:
            return f"bind-mounted {mount.source}"
    stage = context.stage_of(run)
    if stage is None:
        return None
    for ancestor in context.model.final_chain(stage.label):
        for instruction in ancestor.instructions:
            if instruction is run:
                return None
            if instruction.keyword not in ("COPY", "ADD") or instruction.heredocs:
                continue
            found = _copies_lockfile(context, instruction, ignored)
            if found is not None:
                return f"{found}, line {instruction.start_line}"
    return None


def _copies_lockfile(context: RuleContext, instruction: Instruction, ignored) -> str | None:
    sources = instruction.words[:-1]
    from_context = instruction.flag_value("from") is None
    root = context.context_dir
    for source in sources:
        name = _basename(source)
        if name in LOCKFILES:
            return f"{instruction.keyword} {source}"
        if root is None or not from_context or "$" in source or "://" in source:
            continue
        relative = source.lstrip("/")
        for lockfile in _lockfiles_in(root, relative):
            if ignored is None or not ignored(lockfile):
                return f"{instruction.keyword} {source} brings {lockfile}"
    return None


def _lockfiles_in(root: Path, relative: str) -> list[str]:
    """Lockfiles (context-relative paths) selected by a COPY source: a glob or a directory."""
    out = []
    try:
        if _GLOB & set(relative):
            for match in sorted(root.glob(relative)):
                if match.name in LOCKFILES and match.is_file():
                    out.append(match.relative_to(root).as_posix())
            return out
        directory = (root / relative) if relative not in ("", ".", "./") else root
        if directory.is_dir():
            for lockfile in LOCKFILES:
                if (directory / lockfile).is_file():
                    out.append((directory / lockfile).relative_to(root).as_posix())
    except (OSError, ValueError):
        return []
    return out


def _ignore_matcher(context: RuleContext):
    """A callable telling whether .dockerignore excludes a context path (None: nothing excluded)."""
    root = context.context_dir
    if root is None:
        return None
    from decruft.context.scan import build_matcher, find_ignore_file, load_ignore_rules

    path = find_ignore_file(root, context.file if context.file and os.path.isabs(context.file) else None)
    if path is None:
        return None
    warnings: list = []
    matcher = build_matcher(load_ignore_rules(path, warnings), warnings, str(path))
    if matcher is None:
        return None

    def excluded(relative: str) -> bool:
        try:
            return matcher.walker_excludes(relative)
        except Exception:  # a pattern BuildKit would reject: it fails the build anyway
            return False

    return excluded


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]
