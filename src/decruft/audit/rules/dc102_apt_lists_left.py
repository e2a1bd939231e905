"""DC102: apt package lists left in the layer that installed packages."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import append_to_run, apt_commands, removes, stake
from decruft.audit.rule import Applicability, Fix, Severity, rule

APT_LISTS = "/var/lib/apt/lists"


@rule(
    code="DC102",
    name="apt-lists-not-removed",
    severity=Severity.WARNING,
    summary="apt package lists are not removed in the RUN that downloads them (apt-get update)",
    why="""
`apt-get update` downloads the package lists to /var/lib/apt/lists (about 20 MB on
bookworm).  Unless the same RUN deletes them, they are committed into the layer and
shipped with the image; deleting them in a later RUN saves nothing.  Only a removal
of /var/lib/apt/lists counts: `apt-get clean` empties /var/cache/apt, not the
lists, and an unrelated `rm -rf /tmp/x` is not a cleanup (hadolint's DL3009 accepts
any `rm -rf`).  A cache mount on /var/lib/apt keeps the lists out of the layer and
is accepted.
""",
    bad="""
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /tmp/*
""",
    good="""
RUN apt-get update && apt-get install -y --no-install-recommends curl \\
 && rm -rf /var/lib/apt/lists/*
""",
    fix="append `&& rm -rf /var/lib/apt/lists/*` to the RUN",
    applicability=Applicability.SAFE,
    hadolint=("DL3009",),
)
def check(context: RuleContext):
    for step in context.runs():
        instruction = step.instruction
        script = instruction.shell
        updates = apt_commands(script, "update")
        if not updates:
            # Without an update in this RUN the lists come from an earlier layer (DC101's case).
            continue
        if context.has_cache_mount(instruction, APT_LISTS, "/var/lib/apt"):
            continue
        installs_here = apt_commands(script, "install", "upgrade", "dist-upgrade", "full-upgrade", "build-dep")
        if not installs_here and _installs_later(step):
            continue  # DC101 reports a lone update that a later RUN depends on
        last_use = apt_commands(script)[-1]
        if removes(script, APT_LISTS, after=last_use.index):
            continue
        edit = append_to_run(instruction, "rm -rf /var/lib/apt/lists/*")
        fix = Fix("append `rm -rf /var/lib/apt/lists/*` to the RUN", Applicability.SAFE, [edit]) if edit else None
        if fix is not None and _later_apt_needs_lists(step):
            # A later RUN that installs without its own update reads these lists.
            fix = Fix(fix.description + " (a later RUN uses them: add `apt-get update` there)",
                      Applicability.UNSAFE, fix.edits)
        yield context.report(
            "DC102",
            instruction,
            "apt package lists in /var/lib/apt/lists are left in this layer; "
            "remove them in the same RUN (`rm -rf /var/lib/apt/lists/*`)",
            stake=stake("apt_lists"),
            fix=fix,
        )


def _installs_later(step) -> bool:
    for other in step.stage.instructions:
        if other.start_line > step.instruction.start_line and other.keyword == "RUN":
            if other.shell is not None and apt_commands(other.shell, "install"):
                return True
    return False


def _later_apt_needs_lists(step) -> bool:
    for other in step.stage.instructions:
        if other.start_line <= step.instruction.start_line or other.keyword != "RUN" or other.shell is None:
            continue
        uses = [c for c in apt_commands(other.shell) if c.subcommand not in (None, "update", "clean")]
        if uses and not apt_commands(other.shell, "update"):
            return True
    return False
