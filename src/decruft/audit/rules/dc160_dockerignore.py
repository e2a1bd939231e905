"""DC160: the build context sends junk or secrets that a .dockerignore would keep out."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.contextfacts import proposal
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, format_bytes, rule
from decruft.dockerfile.nodes import Span


@rule(
    code="DC160",
    name="context-sends-junk",
    severity=Severity.WARNING,
    category="context",
    summary="the build context sends .git, node_modules, virtualenvs, build outputs, large data or secrets",
    why="""
Everything in the build context that .dockerignore does not exclude is sent to the
builder before the build starts, and any `COPY . .` puts it into the image: a `.git`
directory, `node_modules` built for the host, virtualenvs, `__pycache__`, build
outputs, large data files, and secrets such as `.env` files and private keys (which
then live in a layer forever).  It also invalidates the COPY cache whenever any of
those files change.  The finding counts the files and bytes the context sends now and
with the proposed .dockerignore, measured by evaluating both exactly as BuildKit does.
Paths a COPY or ADD names explicitly are never excluded.
""",
    bad="""
# no .dockerignore; the context holds .git (300 MB), node_modules, .env
COPY . /app
""",
    good="""
# .dockerignore
.git
**/node_modules
**/.env
""",
    fix="write or extend .dockerignore with the measured patterns (existing lines are kept)",
    applicability=Applicability.SAFE,
)
def check(context: RuleContext):
    proposed = proposal(context)
    if proposed is None or not proposed.patterns:
        return
    saved = proposed.saved
    secrets = [p for p in proposed.patterns if _is_secret(proposed, p.class_id)]
    kinds = ", ".join(dict.fromkeys(p.title for p in proposed.patterns))
    where = "no .dockerignore" if not proposed.existing_text else ".dockerignore lets it through"
    message = (
        f"the build context sends {kinds} ({where}): "
        f"{proposed.before.files} files, {format_bytes(proposed.before.bytes)} now; "
        f"{proposed.after.files} files, {format_bytes(proposed.after.bytes)} with the proposed .dockerignore"
    )
    if secrets:
        message += "; secrets: " + ", ".join(path for p in secrets for path in p.paths[:3])
    first = context.dockerfile.instructions[0]
    fix = Fix(
        "add to .dockerignore: " + ", ".join(p.pattern for p in proposed.patterns),
        Applicability.SAFE,
        [Edit(Span(0, len(proposed.existing_text)), proposed.text)],
        file=".dockerignore",
    )
    yield context.report(
        "DC160",
        Span(first.keyword_span.start, first.keyword_span.end),
        message,
        severity=Severity.ERROR if secrets else None,
        stake=Stake(bytes=saved.bytes, measured=True, note=f"{saved.files} files sent to the builder"),
        fix=fix,
        stage_aware=False,
        notes=[f"{p.pattern}: {format_bytes(p.size.bytes)} ({p.title})" for p in proposed.patterns]
        + proposed.warnings,
    )


def _is_secret(proposed, class_id: str) -> bool:
    return any(f.junk.id == class_id and f.junk.kind == "secret" for f in proposed.findings)
