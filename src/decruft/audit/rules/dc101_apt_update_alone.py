"""DC101: ``apt-get update`` in a different layer from the install that needs it."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import apt_commands
from decruft.audit.rule import Applicability, Severity, Stake, rule


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
    fix="merge the update into the RUN that installs (and clean the lists there)",
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
        )
