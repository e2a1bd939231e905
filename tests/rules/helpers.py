"""Table-test helpers for audit rules: run one rule over a Dockerfile string."""

from __future__ import annotations

from pathlib import Path

from decruft.audit import AuditOptions, audit_source
from decruft.audit.config import AuditConfig


def findings(source: str, code: str, *, target: str | None = None, context: Path | None = None):
    options = AuditOptions(
        target=target,
        config=AuditConfig(select=[code]),
        scan_context=context is not None,
        context=str(context) if context is not None else None,
    )
    result = audit_source(source, "Dockerfile", options, context)
    assert result.syntax_error is None, result.syntax_error
    assert result.error is None, result.error
    return [finding for finding in result.findings if finding.code == code]


def lines(source: str, code: str, **kwargs) -> list[int]:
    return [finding.line for finding in findings(source, code, **kwargs)]


def apply_fix(source: str, fix) -> str:
    """Apply a finding's edits to ``source``; the result must still parse."""
    from decruft.dockerfile import parse
    from decruft.fix import apply_edits

    fixed = apply_edits(source, fix.edits)
    parse(fixed)
    return fixed
