"""DC121: ``chown -R`` / ``chmod -R`` over files an earlier COPY or ADD wrote."""

from __future__ import annotations

import re

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
    SMALL_BYTES,
    LazyVariables,
    Written,
    absolute,
    commands_with_cwd,
    copied_bytes,
    copy_writes,
    expand_simple,
    likely_small_file,
    overlaps,
    stage_chain_instructions,
)
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, rule
from decruft.dockerfile.model import creates_layer
from decruft.dockerfile.nodes import Span

_OCTAL_MODE = re.compile(r"[0-7]{3,4}\Z")
_COMMANDS = ("chown", "chmod", "chgrp")


@rule(
    code="DC121",
    name="chown-after-copy",
    severity=Severity.WARNING,
    summary="RUN chown -R / chmod -R over files an earlier COPY or ADD wrote",
    why="""
Changing the owner or mode of a file is a change to the file, so the layer of the
RUN that does it stores a full new copy of every file it touches.  `RUN chown -R
app:app /app` after `COPY . /app` therefore doubles the size of the application in
the image (and the RUN's time grows with it).  `COPY --chown=app:app` and `COPY
--chmod=755` (BuildKit) set ownership and mode while copying, in the one layer.
Only recursive changes are reported; a `chmod +x` on one copied script duplicates
just that file.
""",
    bad="""
COPY . /app
RUN chown -R app:app /app
""",
    good="""
COPY --chown=app:app . /app
""",
    fix=(
        "move the owner or mode onto the COPY (`--chown=user:group`, `--chmod=MODE`) and drop "
        "the RUN when it does nothing else"
    ),
    applicability=Applicability.UNSAFE,
)
def check(context: RuleContext):
    for stage in context.model.stages:
        if not context.built(stage.from_instruction) or not _has_recursive_change(stage):
            continue
        written: list[Written] = []
        last_layer = None
        for instruction in stage_chain_instructions(context, stage):
            if instruction.keyword in ("COPY", "ADD"):
                written.extend(copy_writes(context, instruction))
            elif instruction.keyword == "RUN" and instruction.stage_index == stage.index and written:
                script = instruction.shell
                if script is not None:
                    yield from _check_run(context, instruction, script, written, last_layer)
            if creates_layer(instruction):
                last_layer = instruction


def _has_recursive_change(stage) -> bool:
    """Cheap pre-check: some RUN of the stage runs chown/chmod/chgrp at all."""
    return any(
        instruction.keyword == "RUN"
        and instruction.shell is not None
        and any(command.name in _COMMANDS for command in instruction.shell.commands)
        for instruction in stage.instructions
    )


def _check_run(context: RuleContext, instruction, script, written: list[Written], previous):
    variables = LazyVariables(context, instruction)
    for command, cwd in commands_with_cwd(context, instruction, script, variables):
        if command.name not in _COMMANDS or not command.has_flag("-R", "--recursive"):
            continue
        positional = command.positional
        by_reference = any(arg.startswith("--reference") for arg in command.args)
        setting = None if by_reference else (positional[0] if positional else None)
        targets = positional if by_reference else positional[1:]
        touched: list[Written] = []
        exact = True
        for target in targets:
            expanded = expand_simple(target, variables)
            if not expanded:
                exact = False
                continue
            path = absolute(expanded, cwd)
            hits = [w for w in written if overlaps(path, w.path, w.tree)]
            if not hits:
                exact = False
            touched.extend(hit for hit in hits if hit not in touched)
            exact = exact and all(hit.path == path for hit in hits)
        if not touched:
            continue
        copies = list(dict.fromkeys(w.instruction for w in touched))
        lines = ", ".join(str(copy.start_line) for copy in copies)
        flag = _flag_for(command.name, setting)
        message = (
            f"`{command.name} -R` rewrites what the {copies[0].keyword} on line{'s' if len(copies) > 1 else ''} "
            f"{lines} wrote, storing every byte again in this layer; "
            + (f"use `{copies[0].keyword} {flag}` instead" if flag else "set ownership and mode on the COPY instead")
        )
        stake = _stake(context, copies)
        small = stake.bytes < SMALL_BYTES if stake.bytes is not None else all(map(likely_small_file, touched))
        severity = Severity.INFO if small else None
        yield context.report(
            "DC121",
            command.span,
            message,
            instruction=instruction,
            stake=stake,
            severity=severity,
            fix=_fix(context, instruction, script, command, copies, flag, exact, previous),
        )


def _flag_for(name: str, setting: str | None) -> str | None:
    if setting is None or "$" in setting:
        return None
    if name == "chown":
        return f"--chown={setting}"
    if name == "chgrp":
        return f"--chown=<user>:{setting}"
    if _OCTAL_MODE.match(setting):
        return f"--chmod={setting}"
    return "--chmod=<octal mode>"


def _stake(context: RuleContext, copies) -> Stake:
    sizes = [copied_bytes(context, copy) for copy in copies]
    if sizes and all(size is not None for size in sizes):
        return Stake(bytes=sum(sizes), measured=True, note="stored twice")
    return Stake(note="every copied byte is stored twice")


def _fix(context, instruction, script, command, copies, flag, exact, previous) -> Fix:
    copy = copies[0]
    description = (
        f"add `{flag or '--chown/--chmod'}` to the {copy.keyword} on line {copy.start_line} "
        "and drop this command"
    )
    name = flag.split("=", 1)[0][2:] if flag else ""
    if flag is None or "<" in flag:
        reason = "the owner or mode is not something the COPY flag takes as is"
    elif len(copies) > 1:
        reason = "it covers several COPY instructions"
    elif not exact:
        reason = "its paths are not exactly what the COPY wrote"
    elif previous is not copy or copy.stage_index != instruction.stage_index:
        reason = "other layers between the COPY and this RUN may have written there too"
    elif len(script.commands) > 1:
        reason = "the RUN does more than that"
    elif copy.flag(name) is not None:
        reason = f"the COPY already has --{name}"
    else:
        insert_at = copy.keyword_span.end
        return Fix(
            description
            + "; unsafe: the destination directory itself and files already under it keep their "
            "owner, which `chown -R` would have changed",
            Applicability.UNSAFE,
            [Edit(Span(insert_at, insert_at), f" {flag}"), Edit(instruction.span, "")],
        )
    return Fix(f"{description} (by hand: {reason})", Applicability.UNSAFE)
