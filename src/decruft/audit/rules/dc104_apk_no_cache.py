"""DC104: apk leaves its package index in /var/cache/apk."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
    append_to_run,
    insert_after_word,
    mounts_cache,
    removes_cache,
    stake,
    tool_calls,
    wrapper_prefix,
)
from decruft.audit.rule import Applicability, Fix, Severity, rule

APK_CACHE = "/var/cache/apk"
_FILLS = ("add", "upgrade", "update")


@rule(
    code="DC104",
    name="apk-no-cache",
    severity=Severity.WARNING,
    summary="apk add without --no-cache leaves the package index in the layer",
    why="""
`apk add` (and `apk update` / `apk upgrade`) download the APKINDEX of every
repository to /var/cache/apk (about 2.5 MB for main+community) and leave it in the
layer.  `apk add --no-cache` fetches the index into memory only.  A removal of
/var/cache/apk after the last apk command in the same RUN, or a cache mount on
/var/cache/apk (or /etc/apk/cache), keeps it out of the image as well.  Unlike
hadolint's DL3019 this rule also reports `apk update`, whose index stays behind
even when the following `apk add` uses --no-cache, and accepts the removal and
the cache mount.
""",
    bad="""
RUN apk update && apk add curl
""",
    good="""
RUN apk add --no-cache curl
""",
    fix="insert --no-cache after `apk add`/`apk upgrade`; for `apk update`, append `rm -rf /var/cache/apk/*` to the RUN",
    applicability=Applicability.SAFE,
    hadolint=("DL3019",),
)
def check(context: RuleContext):
    for step in context.runs():
        instruction = step.instruction
        calls = [
            call
            for call in tool_calls(instruction.shell, "apk")
            if call.verb in _FILLS and not call.has_flag("--no-cache")
        ]
        if not calls:
            continue
        if mounts_cache(context, instruction, APK_CACHE) or context.has_cache_mount(instruction, "/etc/apk/cache"):
            continue
        if removes_cache(instruction.shell, [APK_CACHE], after=calls[-1].command.index):
            continue
        for call in calls:
            if call.verb == "update":
                edit = append_to_run(instruction, f"{wrapper_prefix(call.command)}rm -rf /var/cache/apk/*")
                fix = Fix("append `rm -rf /var/cache/apk/*` to the RUN", Applicability.SAFE, [edit]) if edit else None
                message = "`apk update` leaves the package index in /var/cache/apk; use `apk add --no-cache` instead"
            else:
                fix = Fix("insert --no-cache", Applicability.SAFE, [insert_after_word(call.verb_word, "--no-cache")])
                message = f"`apk {call.verb}` without --no-cache leaves the package index in /var/cache/apk"
            yield context.report(
                "DC104",
                call.command.span,
                message,
                instruction=instruction,
                stake=stake("apk_cache"),
                fix=fix,
            )
