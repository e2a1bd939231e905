"""A service installed from the distribution's packages (nginx, a daemon from apt) plus files.

There is no compiler to leave behind, but the image still carries the build's helpers (curl
and friends used to fetch files, recommends, apt lists, unpacked archives). The runtime stage
is the slim image of the distribution with the same packages installed minus the build-only
ones (compilers, ``-dev`` packages, and download/unpack tools that the ENTRYPOINT/CMD/HEALTHCHECK
never call), ``--no-install-recommends``, and the files the build put in place: every COPY/ADD
destination taken from the built build stage (so files a RUN wrote below them come along) with
its ``chown -R`` owner.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from decruft.audit.context import data_table
from decruft.audit.facts import parse_image_reference
from decruft.multistage.plan import (
    NotConvertible,
    Plan,
    StageFacts,
    app_artifacts,
    build_name,
    build_stage_text,
    runtime_base_for,
)

DISTRIBUTIONS = ("debian", "ubuntu")
#: Tools that fetch or unpack files during a build; dropped unless the image's commands call them.
BUILD_HELPERS = frozenset({"curl", "wget", "git", "gnupg", "gnupg2", "unzip", "xz-utils", "bzip2",
                           "apt-transport-https", "software-properties-common", "dirmngr"})  # fmt: skip


def detect(facts: StageFacts) -> bool:
    return parse_image_reference(facts.base).repository in DISTRIBUTIONS and bool(_apt_packages(facts))


def _apt_packages(facts: StageFacts) -> list[str]:
    names = []
    for _instruction, command in facts.commands:
        if command.name in ("apt-get", "apt") and command.subcommand == "install":
            names += [a.split("=", 1)[0] for a in command.positional[1:]]
    return list(dict.fromkeys(names))


def _build_only(name: str, called: set[str]) -> bool:
    tools = data_table("build_tools.toml")["tools"]
    if name in tools["names"] or any(fnmatch.fnmatchcase(name, p) for p in tools["patterns"]):
        return True
    return name in BUILD_HELPERS and name not in called


def plan(facts: StageFacts, context: Path | None = None) -> Plan:
    packages = _apt_packages(facts)
    if any("$" in p or p.endswith(".deb") or "/" in p for p in packages):
        raise NotConvertible("apt installs packages named by variables or local .deb files")
    called = set()
    for instruction in facts.carried:
        if instruction.keyword in ("ENTRYPOINT", "CMD", "HEALTHCHECK"):
            called.update(word.rsplit("/", 1)[-1] for word in instruction.words)
    kept = [p for p in packages if not _build_only(p, called)]
    dropped = [p for p in packages if p not in kept]
    if not kept:
        raise NotConvertible("every package the stage installs is a build tool: nothing tells what runs")
    runtime, manager = runtime_base_for(facts.base)
    name = build_name(facts)
    result = Plan(
        ecosystem="apt-service", build_base=facts.base, runtime_base=runtime, build_name=name,
        build_text=build_stage_text(facts, [], [], name), artifacts=app_artifacts(facts, why="files the build put in place"),
        carried=list(facts.carried), workdir=facts.final_workdir, package_manager=manager,
        base_packages=kept,
    )
    result.explanation.append(
        f"build stage ({facts.base}): the original steps; the runtime reinstalls {', '.join(kept)} without "
        f"recommends" + (f" and leaves out {', '.join(dropped)}" if dropped else "")
    )
    return result
