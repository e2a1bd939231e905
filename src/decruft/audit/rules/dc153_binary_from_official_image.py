"""DC153: a tool installed by a RUN where its official image ships the binary."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import stake, user_at
from decruft.audit.facts.binaries import (
    BinaryInstall,
    binary_installs,
    later_blocker,
    may_install_binary,
    replacement_edits,
)
from decruft.audit.rule import Applicability, Fix, Severity, Stake, rule

REBUILD = "re-runs and downloads again whenever an earlier step changes"


@rule(
    code="DC153",
    name="binary-from-official-image",
    severity=Severity.INFO,
    summary="a tool is installed where its official image ships the binary for COPY --from",
    why="""
Some tools are published as an official image that holds little more than the
tool's binary (`ghcr.io/astral-sh/uv` is `/uv` and `/uvx` on scratch;
`composer` has `/usr/bin/composer`; `docker:<v>-cli` the static client in
`/usr/local/bin/docker`; `tianon/gosu` has `/gosu`).
`COPY --from=<image>:<version> <paths> <dir>/` takes the file in one cached
step: no package manager, installer script or toolchain runs, nothing it leaves behind
(caches, package lists, a daemon that came with the package) ships, and the
step does not re-run when an earlier layer changes: a COPY is cached by the
image's content, a RUN re-runs after every change above it. The tag follows
the version the Dockerfile pinned (`pip install uv==0.13.9` ->
`ghcr.io/astral-sh/uv:0.13.9`). The table is
`decruft/data/external_binaries.toml`; a registry mirror is configured with
`external-image-registry` (config) or `--external-image-registry`.
""",
    bad="""
FROM python:3.12-slim
RUN pip install uv==0.13.9
RUN uv pip install --system -r requirements.txt
""",
    good="""
FROM python:3.12-slim
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/
RUN uv pip install --system -r requirements.txt
""",
    fix=(
        "replace the install by `COPY --from=<image>:<tag> <paths> <dir>/` before its RUN: the whole RUN "
        "when it does nothing else, the package when the command installs others too, or the commands cut "
        "out of their `&&` chain; package installs copy to a directory on the step's PATH, installer "
        "scripts to the directory the installer wrote to"
    ),
    applicability=Applicability.UNSAFE,
)
def check(context: RuleContext):
    text = context.dockerfile.text
    for step in context.runs():
        instruction = step.instruction
        if not may_install_binary(instruction):
            continue
        installs = binary_installs(instruction, context.env(instruction), user_at(context, instruction))
        for install in installs:
            install.blocker = install.blocker or later_blocker(install, text[instruction.span.end :])
            yield context.report(
                "DC153",
                instruction,
                _message(install, context.external_image_registry),
                stake=_stake(install),
                fix=_fix(install, context.external_image_registry),
                notes=[install.caveat] if install.caveat else None,
            )


def _message(install: BinaryInstall, registry: str | None) -> str:
    reference = install.image.reference(install.version, registry)
    paths = " ".join(install.image.paths)
    return (
        f"`{install.how}` installs {install.image.tool}, which the official image {reference} ships as "
        f"{paths}: copy it from there instead (one cached step, nothing of the install left in the layer)"
    )


def _stake(install: BinaryInstall) -> Stake:
    found = stake(install.stake) if install.stake else Stake()
    found.rebuild = f"the install {REBUILD}"
    return found


def _fix(install: BinaryInstall, registry: str | None) -> Fix:
    edits, why = replacement_edits(install, registry)
    if install.destination is None:
        description = f"copy {' '.join(install.image.paths)} from {install.image.reference(install.version, registry)}"
    else:
        description = f"`{install.copy_line(registry)}` instead of `{install.how}`"
    if why is not None:
        return Fix(f"{description} (by hand: {why})", Applicability.UNSAFE)
    return Fix(f"{description} (unsafe: the binary now comes from the image)", Applicability.UNSAFE, edits)
