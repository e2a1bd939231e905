"""DC101: ``apt-get update`` in a different layer from the install that needs it."""

from __future__ import annotations

import re

from decruft.audit.context import RuleContext
from decruft.audit.facts import APT_TOOLS, apt_commands
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, rule
from decruft.dockerfile.nodes import Instruction, Span

# Commands that read the package lists: between the update and the install they need them.
_LIST_READERS = frozenset({*APT_TOOLS, "apt-cache", "apt-file", "add-apt-repository", "apt-rdepends"})


@rule(
    code="DC101",
    name="apt-update-separate-layer",
    severity=Severity.WARNING,
    summary="apt-get update runs in a different RUN (layer) than apt-get install",
    why="""
The layer that ran `apt-get update` is cached on its own.  When you later add a
package to the `apt-get install` line, BuildKit reuses the stale package lists from
the cache and the install can fail or get old versions; and the lists (~20 MB) are
committed in their own layer where a later `rm` cannot reclaim them.
""",
    bad="""
RUN apt-get update
RUN apt-get install -y --no-install-recommends curl
""",
    good="""
RUN apt-get update \\
 && apt-get install -y --no-install-recommends curl \\
 && rm -rf /var/lib/apt/lists/*
""",
    fix=(
        "delete the lone update RUN and run the update in the RUN that installs "
        "(`apt-get update && apt-get install ...`); DC102 then asks to clean the lists there"
    ),
    applicability=Applicability.SAFE,
)
def check(context: RuleContext):
    for step in context.runs():
        script = step.instruction.shell
        updates = apt_commands(script, "update")
        if not updates or apt_commands(script, "install", "upgrade", "dist-upgrade", "full-upgrade"):
            continue
        later_install = None
        for other in step.stage.instructions:
            if other.start_line <= step.instruction.start_line or other.keyword != "RUN":
                continue
            if other.shell is not None and apt_commands(other.shell, "install"):
                later_install = other
                break
        if later_install is None:
            continue
        yield context.report(
            "DC101",
            step.instruction,
            f"`apt-get update` runs alone; the install on line {later_install.start_line} "
            "uses cached, possibly stale package lists and the lists stay in this layer",
            stake=Stake(bytes=None, rebuild="stale apt cache after edits to the install line"),
            fix=_fix(context, step.instruction, later_install),
        )


def _fix(context: RuleContext, update_run: Instruction, install_run: Instruction) -> Fix:
    """Delete the update RUN; prefix the install command with the same update and ``&&``."""
    description = f"move the update into the RUN on line {install_run.start_line} (`apt-get update && ...`)"
    reason = _why_not(context, update_run, install_run)
    if reason is not None:
        return Fix(f"{description} (by hand: {reason})", Applicability.SAFE)
    update = update_run.shell.commands[0]
    install = apt_commands(install_run.shell, "install")[0]
    text = update.text if "\n" not in update.text else " ".join(
        [*update.assignments, *(word.text for word in update.words)]
    )
    prefix = f"{text} && "
    if install_run.shell.origin == "heredoc":
        # A script body: the update gets its own line, so `set -e` still stops on its failure.
        source = context.dockerfile.text
        line_start = source.rfind("\n", 0, install.span.start) + 1
        indent = source[line_start : install.span.start]
        if not indent.strip(" \t"):
            newline = "\r\n" if source[:line_start].endswith("\r\n") else "\n"
            prefix = f"{text}{newline}{indent}"
    return Fix(
        f"move `{text}` into the RUN on line {install_run.start_line}",
        Applicability.SAFE,
        [Edit(update_run.span, ""), Edit(Span(install.span.start, install.span.start), prefix)],
    )


def _why_not(context: RuleContext, update_run: Instruction, install_run: Instruction) -> str | None:
    script = update_run.shell
    if update_run.is_json or update_run.heredocs or script is None or not script.complete:
        return "the update RUN is not a plain shell line"
    if len(script.commands) != 1 or script.commands[0].redirects:
        return "the update RUN does more than the update"
    if "#" in update_run.args:
        return "the update RUN has a comment"
    if sorted(f.raw for f in update_run.flags) not in ([], sorted(f.raw for f in install_run.flags)):
        return "the update RUN has its own --mount/--network flags"
    install_script = install_run.shell
    if install_run.is_json or install_script is None or not install_script.complete:
        return "the install RUN is not plain shell"
    install = apt_commands(install_script, "install")[0]
    if install.in_pipeline or install.operator not in (None, "&&", ";"):
        return "the install is not a plain step of its RUN"
    if not _top_level_gap(context, install_run, install):
        return "the install runs inside a compound command"
    for between in context.stage_of(update_run).instructions:
        if not update_run.start_line < between.start_line < install_run.start_line:
            continue
        if between.keyword == "USER":
            return f"the USER on line {between.start_line} changes who runs the update"
        if between.keyword == "RUN" and (
            between.shell is None or any(c.name in _LIST_READERS for c in between.shell.commands)
        ):
            return f"the RUN on line {between.start_line} may use the package lists"
    return None


def _top_level_gap(context: RuleContext, run: Instruction, install) -> bool:
    """Only separators (``&&``, ``;``, newlines, line continuations) before the install."""
    text = context.dockerfile.text
    commands = run.shell.commands
    if install.index > 0:
        start = commands[install.index - 1].span.end
    elif run.shell.origin == "heredoc":
        start = run.heredocs[0].body.start
    else:
        start = run.args_span.start
    gap = text[start : install.span.start]
    escape = re.escape(context.dockerfile.escape)
    return re.fullmatch(rf"(?:\s|&&|;|{escape}\r?\n)*", gap) is not None
