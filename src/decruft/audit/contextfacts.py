"""Build-context facts for the context rules: what COPY/ADD need, and the proposal."""

from __future__ import annotations

import os

from decruft.audit.context import RuleContext
from decruft.context.junk import Proposal, propose_dockerignore
from decruft.errors import DecruftError

_REMOTE_PREFIXES = ("http://", "https://", "git@", "git://")


def needed_sources(context: RuleContext) -> list[str]:
    """Context paths read by COPY/ADD of the stages BuildKit builds (no --from, no heredocs)."""
    sources: list[str] = []
    for instruction in context.instructions("COPY", "ADD"):
        if instruction.flag_value("from"):
            continue
        heredoc_names = {heredoc.name for heredoc in instruction.heredocs}
        words = context.model.expanded_words(instruction)[:-1]
        for word in words:
            if word.startswith(_REMOTE_PREFIXES) or word.lstrip("0123456789").startswith("<<"):
                continue
            if word in heredoc_names:
                continue
            sources.append(word)
    return sources


def proposal(context: RuleContext) -> Proposal | None:
    """The measured .dockerignore proposal for this audit (None without a context)."""
    if context.context_dir is None:
        return None

    def compute() -> Proposal | None:
        if not os.path.isdir(context.context_dir):
            return None
        dockerfile = context.file if context.file and os.path.isfile(context.file) else None
        try:
            return propose_dockerignore(
                context.context_dir,
                needed_sources(context),
                context.file_overrides.get(".dockerignore"),
                dockerfile=dockerfile,
            )
        except (DecruftError, OSError) as exc:
            context.warnings.append(f"build context not scanned: {exc}")
            return None

    return context.memo("dockerignore-proposal", compute)
