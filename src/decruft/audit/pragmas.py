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

from decruft.audit.rule import hadolint_equivalents
from decruft.dockerfile.nodes import Dockerfile

_PRAGMA = re.compile(
    r"#\s*(decruft|hadolint)\s*:?\s*(global\s+)?ignore\s*=\s*([A-Za-z0-9_,\s]+)", re.IGNORECASE
)

_MENTION = re.compile(r"decruft|hadolint", re.IGNORECASE)


@dataclass(slots=True)
class Suppressions:
    file_codes: set[str] = field(default_factory=set)
    by_line: dict[int, set[str]] = field(default_factory=dict)  # instruction start line -> codes

    def suppressed(self, code: str, line: int) -> bool:
        return code in self.file_codes or code in self.by_line.get(line, ())


def _codes(tool: str, text: str, hadolint_map: dict[str, set[str]]) -> set[str]:
    codes = {item.strip().upper() for item in re.split(r"[,\s]+", text) if item.strip()}
    if tool.lower() == "decruft":
        return codes
    mapped: set[str] = set()
    for code in codes:
        mapped |= hadolint_map.get(code, set())
    return mapped


def collect(dockerfile: Dockerfile) -> Suppressions:
    result = Suppressions()
    if _MENTION.search(dockerfile.text) is None:  # fast path; pragmas are case-insensitive
        return result
    hadolint_map = hadolint_equivalents()
    instruction_lines = sorted(ins.start_line for ins in dockerfile.instructions)
    for comment in dockerfile.comments():
        match = _PRAGMA.search(comment.text)
        if match is None:
            continue
        codes = _codes(match.group(1), match.group(3), hadolint_map)
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
