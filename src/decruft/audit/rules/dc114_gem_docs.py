"""DC114: gem install generates ri/rdoc documentation."""

from __future__ import annotations

import re

from decruft.audit.context import RuleContext
from decruft.audit.facts import base_repository, insert_after_word, stake, tool_calls
from decruft.audit.rule import Applicability, Fix, Severity, rule

# A gemrc written by the Dockerfile that turns documentation off
# (`gem: --no-document`, `install: --no-document`, the old `--no-rdoc --no-ri`).
_GEMRC_OFF = re.compile(r"\b(?:gem|install)\s*:\s*[^\n'\"]*--no-(?:document|rdoc|ri)\b")
# Official ruby images write `install: --no-document` to /usr/local/etc/gemrc.
_DOCS_OFF_BASES = frozenset({"ruby"})


@rule(
    code="DC114",
    name="gem-docs",
    severity=Severity.WARNING,
    summary="gem install without --no-document generates ri/rdoc documentation",
    why="""
`gem install` and `gem update` generate ri and rdoc documentation for every gem
they install, which nobody reads inside a container: several MB for a handful of
gems, plus the time to generate it.  `--no-document` (`-N`) skips it; the old
`--no-rdoc --no-ri` (removed in RubyGems 3) and a gemrc with
`gem: --no-document` written earlier in the Dockerfile count too.  Stages built
on the official `ruby` images are exempt: those images already write
`install: --no-document` to /usr/local/etc/gemrc.  `bundle install` does not
generate documentation.  hadolint has no equivalent rule.
""",
    bad="""
RUN gem install bundler
""",
    good="""
RUN gem install --no-document bundler
""",
    fix="insert --no-document after `install`",
    applicability=Applicability.SAFE,
)
def check(context: RuleContext):
    gemrc_lines = None
    for step in context.runs():
        instruction = step.instruction
        calls = [
            call
            for call in tool_calls(instruction.shell, "gem")
            if call.verb in ("install", "update")
            and not call.has_flag("--no-document", "-N", "--no-doc")
            and not (call.has_flag("--no-rdoc") and call.has_flag("--no-ri"))
        ]
        if not calls:
            continue
        if base_repository(step.stage.root_base()) in _DOCS_OFF_BASES:
            continue
        if gemrc_lines is None:
            gemrc_lines = _gemrc_lines(context)
        if any(line <= instruction.start_line for line in gemrc_lines):
            continue
        for call in calls:
            yield context.report(
                "DC114",
                call.command.span,
                f"`gem {call.verb}` without --no-document generates ri/rdoc documentation",
                instruction=instruction,
                stake=stake("gem_docs"),
                fix=Fix("insert --no-document", Applicability.SAFE, [insert_after_word(call.verb_word, "--no-document")]),
            )


def _gemrc_lines(context: RuleContext) -> list[int]:
    """Start lines of RUN instructions that write a gemrc turning documentation off."""
    lines = []
    for instruction in context.dockerfile.instructions:
        if instruction.keyword != "RUN":
            continue
        texts = [instruction.args, *(heredoc.content for heredoc in instruction.heredocs)]
        if any(_GEMRC_OFF.search(text) for text in texts):
            lines.append(instruction.start_line)
    return lines
