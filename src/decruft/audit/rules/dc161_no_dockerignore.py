"""DC161: a broad COPY of the context with no .dockerignore at all."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.contextfacts import needed_sources, proposal
from decruft.audit.rule import Severity, Stake, format_bytes, rule


@rule(
    code="DC161",
    name="no-dockerignore",
    severity=Severity.INFO,
    category="context",
    summary="the whole context is copied and there is no .dockerignore",
    why="""
Without a .dockerignore every file in the context goes to the builder and, with
`COPY . .`, into the image — today's context may be clean, but the next `.env`,
virtualenv or build output will ship silently, and any file change invalidates the
COPY cache.  (When the context already holds junk, DC160 reports it with the bytes.)
""",
    bad="""
COPY . /app          # and no .dockerignore next to the context
""",
    good="""
# .dockerignore
.git
**/__pycache__
**/.env
""",
)
def check(context: RuleContext):
    proposed = proposal(context)
    if proposed is None or proposed.existing_text or proposed.patterns:
        return  # an ignore file exists, or DC160 already reports the junk
    if context.file_overrides.get(".dockerignore"):
        return
    broad = [source for source in needed_sources(context) if source.strip("./") == ""]
    if not broad:
        return
    copy = next(
        ins for ins in context.instructions("COPY", "ADD")
        if not ins.flag_value("from") and any(w.strip("./") == "" for w in ins.words[:-1])
    )
    yield context.report(
        "DC161",
        copy,
        f"`{copy.keyword} {' '.join(copy.words)}` copies the whole context "
        f"({proposed.before.files} files, {format_bytes(proposed.before.bytes)}) and there is no .dockerignore",
        stake=Stake(bytes=proposed.before.bytes, measured=True, note="context sent on every build"),
        stage_aware=False,
    )
