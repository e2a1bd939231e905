"""Inline suppressions: ``# decruft: ignore=DC101`` and hadolint's pragmas.

``# decruft: ignore=CODES`` on the comment lines directly above an instruction
silences those codes for that instruction; ``# decruft: global ignore=CODES``
anywhere silences them for the file.  ``# hadolint ignore=DL3009`` and
``# hadolint global ignore=...`` are honoured for the equivalent decruft rules,
so teams can switch without editing their files.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from decruft.audit.rule import Finding, get_rule
from decruft.dockerfile.nodes import Dockerfile

_PRAGMA = re.compile(
    r"#\s*(decruft|hadolint)\s*:?\s*(global\s+)?ignore\s*=\s*([A-Za-z0-9_,\s]+)", re.IGNORECASE
)

_MENTION = re.compile(r"decruft|hadolint", re.IGNORECASE)


@dataclass(slots=True)
class Suppressions:
    # Codes as written: decruft codes (DC101) and hadolint codes (DL3009), which silence the
    # decruft rules declaring them (Rule.hadolint) — or, when a finding names the one hadolint
    # rule it matches (DC105 for yum is DL3032, for dnf DL3040), only that one.
    file_codes: set[str] = field(default_factory=set)
    by_line: dict[int, set[str]] = field(default_factory=dict)  # instruction start line -> codes

    def suppressed(self, finding: Finding, line: int) -> bool:
        if not self.file_codes and line not in self.by_line:
            return False
        codes = self.file_codes | self.by_line.get(line, set())
        if finding.code in codes:
            return True
        if finding.hadolint is not None:
            return finding.hadolint in codes
        registered = get_rule(finding.code)
        return registered is not None and any(code in codes for code in registered.hadolint)


def _codes(tool: str, text: str) -> set[str]:
    codes = {item.strip().upper() for item in re.split(r"[,\s]+", text) if item.strip()}
    if tool.lower() == "decruft":
        return {code for code in codes if not code.startswith("DL")}
    return {code for code in codes if code.startswith("DL")}


def collect(dockerfile: Dockerfile) -> Suppressions:
    result = Suppressions()
    if _MENTION.search(dockerfile.text) is None:  # fast path; pragmas are case-insensitive
        return result
    instruction_lines = sorted(ins.start_line for ins in dockerfile.instructions)
    for comment in dockerfile.comments():
        match = _PRAGMA.search(comment.text)
        if match is None:
            continue
        codes = _codes(match.group(1), match.group(3))
        if match.group(2):
            result.file_codes |= codes
        else:
            # A pragma applies to the next instruction.
            next_line = _next_instruction_line(instruction_lines, comment.line)
            if next_line is not None:
                result.by_line.setdefault(next_line, set()).update(codes)
    return result


def _next_instruction_line(lines: list[int], after: int) -> int | None:
    index = bisect.bisect_right(lines, after)
    return lines[index] if index < len(lines) else None
