"""DC103: apt installs recommended packages."""

from __future__ import annotations

import re

from decruft.audit.context import RuleContext
from decruft.audit.facts import apt_commands, stake
from decruft.audit.rule import Applicability, Edit, Fix, Severity, rule
from decruft.dockerfile.nodes import Span

_CONFIG_OFF = re.compile(r"APT::Install-Recommends\s*[= ]\s*\"?(false|0|no)\"?", re.IGNORECASE)


@rule(
    code="DC103",
    name="apt-install-recommends",
    severity=Severity.WARNING,
    summary="apt-get install without --no-install-recommends",
    why="""
By default apt also installs every package's *Recommends*: documentation tools,
extra locales, GUI helpers, compilers for optional features.  In an image they are
dead weight, often tens to hundreds of MB, and extra attack surface.  Both `apt-get`
and `apt` are covered; `-o APT::Install-Recommends=false` or a config file setting
it count as the flag.
""",
    bad="""
RUN apt-get update && apt-get install -y python3 && rm -rf /var/lib/apt/lists/*
""",
    good="""
RUN apt-get update && apt-get install -y --no-install-recommends python3 \\
 && rm -rf /var/lib/apt/lists/*
""",
    fix="insert --no-install-recommends after `install`",
    applicability=Applicability.SAFE,
    hadolint=("DL3015",),
)
def check(context: RuleContext):
    # Only a setting written to apt's configuration applies to later commands; an
    # `-o APT::Install-Recommends=false` option applies to its own command only.
    configured = any(
        "apt.conf" in text and _CONFIG_OFF.search(text)
        for instruction in context.dockerfile.instructions
        if instruction.keyword == "RUN"
        for text in (instruction.args, *(h.content for h in instruction.heredocs))
    )
    if configured:
        return
    for step in context.runs():
        for command in apt_commands(step.instruction.shell, "install"):
            if command.has_flag("--no-install-recommends"):
                continue
            if any(_CONFIG_OFF.search(arg) for arg in command.args):
                continue
            yield context.report(
                "DC103",
                command.span,
                f"`{command.name} install` without --no-install-recommends pulls in recommended packages",
                instruction=step.instruction,
                stake=stake("apt_recommends"),
                fix=_insert_flag(command),
            )


def _insert_flag(command) -> Fix:
    install_word = next((word for word in command.words if word.value == "install"), None)
    edits = []
    if install_word is not None:
        end = install_word.span.end
        edits.append(Edit(Span(end, end), " --no-install-recommends"))
    return Fix("insert --no-install-recommends", Applicability.SAFE, edits)
