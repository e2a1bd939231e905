"""DC122: consecutive RUN instructions of system setup that could be one layer."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import dependency_install
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, rule
from decruft.dockerfile.nodes import Instruction, Span

# Instructions that change nothing a RUN sees: RUNs on both sides can still be merged.
_NEUTRAL = frozenset(
    {"LABEL", "EXPOSE", "CMD", "ENTRYPOINT", "HEALTHCHECK", "STOPSIGNAL", "MAINTAINER", "ONBUILD"}
)
# System setup: package managers, users, directories, permissions, links, config edits.
_SYSTEM = frozenset(
    {
        "apt-get", "apt", "aptitude", "apt-mark", "apt-key", "add-apt-repository", "apk",
        "yum", "dnf", "microdnf", "tdnf", "zypper", "rpm", "dpkg", "dpkg-reconfigure",
        "dpkg-divert", "debconf-set-selections", "yum-config-manager", "useradd", "groupadd",
        "adduser", "addgroup", "usermod", "groupmod", "passwd", "chpasswd", "chsh", "mkdir",
        "chmod", "chown", "chgrp", "ln", "rm", "rmdir", "touch", "echo", "printf", "sed",
        "tee", "cp", "mv", "install", "locale-gen", "localedef", "update-locale",
        "update-ca-certificates", "update-alternatives", "ldconfig", "true", "set", "export",
        "a2enmod", "a2dismod", "a2ensite", "a2dissite", "setcap", "ulimit",
    }
)  # fmt: skip
# Commands whose effect on the shell (not the filesystem) would leak into the next body.
_SHELL_STATE = frozenset(
    {"cd", "pushd", "popd", "export", "set", "unset", "umask", "source", ".", "alias",
     "shopt", "trap", "exec", "ulimit", "eval"}
)  # fmt: skip


@rule(
    code="DC122",
    name="consecutive-runs",
    severity=Severity.INFO,
    summary="consecutive RUNs of system setup that could be one layer",
    why="""
Each RUN is a layer and a cache step.  Setup steps that belong together (several
`apt-get install`s, `groupadd` + `useradd` + `mkdir` + `chown`) are cheaper as one
RUN: one layer instead of several, one set of package lists to download and clean,
and a later cleanup in the same RUN actually removes bytes (see DC120).

Unlike hadolint's DL3059 (any two consecutive RUNs with the same flags unless one
already chains more than two commands), decruft only suggests merges that cannot
hurt caching: it never merges a dependency install (pip, npm, go, cargo, maven ...)
or a build step with anything, because keeping them apart lets the slow install
stay cached while later steps change.  It also looks through instructions that do
not affect a RUN (LABEL, EXPOSE, CMD, ENTRYPOINT, HEALTHCHECK, STOPSIGNAL), and
RUNs with different `--mount`/`--network`/`--security` flags stay apart.
""",
    bad="""
RUN apt-get update && apt-get install -y --no-install-recommends curl
RUN apt-get update && apt-get install -y --no-install-recommends git
RUN groupadd -r app && useradd -r -g app app
""",
    good="""
RUN apt-get update \\
 && apt-get install -y --no-install-recommends curl git \\
 && rm -rf /var/lib/apt/lists/* \\
 && groupadd -r app && useradd -r -g app app
""",
    fix="append the later RUN bodies to the first with ` && ` and delete the later RUNs",
    applicability=Applicability.SAFE,
    hadolint=("DL3059",),
)
def check(context: RuleContext):
    for stage in context.model.stages:
        if not context.built(stage.from_instruction):
            continue
        group: list[Instruction] = []
        key = None
        for instruction in stage.instructions:
            if instruction.keyword in _NEUTRAL:
                continue
            if instruction.keyword == "RUN" and _is_system(instruction):
                flags = tuple(sorted(flag.raw for flag in instruction.flags))
                if group and flags == key:
                    group.append(instruction)
                    continue
                yield from _report(context, group)
                group, key = [instruction], flags
                continue
            yield from _report(context, group)
            group, key = [], None
        yield from _report(context, group)


def _is_system(instruction: Instruction) -> bool:
    json_args = instruction.json_args
    if json_args is not None:
        name = json_args[0].rsplit("/", 1)[-1] if json_args else ""
        return name in _SYSTEM and name not in ("echo", "true")
    script = instruction.shell
    if script is None or not script.complete or not script.commands:
        return False
    for command in script.commands:
        name = command.name
        if name not in _SYSTEM and name not in _SHELL_STATE:
            return False
        install = dependency_install(command)
        if install is not None and install.kind != "os":
            return False
    return True


def _report(context: RuleContext, group: list[Instruction]):
    if len(group) < 2:
        return
    lines = [str(run.start_line) for run in group]
    listed = ", ".join(lines[:-1]) + f" and {lines[-1]}"
    finding = context.report(
        "DC122",
        group[1],
        f"the RUNs on lines {listed} are consecutive setup steps: merge them into one layer",
        stake=Stake(note=f"{len(group) - 1} extra layer{'s' if len(group) > 2 else ''}"),
        fix=_fix(context, group),
    )
    if finding is not None:
        yield finding


def _fix(context: RuleContext, group: list[Instruction]) -> Fix:
    description = f"merge into the RUN on line {group[0].start_line} with ` && `"
    text = context.dockerfile.text
    if any(run.heredocs or run.is_json for run in group):
        return Fix(description + " (by hand: heredoc or exec form)", Applicability.UNSAFE)
    bodies = [text[run.args_span.start : run.args_span.end] for run in group]
    if any("#" in body for body in bodies) or any(
        body.rstrip().endswith((";", "&", "|", "\\")) for body in bodies
    ):
        return Fix(description + " (by hand: a comment or trailing operator)", Applicability.UNSAFE)
    applicability = Applicability.SAFE
    for run in group[:-1]:
        if any(command.name in _SHELL_STATE for command in run.shell.commands):
            applicability = Applicability.UNSAFE  # a cd/export would now reach the next body
    for run in group[1:]:
        if any(command.operator not in (None, "&&", "|") for command in run.shell.commands):
            applicability = Applicability.UNSAFE  # `a; b` after `&&` changes what runs on failure
    first = group[0]
    escape = context.dockerfile.escape
    indent = _indent(context, first)
    joined = "".join(f" {escape}\n{indent}&& {body}" for body in bodies[1:])
    end = first.args_span.end
    edits = [Edit(Span(end, end), joined)]
    edits.extend(Edit(run.span, "") for run in group[1:])
    return Fix(description, applicability, edits)


def _indent(context: RuleContext, first: Instruction) -> str:
    if first.end_line > first.start_line:
        line = context.dockerfile.line_text(first.end_line)
        stripped = line.lstrip(" \t")
        lead = line[: len(line) - len(stripped)]
        if stripped.startswith("&&"):
            return lead
        return lead or "    "
    return "    "
