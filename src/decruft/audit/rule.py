"""What a rule is: a code, a name, docs, a check function and an optional fix.

Each rule lives in its own module under ``decruft.audit.rules`` (one module per
code, like hadolint's ``Rule/DL3009.hs`` and ruff's rule files) and registers
itself with :func:`rule`.  A check receives a :class:`~decruft.audit.context.RuleContext`
and yields :class:`Finding` objects; it never prints and never touches the disk
except through the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from decruft.dockerfile.nodes import Instruction, Span

if TYPE_CHECKING:
    from decruft.audit.context import RuleContext


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]

    def lowered(self) -> "Severity":
        return Severity.WARNING if self is Severity.ERROR else Severity.INFO


class Applicability(str, Enum):
    SAFE = "safe"  # applied by `decruft fix`
    UNSAFE = "unsafe"  # applied only with --unsafe: may change behaviour; verify decides
    DISPLAY = "display"  # shown, never applied automatically


@dataclass(slots=True)
class Edit:
    """Replace ``text[span.start:span.end]`` with ``replacement``."""

    span: Span
    replacement: str


@dataclass(slots=True)
class Fix:
    description: str
    applicability: Applicability
    edits: list[Edit] = field(default_factory=list)
    file: str | None = None  # another file to write (e.g. ".dockerignore"); None: the Dockerfile


@dataclass(slots=True)
class Stake:
    """What a finding costs: bytes in the image or context, or build time."""

    bytes: int | None = None  # estimated or measured
    measured: bool = False  # True when counted on disk, False for a typical-size estimate
    rebuild: str | None = None  # e.g. "re-runs on every code change"
    note: str | None = None

    def describe(self) -> str:
        parts = []
        if self.bytes is not None:
            prefix = "" if self.measured else "~"
            parts.append(f"{prefix}{format_bytes(self.bytes)}" + ("" if self.measured else " typical"))
        if self.rebuild:
            parts.append(self.rebuild)
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)


def format_bytes(count: float) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover


@dataclass(slots=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    file: str | None
    span: Span | None  # exact region in the Dockerfile (None: whole file / context)
    line: int
    column: int
    end_line: int
    end_column: int
    stage: str | None = None
    stake: Stake | None = None
    fix: Fix | None = None
    notes: list[str] = field(default_factory=list)
    hadolint: str | None = None  # the one equivalent hadolint code, when the rule has several

    def sort_key(self) -> tuple:
        return (self.file or "", self.line, self.column, self.code)


CheckFunction = Callable[["RuleContext"], Iterable[Finding]]


@dataclass(slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    why: str
    bad: str
    good: str
    fix: str | None  # what the fix does, None when the rule has no fix
    applicability: Applicability | None
    check: CheckFunction
    hadolint: tuple[str, ...] = ()  # equivalent hadolint codes (pragmas honoured)
    category: str = "image"
    # Rules whose fix on the same instruction this rule's fix replaces (a cache mount makes
    # --no-cache-dir or a cache removal pointless: `fix` applies only the superseding one).
    supersedes: tuple[str, ...] = ()

    def run(self, context: "RuleContext") -> Iterator[Finding]:
        yield from self.check(context)


REGISTRY: dict[str, Rule] = {}


def rule(
    *,
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    why: str,
    bad: str,
    good: str,
    fix: str | None = None,
    applicability: Applicability | None = None,
    hadolint: tuple[str, ...] = (),
    category: str = "image",
    supersedes: tuple[str, ...] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated check function as a rule."""

    def register(check: CheckFunction) -> CheckFunction:
        if code in REGISTRY:
            raise ValueError(f"rule code {code} registered twice")
        REGISTRY[code] = Rule(
            code=code,
            name=name,
            severity=severity,
            summary=summary,
            why=why.strip(),
            bad=bad.strip("\n"),
            good=good.strip("\n"),
            fix=fix,
            applicability=applicability,
            check=check,
            hadolint=hadolint,
            category=category,
            supersedes=supersedes,
        )
        check.rule_code = code  # type: ignore[attr-defined]
        _SORTED.clear()
        _SELECTIONS.clear()
        return check

    return register


_SORTED: list[Rule] = []
# (select, ignore) -> the rules they keep; every audited file asks, so it is computed once.
_SELECTIONS: dict[tuple[tuple[str, ...] | None, tuple[str, ...]], list[Rule]] = {}


def code_selected(code: str, select: Sequence[str] | None, ignore: Sequence[str]) -> bool:
    """``select``/``ignore`` are codes or prefixes (``DC1``); None selects everything."""
    if select is not None and not any(code.startswith(prefix) for prefix in select):
        return False
    return not any(code.startswith(prefix) for prefix in ignore)


def selected_rules(select: Sequence[str] | None, ignore: Sequence[str]) -> list[Rule]:
    key = (tuple(select) if select is not None else None, tuple(ignore))
    rules = _SELECTIONS.get(key)
    if rules is None:
        rules = _SELECTIONS[key] = [r for r in all_rules() if code_selected(r.code, select, ignore)]
    return rules


def all_rules() -> list[Rule]:
    if not _SORTED:
        from decruft.audit import rules  # noqa: F401 - imports register every rule

        _SORTED.extend(REGISTRY[code] for code in sorted(REGISTRY))
    return _SORTED


def get_rule(code: str) -> Rule | None:
    if not _SORTED:
        all_rules()
    return REGISTRY.get(code)


def instruction_region(instruction: Instruction) -> Span:
    """The span used to report a whole instruction (its first line to its end)."""
    return Span(instruction.keyword_span.start, instruction.span.end)
