"""DC120: a path removed in a later layer than the one that created it."""

from __future__ import annotations

import posixpath

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
    SMALL_BYTES,
    Written,
    context_bytes,
    copied_bytes,
    copy_writes,
    glob_covers,
    is_url,
    likely_small_file,
    overlaps,
    removed_paths,
    run_writes,
    stage_chain_instructions,
)
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, rule
from decruft.dockerfile.nodes import Instruction, Span

# Instructions that change nothing a RUN sees: RUNs around them can still be merged.
_NEUTRAL = frozenset(
    {"LABEL", "EXPOSE", "CMD", "ENTRYPOINT", "HEALTHCHECK", "STOPSIGNAL", "MAINTAINER", "ONBUILD"}
)
# Commands whose effect on the shell (not the filesystem) would reach the next body once merged.
_SHELL_STATE = frozenset(
    {"cd", "pushd", "popd", "export", "set", "unset", "umask", "source", ".", "alias", "shopt",
     "trap", "exec", "ulimit", "eval", "exit", "return", "shift", "readonly", "declare", "local"}
)  # fmt: skip


@rule(
    code="DC120",
    name="removed-in-later-layer",
    severity=Severity.WARNING,
    summary="a path is deleted in a later RUN than the layer that created it",
    why="""
Every RUN, COPY and ADD commits a layer, and layers only ever add: an `rm` in a
later RUN records a *whiteout* that hides the path, but the bytes stay in the
layer that created them and are still pulled, stored and scanned.  The classic
case downloads an archive in one RUN, extracts it in the next and deletes it in a
third: the archive ships anyway.  Files brought in by COPY and deleted later (test
data, docs, build inputs) ship too.  Only a removal in the *same* RUN that created
the path, or never creating it (a `.dockerignore` entry, a bind mount, a build
stage), keeps the bytes out.  Only plain `rm` commands are checked; paths are
resolved against WORKDIR and `cd`, and `$VAR`s against ARG/ENV.
""",
    bad="""
RUN curl -fsSLo /tmp/node.tar.xz https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz
RUN tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1
RUN rm /tmp/node.tar.xz
""",
    good="""
RUN curl -fsSLo /tmp/node.tar.xz https://nodejs.org/dist/v20.11.1/node-v20.11.1-linux-x64.tar.xz \\
 && tar -xJf /tmp/node.tar.xz -C /usr/local --strip-components=1 \\
 && rm /tmp/node.tar.xz
""",
    fix=(
        "when the path was downloaded or extracted by a RUN of the same stage and only RUNs lie "
        "between, merge those RUNs into one (` && `; a body that changes the shell's state or "
        "chains with `;`/`||` is wrapped in a subshell); otherwise describes the rewrite: create, "
        "use and delete the path in one RUN; for files from the build context, exclude them with "
        ".dockerignore or bind-mount them (`RUN --mount=type=bind,...`) instead of copying"
    ),
    applicability=Applicability.UNSAFE,
)
def check(context: RuleContext):
    for stage in context.model.stages:
        if not context.built(stage.from_instruction) or not _has_rm(stage):
            continue
        chain = stage_chain_instructions(context, stage)
        created: list[Written] = []
        for instruction in chain:
            if instruction.stage_index == stage.index and instruction.keyword == "RUN":
                script = instruction.shell
                if script is not None:
                    yield from _check_run(context, instruction, script, created)
                    created.extend(_surviving(context, instruction, script))
            elif instruction.keyword == "RUN":  # an ancestor stage: reported in its own pass
                script = instruction.shell
                if script is not None:
                    for _command, paths in removed_paths(context, instruction, script):
                        _forget(created, paths)
                    created.extend(_surviving(context, instruction, script))
            elif instruction.keyword in ("COPY", "ADD"):
                # ADD <url> downloads that a later RUN deletes are DC123's finding.
                created.extend(
                    written
                    for written in copy_writes(context, instruction)
                    if not (written.source and is_url(written.source))
                )


def _has_rm(stage) -> bool:
    """Cheap pre-check: the stage has a RUN with an ``rm`` at all."""
    return any(
        instruction.keyword == "RUN"
        and instruction.shell is not None
        and any(command.name == "rm" for command in instruction.shell.commands)
        for instruction in stage.instructions
    )


def _surviving(context: RuleContext, instruction, script) -> list[Written]:
    """What the RUN created and did not delete itself."""
    removals = removed_paths(context, instruction, script)
    kept = []
    for written in run_writes(context, instruction, script):
        made_at = written.command.index if written.command is not None else -1
        if any(
            command.index > made_at and any(overlaps(path, written.path, False) for path in paths)
            for command, paths in removals
        ):
            continue
        kept.append(written)
    return kept


def _forget(created: list[Written], paths: list[str]) -> None:
    """Drop what ``paths`` delete entirely from the list of created paths."""
    created[:] = [w for w in created if not any(glob_covers(path, w.path) for path in paths)]


def _check_run(context: RuleContext, instruction, script, created: list[Written]):
    if not created:
        return
    for command, paths in removed_paths(context, instruction, script):
        hits: list[tuple[str, Written]] = []
        for path in paths:
            for written in reversed(created):  # the latest layer that wrote it first
                if overlaps(path, written.path, written.tree):
                    hits.append((path, written))
                    break
        if not hits:
            continue
        _forget(created, paths)  # reported once, not again by a later, broader rm
        path, written = hits[0]
        origin = written.instruction
        what = written.path if glob_covers(path, written.path) else path
        message = (
            f"`{command.name}` deletes {what}, which the {origin.keyword} on line {origin.start_line} "
            f"{written.how}: the bytes stay in that layer, so deleting them here saves nothing"
        )
        if len(hits) > 1:
            more = len(hits) - 1
            message += f" (and {more} more path{'s' if more > 1 else ''} from earlier layers)"
        stake, severity = _stake(context, written, path)
        yield context.report(
            "DC120",
            command.span,
            message,
            instruction=instruction,
            severity=severity,
            stake=stake,
            fix=_fix(context, written, instruction),
        )


def _stake(context: RuleContext, written: Written, removed: str) -> tuple[Stake, Severity | None]:
    origin = written.instruction
    note = f"kept in the layer from line {origin.start_line}"
    if written.source and written.source.startswith("<<"):
        size = sum(len(h.content.encode()) for h in origin.heredocs if f"<<{h.name}" == written.source)
        return Stake(bytes=size, measured=True, note=note), Severity.INFO if size < SMALL_BYTES else None
    if origin.keyword in ("COPY", "ADD"):
        measured = _removed_bytes(context, written, removed)
        if measured is not None:
            severity = Severity.INFO if measured < SMALL_BYTES else None
            return Stake(bytes=measured, measured=True, note=note), severity
        if likely_small_file(written):
            return Stake(note=note), Severity.INFO
    return Stake(note=note), None


def _removed_bytes(context: RuleContext, written: Written, removed: str) -> int | None:
    """Measured context bytes the removal hides (the whole copy, or the part inside it)."""
    origin = written.instruction
    if context.context_dir is None or origin.flag_value("from") is not None:
        return None
    if not written.tree or glob_covers(removed, written.path):
        return copied_bytes(context, origin)
    if written.how != "copied" or not written.source:
        return None
    inside = posixpath.relpath(removed, written.path)
    return context_bytes(context, [posixpath.join(written.source, inside)])


def _advice(written: Written) -> str:
    origin = written.instruction
    if origin.keyword == "RUN":
        verb = {"downloaded": "download", "cloned": "clone", "extracted": "extract"}.get(written.how, "create")
        advice = (
            f"{verb}, use and delete it in one RUN (merge this removal into the RUN on line "
            f"{origin.start_line})"
        )
        if written.how == "downloaded":
            advice += ", or pipe the download straight into the extractor"
        return advice
    if origin.flag_value("from") is not None:
        return (
            f"mount it in the RUN that needs it instead of copying it on line {origin.start_line} "
            f"(`RUN --mount=type=bind,from={origin.flag_value('from')},source=...,target=...`), "
            "or copy only the paths you keep"
        )
    return (
        "if a RUN needs it only while building, bind-mount it there instead of copying "
        "(`RUN --mount=type=bind,source=...,target=...`); if nothing needs it, exclude it with "
        f".dockerignore or copy narrower paths on line {origin.start_line}"
    )


def _fix(context: RuleContext, written: Written, removing: Instruction) -> Fix:
    """Merge the RUN that created the path, the RUNs after it and the removing RUN."""
    advice = _advice(written)
    origin = written.instruction
    if origin.keyword != "RUN" or origin.stage_index != removing.stage_index or origin is removing:
        return Fix(advice, Applicability.DISPLAY)
    stage = context.stage_of(removing)
    group: list[Instruction] = []
    for instruction in stage.instructions:
        if instruction.start_line < origin.start_line or instruction.start_line > removing.start_line:
            continue
        if instruction.keyword in _NEUTRAL:
            continue
        if instruction.keyword != "RUN":
            return Fix(f"{advice} (by hand: the {instruction.keyword} on line {instruction.start_line} "
                       "lies between)", Applicability.DISPLAY)
        group.append(instruction)
    reason = _unmergeable(group)
    if reason is not None:
        return Fix(f"{advice} (by hand: {reason})", Applicability.DISPLAY)
    text = context.dockerfile.text
    escape = context.dockerfile.escape
    newline = "\r\n" if origin.source.endswith("\r\n") else "\n"
    indent = _indent(context, origin)
    first = group[0]
    edits = []
    joined = ""
    if _changes_shell_state(first):  # its `cd`/`export` must not reach the later bodies
        edits.append(Edit(Span(first.args_span.start, first.args_span.start), "( "))
        joined = " )"
    for position, run in enumerate(group[1:], start=1):
        body = text[run.args_span.start : run.args_span.end]
        last = position == len(group) - 1
        if (not last and _changes_shell_state(run)) or any(
            command.operator not in (None, "&&", "|") for command in run.shell.commands
        ):
            body = f"( {body} )"
        joined += f" {escape}{newline}{indent}&& {body}"
    edits.append(Edit(Span(first.args_span.end, first.args_span.end), joined))
    edits.extend(Edit(run.span, "") for run in group[1:])
    lines = ", ".join(str(run.start_line) for run in group)
    return Fix(
        f"merge the RUNs on lines {lines} into one, so the removal happens in the layer that "
        "created the path (unsafe: one RUN now does all of it; a failure stops the whole step)",
        Applicability.UNSAFE,
        edits,
    )


def _unmergeable(group: list[Instruction]) -> str | None:
    flags = {tuple(sorted(flag.raw for flag in run.flags)) for run in group}
    if len(flags) > 1:
        return "the RUNs have different --mount/--network flags"
    for run in group:
        script = run.shell
        if run.is_json or run.heredocs or script is None or not script.complete or not script.commands:
            return f"the RUN on line {run.start_line} is not a plain shell line"
        body = run.args.rstrip()
        if "#" in run.args or body.endswith((";", "&", "|", "\\")):
            return f"the RUN on line {run.start_line} has a comment or a trailing operator"
    return None


def _changes_shell_state(run: Instruction) -> bool:
    return any(command.name in _SHELL_STATE for command in run.shell.commands)


def _indent(context: RuleContext, first: Instruction) -> str:
    if first.end_line > first.start_line:
        line = context.dockerfile.line_text(first.end_line)
        stripped = line.lstrip(" \t")
        lead = line[: len(line) - len(stripped)]
        return lead or "    "
    return "    "
