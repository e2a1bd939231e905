"""Compiled programs: Go (and any build whose result is the executable the image runs), and
C/C++ projects installed with ``make install``, ``cmake --install`` or ``ninja install``.

* Go / other binaries: the executable the image starts (``go build -o PATH``, else the
  ENTRYPOINT/CMD program, found on the build image's ``PATH``) is copied to the same path. The
  runtime base is ``debian:<suite>-slim`` unless the binary turns out static (no ``PT_INTERP``,
  no ``DT_NEEDED``) and needs neither a CA bundle nor zoneinfo that the build image had: then
  ``scratch`` (decided by `decruft.multistage.runtime_deps` after the build stage is built).
* ``make install``: the build stage ends with the same install into a staging root
  (``DESTDIR=/decruft/install``), which the runtime copies to ``/`` and registers with
  ``ldconfig`` (a project that installs its own shared library needs the cache).

The application directory (sources and build tree, usually kilobytes) is copied as built, so
data files the program reads from its WORKDIR are still there.
"""

from __future__ import annotations

import posixpath
import shlex
from pathlib import Path

from decruft.multistage.plan import (
    STAGING,
    Artifact,
    NotConvertible,
    Plan,
    StageFacts,
    app_artifacts,
    build_name,
    build_stage_text,
    runtime_base_for,
    user_for_setup,
)
from decruft.shell import ShellCommand

INSTALL_ROOT = f"{STAGING}/install"


def _installs(command: ShellCommand) -> str | None:
    argv = command.argv
    if command.name in ("make", "gmake") and "install" in command.positional:
        return "make"
    if command.name == "cmake" and "--install" in argv:
        return "cmake"
    if command.name in ("ninja", "samu") and "install" in command.positional:
        return "ninja"
    return None


def _go_builds(command: ShellCommand) -> bool:
    return command.name == "go" and command.subcommand in ("build", "install")


def detect_install(facts: StageFacts) -> bool:
    return any(_installs(c) for _i, c in facts.commands)


def detect_go(facts: StageFacts) -> bool:
    return any(_go_builds(c) for _i, c in facts.commands) or any(
        c.name in ("cargo", "gcc", "cc", "g++", "clang", "rustc", "make") for _i, c in facts.commands
    )


def plan_install(facts: StageFacts, context: Path | None = None) -> Plan:
    instruction, command = next((i, c) for i, c in facts.commands if _installs(c))
    kind = _installs(command)
    cwd = facts.workdir(instruction)
    text = command.text
    if kind == "make":
        staged = f"{text} DESTDIR={INSTALL_ROOT}"
    else:
        staged = f"DESTDIR={INSTALL_ROOT} {text}"
    # Earlier `cd` in the same RUN moves the install; replay the RUN's own prefix up to it.
    prefix = _cd_prefix(instruction, command)
    appended = user_for_setup(facts) + [f"RUN cd {shlex.quote(cwd)} && {prefix}{staged}"]
    name = build_name(facts)
    runtime, manager = runtime_base_for(facts.base)
    build_text = build_stage_text(facts, [], appended, name)
    artifacts = [Artifact(f"{INSTALL_ROOT}/", "/", f"what `{text}` installs")] + app_artifacts(facts)
    result = Plan(
        ecosystem="make-install", build_base=facts.base, runtime_base=runtime, build_name=name,
        build_text=build_text, artifacts=artifacts, carried=list(facts.carried), workdir=facts.final_workdir,
        package_manager=manager, runtime_setup=["ldconfig"],
    )
    result.explanation.append(
        f"build stage ({facts.base}): the original build, then `{text}` again into the staging root {INSTALL_ROOT}"
    )
    return result


def _cd_prefix(instruction, command: ShellCommand) -> str:
    script = instruction.shell
    if script is None:
        return ""
    parts = []
    for other in script.commands:
        if other is command:
            break
        if other.name == "cd" and other.args and "$" not in other.text:
            parts.append(f"cd {shlex.quote(other.args[0])} && ")
    return "".join(parts)


def plan_binary(facts: StageFacts, context: Path | None = None) -> Plan:
    if facts.entry is None and facts.entry_shell:
        program = None
    else:
        program = (facts.entry or [None])[0]
    output = None
    for instruction, command in facts.commands:
        if _go_builds(command):
            value = command.word_after("-o")
            if value and "$" not in value:
                cwd = facts.workdir(instruction)
                output = value if value.startswith("/") else posixpath.normpath(posixpath.join(cwd, value))
    if program is None and output is None:
        raise NotConvertible("cannot tell which program the image runs (no exec-form ENTRYPOINT/CMD, no `go build -o`)")
    entry = program or output
    if output and program and not program.startswith("/") and posixpath.basename(program) == posixpath.basename(output):
        entry = output  # a bare name the build image found on its PATH: the build's output is the file
    if output is None and entry is not None and posixpath.basename(entry) in ("go", "sh", "bash", "make", "cargo"):
        raise NotConvertible(f"the image starts `{entry}` (a build tool), not a compiled program")
    name = build_name(facts)
    runtime, manager = runtime_base_for(facts.base)
    build_text = build_stage_text(facts, [], [], name)
    result = Plan(
        ecosystem="go" if any(_go_builds(c) for _i, c in facts.commands) else "binary",
        build_base=facts.base, runtime_base=runtime, build_name=name, build_text=build_text,
        artifacts=app_artifacts(facts), carried=list(facts.carried), workdir=facts.final_workdir,
        package_manager=manager, entry_binary=entry, entry_program=program, static_candidate=True,
        needs_shell=facts.entry_shell or any(i.keyword == "HEALTHCHECK" and i.json_args is None for i in facts.carried),
    )
    result.explanation.append(f"build stage ({facts.base}): the original build of {entry}")
    return result
