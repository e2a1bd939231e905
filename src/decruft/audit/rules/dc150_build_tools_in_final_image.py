"""DC150: compilers, headers, SDKs or build systems in the final image."""

from __future__ import annotations

import fnmatch
from functools import lru_cache

from decruft.audit.context import RuleContext, data_table
from decruft.audit.facts import (
    image_family,
    package_install,
    parse_image_reference,
    stake,
    tag_is_slim,
)
from decruft.audit.rule import Applicability, Fix, Severity, Stake, rule
from decruft.shell import ShellCommand

_REMOVERS = {
    "apt-get": ("purge", "remove", "autoremove"),
    "apt": ("purge", "remove", "autoremove"),
    "apk": ("del",),
    "dnf": ("remove", "autoremove", "erase"),
    "yum": ("remove", "autoremove", "erase"),
    "microdnf": ("remove",),
    "zypper": ("remove", "rm"),
}


@rule(
    code="DC150",
    name="build-tools-in-final-image",
    severity=Severity.WARNING,
    summary="build tools (compilers, -dev packages, SDKs) are installed in the final image",
    why="""
Compilers, headers (`*-dev`, `*-devel`), SDKs and build systems are needed to *build*
software, not to run it.  In the final image they add hundreds of MB and a large
attack surface.  A multi-stage build installs them in a builder stage, builds there,
and copies only the results (binaries, wheels, a virtualenv, the site library) into
a slim runtime stage.  Tools installed and removed in the same RUN (`apk add
--virtual .build-deps ... && apk del .build-deps`, `apt-get purge --auto-remove`)
are accepted; removed in a later RUN they still ship.  A full SDK base image
(golang, rust, maven, gradle, gcc, buildpack-deps, dotnet/sdk) as the final base is
reported too.  Package lists: `decruft/data/build_tools.toml`.
""",
    bad="""
FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev \\
 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir psycopg2
""",
    good="""
FROM python:3.12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir psycopg2

FROM python:3.12-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \\
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /venv /venv
""",
    fix="describes a multi-stage build: install and build in a builder stage, copy the results",
    applicability=Applicability.DISPLAY,
)
def check(context: RuleContext):
    yield from _sdk_base(context)
    node_for_build = None  # computed when a node package shows up
    for step in context.runs():
        instruction = step.instruction
        if not context.ships(instruction):
            continue
        script = instruction.shell
        for command in script.commands:
            installed = package_install(command)
            if installed is None:
                continue
            manager, packages = installed
            tools = [name for name in packages if _is_build_tool(name)]
            node = [name for name in packages if name in _node_packages() and name not in tools]
            if node:
                if node_for_build is None:
                    node_for_build = _node_only_for_build(context)
                if node_for_build:
                    tools += node
            if not tools:
                continue
            removed = _removed_in_same_run(script.commands, command, manager, tools)
            tools = [name for name in tools if name not in removed]
            if not tools:
                continue
            later = _removed_later(context, instruction, tools)
            shown = ", ".join(tools[:6]) + (f" and {len(tools) - 6} more" if len(tools) > 6 else "")
            notes = []
            if later is not None:
                notes.append(
                    f"the RUN on line {later.start_line} removes them, but their bytes stay in this layer"
                )
            yield context.report(
                "DC150",
                command.span,
                f"installs build tools ({shown}) in the final image: build in a separate stage "
                "and copy only the results (multi-stage build)",
                instruction=instruction,
                stake=stake("build_toolchain"),
                fix=Fix(
                    "move this install and the build steps that need it into a builder stage "
                    "(`FROM ... AS build`); in the final stage install only runtime libraries and "
                    "`COPY --from=build` the artifacts",
                    Applicability.DISPLAY,
                ),
                notes=notes,
            )


def _sdk_base(context: RuleContext):
    root = context.image_stages[0]
    if root.is_scratch or "$" in root.base_resolved:
        return
    reference = parse_image_reference(root.base_resolved)
    found = image_family(reference)
    if found is None or not found[1].get("runtime_only"):
        return
    family = found[1]
    if tag_is_slim(reference.tag, family):
        return  # e.g. buildpack-deps:bookworm-curl carries no compilers
    shown = f"{reference.repository}:{reference.tag or 'latest'}"
    suggestion = family.get("suggest", "a multi-stage build").format(
        image=shown, version=reference.tag or "latest", major=""
    )
    saving = int(family.get("saving", 0)) or None
    yield context.report(
        "DC150",
        root.from_instruction,
        f"the final image is based on {shown}, a build SDK image; use {suggestion}",
        stake=Stake(bytes=saving, measured=False, note=family.get("caveat")),
        fix=Fix(f"use {suggestion}", Applicability.DISPLAY),
        stage_aware=False,
    )


@lru_cache(maxsize=1)
def _tables() -> tuple[frozenset[str], tuple[str, ...], frozenset[str], frozenset[str]]:
    tools = data_table("build_tools.toml")["tools"]
    return (
        frozenset(tools.get("names", ())),
        tuple(tools.get("patterns", ())),
        frozenset(group.lower() for group in tools.get("groups", ())),
        frozenset(tools.get("ignore", ())),
    )


@lru_cache(maxsize=4096)
def _is_build_tool(name: str) -> bool:
    names, patterns, groups, ignore = _tables()
    if name in ignore:
        return False
    if name.startswith("@"):
        return name.lower() in groups
    return name in names or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


@lru_cache(maxsize=1)
def _node_packages() -> frozenset[str]:
    node = data_table("build_tools.toml").get("build_only_runtimes", {}).get("node", {})
    return frozenset(node.get("packages", ()))


def _node_only_for_build(context: RuleContext) -> bool:
    """Node is installed for a build step: some RUN uses it, the image's command does not."""
    node = data_table("build_tools.toml").get("build_only_runtimes", {}).get("node", {})
    commands = tuple(node.get("runtime_commands", ()))
    start = None
    used_in_run = False
    for stage in context.image_stages:
        for instruction in stage.instructions:
            if instruction.keyword in ("CMD", "ENTRYPOINT"):
                start = instruction
            elif instruction.keyword == "RUN" and instruction.shell is not None:
                if any(command.name in commands for command in instruction.shell.commands):
                    used_in_run = True
    if start is None or not used_in_run:
        return False  # the base image's command is unknown: node may be what it runs
    words = start.json_args if start.json_args is not None else start.args.split()
    return not any(word.rsplit("/", 1)[-1] in commands for word in words)


def _removed_in_same_run(
    commands: list[ShellCommand], install: ShellCommand, manager: str, tools: list[str]
) -> set[str]:
    verbs = _REMOVERS.get(manager, ())
    virtual = install.word_after("--virtual", "-t") if manager == "apk" else None
    removed: set[str] = set()
    for command in commands:
        if command.index <= install.index or command.name != manager:
            continue
        if command.subcommand not in verbs:
            continue
        words = [word for word in command.words[1:] if not word.value.startswith("-")]
        if any(not word.literal for word in words) or command.subcommand == "autoremove":
            return set(tools)  # `apt-get purge $buildDeps`, `--auto-remove` after apt-mark
        names = {word.value for word in words}
        if virtual is not None and virtual in names:
            return set(tools)
        if command.has_flag("--auto-remove") and _marks_auto(commands, install):
            return set(tools)
        removed |= names & set(tools)
    return removed


def _marks_auto(commands: list[ShellCommand], install: ShellCommand) -> bool:
    """The official images' idiom: `apt-mark auto '.*'` before `apt-get purge --auto-remove`."""
    return any(
        command.name == "apt-mark" and command.subcommand == "auto" and command.index > install.index
        for command in commands
    )


def _removed_later(context: RuleContext, instruction, tools: list[str]):
    stage = context.stage_of(instruction)
    seen = False
    for current in stage.instructions if stage is not None else ():
        if current is instruction:
            seen = True
            continue
        if not seen or current.keyword != "RUN" or current.shell is None:
            continue
        for command in current.shell.commands:
            verbs = _REMOVERS.get(command.name, ())
            if command.subcommand in verbs and set(command.positional) & set(tools):
                return current
    return None
