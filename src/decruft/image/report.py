"""Reports for ``decruft inspect`` and ``decruft diff``: rich text, JSON, and the CI gate.

JSON of ``decruft inspect --format json`` (schema ``decruft.inspect/1``; sizes are bytes,
layer indexes count from 0 = bottom)::

    {
      "schema": "decruft.inspect/1",
      "reference": str, "source": "archive"|"oci-layout"|"daemon"|"registry", "platform": str|null,
      "size_bytes": int,          # regular-file bytes of all layers (dive's "image size")
      "final_bytes": int,         # regular-file bytes visible in the final filesystem
      "final_files": int,         # non-directory paths in the final filesystem
      "tar_bytes": int, "compressed_bytes": int|null,
      "reclaimable_bytes": int,   # bytes in layers the final image cannot see (sum of "waste")
      "layers": [{
        "index": int, "diff_id": str,
        "created_by": str,        # shortened instruction ("RUN apt-get ...", "COPY . /app")
        "created_by_full": str|null,
        "size_bytes": int, "tar_bytes": int, "compressed_bytes": int|null,
        "files": int,             # non-directory, non-whiteout entries
        "dirs": int, "whiteouts": int, "opaque_whiteouts": int,
        "added":    {"paths": int, "bytes": int},   # non-directory paths new to the image
        "modified": {"paths": int, "bytes": int},   # ... that a lower layer already had
        "deleted":  {"paths": int, "bytes": int},   # lower non-directory paths whited out
        "wasted_bytes": int,      # bytes written here that later layers hide
        "hidden_bytes": int       # bytes of lower layers this layer hides
      }],
      "waste": {
        "by_kind": {"overwritten"|"metadata-only"|"identical"|"deleted"|"opaque"|"replaced": int},
        "top": [{"path": str, "kind": str, "bytes": int, "files": int,
                 "written_by": int, "hidden_by": int}],     # dirs end with "/"
        "matrix": [{"written_by": int, "hidden_by": int, "bytes": int}]
      },
      "cruft": {
        "bytes": int, "files": int,                          # informational classes excluded
        "by_category": {category: int},
        "classes": [{"id": str, "title": str, "category": str, "informational": bool,
                     "bytes": int, "files": int, "why": str, "fix": str,
                     "top": [{"path": str, "bytes": int, "files": int}],   # dirs end with "/"
                     "largest_files": [{"path": str, "bytes": int}]}]
      },
      "duplicates": {
        "method": "digest"|"size+name",  # size+name = *possible* duplicates, contents not compared
        "exact": bool, "min_size": int, "bytes": int, "groups_total": int,
        "groups": [{"size": int, "copies": int, "wasted_bytes": int, "digest": str|null,
                    "paths": [str]}]
      },
      "efficiency": float, "wasted_bytes": int, "user_wasted_percent": float|null,  # with --dive-compatible
      "dive": {"efficiency": float, "wasted_bytes": int, "user_wasted_percent": float|null,
               "size_bytes": int, "user_size_bytes": int,
               "inefficient_files": [{"path": str, "count": int, "bytes": int}],
               "aborted_layers": [int]},                                          # with --dive-compatible
      "gate": {"passed": bool, "rules": [{"rule": str, "source": str, "metric": str, "value": number|null,
               "threshold": number, "failed": bool, "message": str}],
               "skipped": [str]},                                                 # with --fail-on/--dive-ci
      "warnings": [str]
    }

``user_wasted_percent`` is a ratio (0.1 = 10 %, as in dive) and ``null`` when the image has no
bytes above its first layer (dive prints NaN or +Inf there).

JSON of ``decruft diff --format json`` (schema ``decruft.diff/1``)::

    {"schema": "decruft.diff/1",
     "a": {"reference", "size_bytes", "final_bytes", "layers": int, "reclaimable_bytes", "cruft_bytes"},
     "b": {... same ...},
     "layers": [{"index", "a": {"size_bytes", "diff_id", "created_by"}|null, "b": ...|null, "shared": bool}],
     "shared_layers": int,
     "top_dirs": [{"dir", "a_bytes", "b_bytes", "delta"}],
     "files": {"added": {"count", "bytes", "top": [{"path", "bytes"}]},
               "removed": {"count", "bytes", "top": [...]},
               "changed": {"count", "top": [{"path", "a_bytes", "b_bytes", "what"}]}},
     "cruft": [{"id", "title", "a_bytes", "b_bytes", "delta"}],
     "packages": [{"ecosystem", "source_a", "source_b", "added": [{"name", "versions"}],
                   "removed": [...], "changed": [{"name", "a", "b"}]}],
     "warnings": [str]}

The CI gate (``--fail-on``): ``METRIC OP VALUE``, OP one of ``> >= < <=``; the rule *fails* when
the comparison is true (``reclaimable>20MB`` fails above 20 MB).  Metrics: ``reclaimable``,
``cruft``, ``cruft.<class id or category>``, ``duplicates``, ``size``, ``final-size`` (bytes);
``layers``, ``secrets`` (counts); ``efficiency``, ``wasted``, ``user-wasted-percent`` (dive's
figures).  Byte values use go-humanize's units like dive (``20MB`` = 20,000,000, ``20MiB`` =
20,971,520, plain numbers are bytes); ratios accept ``0.1`` or ``10%``.  ``--dive-ci FILE`` reads
dive's ``.dive-ci`` (``rules: {lowestEfficiency, highestWastedBytes, highestUserWastedPercent}``,
missing keys default to 0.9 / disabled / 0.1, exactly ``disabled`` switches a rule off, values
out of range are configuration errors), with dive's strict comparisons.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from typing import TYPE_CHECKING

from decruft.errors import DecruftError

if TYPE_CHECKING:  # the text renderers import rich's tables lazily; JSON needs none of it
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from decruft.image.analysis import Analysis
    from decruft.image.diff import ImageDiff

INSPECT_SCHEMA = "decruft.inspect/1"
DIFF_SCHEMA = "decruft.diff/1"


# --------------------------------------------------------------------------- sizes


def format_bytes(value: int | float | None) -> str:
    """Decimal units like ``docker images`` (1 MB = 1,000,000 bytes)."""
    if value is None:
        return "-"
    value = float(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            if unit == "B":
                return f"{sign}{int(value)} B"
            return f"{sign}{value:.1f} {unit}"
        value /= 1000
    return f"{sign}{value:.1f} TB"  # pragma: no cover


_HUMANIZE_UNITS = {
    "b": 1, "": 1,
    "kib": 1 << 10, "kb": 1000, "ki": 1 << 10, "k": 1000,
    "mib": 1 << 20, "mb": 1000**2, "mi": 1 << 20, "m": 1000**2,
    "gib": 1 << 30, "gb": 1000**3, "gi": 1 << 30, "g": 1000**3,
    "tib": 1 << 40, "tb": 1000**4, "ti": 1 << 40, "t": 1000**4,
    "pib": 1 << 50, "pb": 1000**5, "pi": 1 << 50, "p": 1000**5,
    "eib": 1 << 60, "eb": 1000**6, "ei": 1 << 60, "e": 1000**6,
}  # fmt: skip


def parse_bytes(text: str) -> int:
    """go-humanize's ``ParseBytes`` (what dive uses for ``highestWastedBytes``).

    Leading digits, dots and commas form the number (commas dropped); the rest, trimmed and
    lower-cased, must be a unit of ``_HUMANIZE_UNITS``; the product is truncated to an integer.
    """
    end = 0
    while end < len(text) and (text[end].isdigit() or text[end] in ".,"):
        end += 1
    number = text[:end].replace(",", "")
    try:
        if not re.fullmatch(r"\d*\.?\d*", number) or number in ("", "."):
            raise ValueError
        value = float(number)
    except ValueError:
        raise ValueError(f"invalid size {text!r}") from None
    unit = text[end:].strip().lower()
    if unit not in _HUMANIZE_UNITS:
        raise ValueError(f"unhandled size name: {unit!r} in {text!r}")
    result = value * _HUMANIZE_UNITS[unit]
    if result >= 2**64:
        raise ValueError(f"too large: {text!r}")
    return int(result)


_GO_FLOAT = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE)


def _go_float(text: str) -> float:
    """strconv.ParseFloat for decimal text (no surrounding spaces, no hex, no underscores)."""
    if not _GO_FLOAT.fullmatch(text):
        raise ValueError(f"strconv.ParseFloat: parsing {text!r}: invalid syntax")
    return float(text)


# --------------------------------------------------------------------------- the gate


class GateConfigError(DecruftError):
    """A --fail-on expression or a .dive-ci file that cannot be used."""


BYTE_METRICS = ("reclaimable", "cruft", "duplicates", "size", "final-size", "wasted")
COUNT_METRICS = ("layers", "secrets")
RATIO_METRICS = ("efficiency", "user-wasted-percent")
DIVE_METRICS = ("efficiency", "wasted", "user-wasted-percent")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
_RULE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*(>=|<=|>|<)\s*(\S.*?)\s*$")


@dataclass(frozen=True)
class GateRule:
    text: str
    metric: str  # "cruft.apt-lists" etc.
    op: str
    threshold: float
    source: str = "--fail-on"

    @property
    def needs_dive(self) -> bool:
        return self.metric in DIVE_METRICS


@dataclass
class RuleOutcome:
    rule: GateRule
    value: float | None
    failed: bool
    message: str


@dataclass
class GateResult:
    outcomes: list[RuleOutcome]
    skipped: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(outcome.failed for outcome in self.outcomes)

    @property
    def failures(self) -> list[RuleOutcome]:
        return [outcome for outcome in self.outcomes if outcome.failed]


def _metric_kind(metric: str, known_cruft: set[str] | None) -> str:
    if metric.startswith("cruft."):
        name = metric[len("cruft.") :]
        if known_cruft is not None and name not in known_cruft:
            raise GateConfigError(f"unknown cruft class or category {name!r} in --fail-on (see `decruft inspect --format json`)")
        return "bytes"
    if metric in BYTE_METRICS:
        return "bytes"
    if metric in COUNT_METRICS:
        return "count"
    if metric in RATIO_METRICS:
        return "ratio"
    known = ", ".join(BYTE_METRICS + COUNT_METRICS + RATIO_METRICS + ("cruft.<class>",))
    raise GateConfigError(f"unknown metric {metric!r} (known: {known})")


def parse_rule(text: str, *, known_cruft: set[str] | None = None) -> GateRule:
    """``reclaimable>20MB``, ``cruft.apt-lists>0``, ``efficiency<0.95``, ``user-wasted-percent>10%``."""
    match = _RULE.match(text)
    if not match:
        raise GateConfigError(f"cannot read --fail-on {text!r}: expected METRIC>VALUE, e.g. reclaimable>20MB")
    metric, op, raw = match.group(1).lower(), match.group(2), match.group(3)
    kind = _metric_kind(metric, known_cruft)
    try:
        if kind == "bytes":
            threshold: float = parse_bytes(raw)
        elif kind == "count":
            threshold = int(raw)
        elif raw.endswith("%"):
            threshold = _go_float(raw[:-1].strip()) / 100
        else:
            threshold = _go_float(raw)
    except ValueError as exc:
        raise GateConfigError(f"--fail-on {text!r}: {exc}") from None
    return GateRule(text.strip(), metric, op, threshold)


def parse_rules(texts: list[str] | tuple[str, ...], *, known_cruft: set[str] | None = None) -> list[GateRule]:
    rules = []
    for text in texts:
        for part in text.split(","):
            if part.strip():
                rules.append(parse_rule(part, known_cruft=known_cruft))
    return rules


DIVE_CI_DEFAULTS = {"lowestEfficiency": "0.9", "highestWastedBytes": "disabled", "highestUserWastedPercent": "0.1"}


def _yaml_scalar(raw: str) -> str:
    """A YAML scalar as viper's GetString sees it: quotes removed, comments dropped, floats
    re-printed (``0.90`` -> ``0.9``), ``true``/``false`` kept as words."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        while quote == "'" and end >= 0 and raw[end + 1 : end + 2] == "'":
            end = raw.find(quote, end + 2)
        if end < 0:
            raise GateConfigError(f"unterminated quoted value {raw!r} in .dive-ci")
        value = raw[1:end]
        return value.replace("''", "'") if quote == "'" else value
    value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
    if value in ("~", "null", "Null", "NULL"):
        return ""
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", value) and not re.fullmatch(r"[-+]?\d+", value):
        number = float(value)
        text = repr(number)
        if "e" in text or "E" in text:
            text = format(number, "f").rstrip("0").rstrip(".") or "0"
        return text[:-2] if text.endswith(".0") else text
    if re.fullmatch(r"[-+]?\d+", value):
        return str(int(value))
    if value in ("true", "True", "TRUE"):
        return "true"
    if value in ("false", "False", "FALSE"):
        return "false"
    return value


def read_dive_ci_values(text: str) -> dict[str, str]:
    """The three rule values of a ``.dive-ci`` file (defaults filled in), as dive sees them.

    Understands the YAML dive's files use: a top-level ``rules:`` mapping in block style
    (``  lowestEfficiency: 0.95``) or flow style (``rules: {lowestEfficiency: 0.95}``),
    comments, quoted values.  Keys match case-insensitively (viper lower-cases them).
    """
    values: dict[str, str] = {}
    lines = text.splitlines()
    in_rules = False
    rules_indent = -1
    for raw in lines:
        line = raw.rstrip()
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        indent = len(line) - len(stripped)
        key, sep, rest = stripped.partition(":")
        if indent == 0:
            in_rules = False
            if sep and key.strip().lower() == "rules":
                rest = rest.strip()
                if rest.startswith("{"):
                    body = rest[1 : rest.rfind("}")] if "}" in rest else rest[1:]
                    for item in body.split(","):
                        k, s, v = item.partition(":")
                        if s:
                            values[k.strip().strip("'\"").lower()] = _yaml_scalar(v)
                elif not rest or rest.startswith("#"):
                    in_rules = True
                    rules_indent = -1
            continue
        if in_rules and sep:
            if rules_indent < 0:
                rules_indent = indent
            if indent == rules_indent:
                values[key.strip().strip("'\"").lower()] = _yaml_scalar(rest)
    result = {}
    for name, default in DIVE_CI_DEFAULTS.items():
        result[name] = values.get(name.lower(), default)
    return result


def parse_dive_ci(text: str) -> tuple[list[GateRule], list[str]]:
    """Rules of a ``.dive-ci`` file with dive 0.13.1's validation; returns (rules, disabled).

    Raises :class:`GateConfigError` listing every misconfigured rule (dive prints
    "CI Misconfigured" and exits 1 in that case).
    """
    values = read_dive_ci_values(text)
    rules: list[GateRule] = []
    disabled: list[str] = []
    errors: list[str] = []
    for name, value in values.items():
        if value == "disabled":
            disabled.append(name)
            continue
        try:
            if name == "highestWastedBytes":
                rules.append(GateRule(f"{name}: {value}", "wasted", ">", parse_bytes(value), ".dive-ci"))
                continue
            number = _go_float(value)
        except ValueError as exc:
            errors.append(f"{name}: invalid config value ({value!r}): {exc}")
            continue
        if number < 0 or number > 1:
            errors.append(f"{name} config value is outside allowed range (0-1), given {value!r}")
            continue
        if name == "lowestEfficiency":
            rules.append(GateRule(f"{name}: {value}", "efficiency", "<", number, ".dive-ci"))
        else:
            rules.append(GateRule(f"{name}: {value}", "user-wasted-percent", ">", number, ".dive-ci"))
    if errors:
        raise GateConfigError("CI misconfigured (.dive-ci): " + "; ".join(errors))
    return rules, disabled


def metric_value(analysis: Analysis, metric: str) -> float | None:
    if metric == "reclaimable":
        return analysis.reclaimable_bytes
    if metric == "cruft":
        return analysis.cruft.bytes
    if metric.startswith("cruft."):
        return analysis.cruft.bytes_of(metric[len("cruft.") :])
    if metric == "duplicates":
        return analysis.duplicates.bytes
    if metric == "size":
        return analysis.size_bytes
    if metric == "final-size":
        return analysis.final_bytes
    if metric == "layers":
        return len(analysis.layers)
    if metric == "secrets":
        return sum(r.files for r in analysis.cruft.results if r.cls.category == "secret")
    if metric in DIVE_METRICS:
        if analysis.dive is None:
            raise GateConfigError(f"{metric} needs the dive-compatible figures")
        if metric == "efficiency":
            return analysis.dive.efficiency
        if metric == "wasted":
            return analysis.dive.wasted_bytes
        return analysis.dive.user_wasted_percent
    raise GateConfigError(f"unknown metric {metric!r}")  # pragma: no cover - parse_rule rejects it


def _show(metric: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if metric in RATIO_METRICS:
        return f"{value:.4f}" if math.isfinite(value) else "+Inf"
    if metric in COUNT_METRICS:
        return str(int(value))
    return format_bytes(value)


def evaluate_gate(analysis: Analysis, rules: list[GateRule], skipped: list[str] | None = None) -> GateResult:
    outcomes = []
    for rule in rules:
        value = metric_value(analysis, rule.metric)
        failed = bool(_OPS[rule.op](value, rule.threshold)) if value is not None else False
        relation = rule.op if failed else {">": "<=", ">=": "<", "<": ">=", "<=": ">"}[rule.op]
        if isinstance(value, float) and math.isnan(value):
            relation = "is NaN, not comparable to"
        message = f"{rule.metric} = {_show(rule.metric, value)} {relation} {_show(rule.metric, rule.threshold)}"
        outcomes.append(RuleOutcome(rule, value, failed, message))
    return GateResult(outcomes, list(skipped or []))


# --------------------------------------------------------------------------- JSON


def _num(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def inspect_dict(analysis: Analysis, *, top: int = 20, gate: GateResult | None = None) -> dict[str, Any]:
    image = analysis.image
    data: dict[str, Any] = {
        "schema": INSPECT_SCHEMA,
        "reference": image.reference,
        "source": image.source,
        "platform": image.platform,
        "size_bytes": analysis.size_bytes,
        "final_bytes": analysis.final_bytes,
        "final_files": analysis.final_files,
        "tar_bytes": analysis.tar_bytes,
        "compressed_bytes": analysis.compressed_bytes,
        "reclaimable_bytes": analysis.reclaimable_bytes,
        "layers": [
            {
                "index": st.index,
                "diff_id": st.diff_id,
                "created_by": st.created_by,
                "created_by_full": st.created_by_full,
                "size_bytes": st.size_bytes,
                "tar_bytes": st.tar_bytes,
                "compressed_bytes": st.compressed_bytes,
                "files": st.files,
                "dirs": st.dirs,
                "whiteouts": st.whiteouts,
                "opaque_whiteouts": st.opaque_whiteouts,
                "added": {"paths": st.added.paths, "bytes": st.added.bytes},
                "modified": {"paths": st.modified.paths, "bytes": st.modified.bytes},
                "deleted": {"paths": st.deleted.paths, "bytes": st.deleted.bytes},
                "wasted_bytes": st.wasted_bytes,
                "hidden_bytes": st.hidden_bytes,
            }
            for st in analysis.layers
        ],
        "waste": {
            "by_kind": dict(analysis.waste_by_kind),
            "top": [
                {
                    "path": group.path,
                    "kind": group.kind,
                    "bytes": group.bytes,
                    "files": group.files,
                    "written_by": group.written_by,
                    "hidden_by": group.hidden_by,
                }
                for group in analysis.top_waste(top)
            ],
            "matrix": [
                {"written_by": w, "hidden_by": h, "bytes": b}
                for (w, h), b in sorted(analysis.waste_matrix.items())
            ],
        },
        "cruft": {
            "bytes": analysis.cruft.bytes,
            "files": analysis.cruft.files,
            "by_category": analysis.cruft.by_category(),
            "classes": [
                {
                    "id": result.cls.id,
                    "title": result.cls.title,
                    "category": result.cls.category,
                    "informational": result.cls.informational,
                    "bytes": result.bytes,
                    "files": result.files,
                    "why": result.cls.why,
                    "fix": result.cls.fix,
                    "top": [{"path": p, "bytes": b, "files": n} for p, b, n in result.top_roots(top)],
                    "largest_files": [{"path": p, "bytes": b} for p, b in result.top_files(min(top, 10))],
                }
                for result in analysis.cruft.results
            ],
        },
        "duplicates": {
            "method": analysis.duplicates.method,
            "exact": analysis.duplicates.exact,
            "min_size": analysis.duplicates.min_size,
            "bytes": analysis.duplicates.bytes,
            "groups_total": len(analysis.duplicates.groups),
            "groups": [
                {
                    "size": group.size,
                    "copies": len(group.paths),
                    "wasted_bytes": group.wasted_bytes,
                    "digest": group.digest,
                    "paths": group.paths[:20],
                }
                for group in analysis.duplicates.groups[:top]
            ],
        },
    }
    if analysis.dive is not None:
        dive = analysis.dive
        data["efficiency"] = dive.efficiency
        data["wasted_bytes"] = dive.wasted_bytes
        data["user_wasted_percent"] = _num(dive.user_wasted_percent)
        data["dive"] = {
            "efficiency": dive.efficiency,
            "wasted_bytes": dive.wasted_bytes,
            "user_wasted_percent": _num(dive.user_wasted_percent),
            "size_bytes": dive.size_bytes,
            "user_size_bytes": dive.user_size_bytes,
            "inefficient_files": [{"path": p, "count": n, "bytes": b} for p, n, b in dive.inefficient_files[:top]],
            "aborted_layers": dive.aborted_layers,
        }
    if gate is not None:
        data["gate"] = gate_dict(gate)
    data["warnings"] = list(analysis.warnings)
    return data


def gate_dict(gate: GateResult) -> dict[str, Any]:
    return {
        "passed": gate.passed,
        "rules": [
            {
                "rule": o.rule.text,
                "source": o.rule.source,
                "metric": o.rule.metric,
                "value": _num(o.value),
                "threshold": o.rule.threshold,
                "failed": o.failed,
                "message": o.message,
            }
            for o in gate.outcomes
        ],
        "skipped": gate.skipped,
    }


def diff_dict(diff: ImageDiff, *, top: int = 20) -> dict[str, Any]:
    def side(analysis: Analysis) -> dict[str, Any]:
        return {
            "reference": analysis.image.reference,
            "size_bytes": analysis.size_bytes,
            "final_bytes": analysis.final_bytes,
            "layers": len(analysis.layers),
            "reclaimable_bytes": analysis.reclaimable_bytes,
            "cruft_bytes": analysis.cruft.bytes,
        }

    def layer(values):
        return None if values is None else {"size_bytes": values[0], "diff_id": values[1], "created_by": values[2]}

    return {
        "schema": DIFF_SCHEMA,
        "a": side(diff.a),
        "b": side(diff.b),
        "layers": [{"index": p.index, "a": layer(p.a), "b": layer(p.b), "shared": p.shared} for p in diff.layers],
        "shared_layers": diff.shared_layers,
        "top_dirs": [{"dir": d, "a_bytes": a, "b_bytes": b, "delta": b - a} for d, a, b in diff.top_dirs],
        "files": {
            "added": {
                "count": len(diff.added),
                "bytes": diff.added_bytes,
                "top": [{"path": c.path, "bytes": c.size_b} for c in diff.added[:top]],
            },
            "removed": {
                "count": len(diff.removed),
                "bytes": diff.removed_bytes,
                "top": [{"path": c.path, "bytes": c.size_a} for c in diff.removed[:top]],
            },
            "changed": {
                "count": len(diff.changed),
                "top": [{"path": c.path, "a_bytes": c.size_a, "b_bytes": c.size_b, "what": c.what} for c in diff.changed[:top]],
            },
        },
        "cruft": [{"id": i, "title": t, "a_bytes": a, "b_bytes": b, "delta": b - a} for i, t, a, b in diff.cruft],
        "packages": [
            {
                "ecosystem": p.ecosystem,
                "source_a": p.source_a,
                "source_b": p.source_b,
                "added": [{"name": n, "versions": v} for n, v in p.added],
                "removed": [{"name": n, "versions": v} for n, v in p.removed],
                "changed": [{"name": n, "a": a, "b": b} for n, a, b in p.changed],
            }
            for p in diff.packages
        ],
        "warnings": list(diff.a.warnings) + list(diff.b.warnings),
    }


# --------------------------------------------------------------------------- text


def _table(title: str | None) -> Table:
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def _percent(part: int | float, whole: int | float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _bar(size: int, wasted: int, largest: int, width: int = 16) -> Text:
    from rich.text import Text

    if largest <= 0:
        return Text("")
    cells = max(1 if size else 0, round(width * size / largest))
    waste_cells = min(cells, round(width * wasted / largest)) if wasted else 0
    if wasted and not waste_cells:
        waste_cells = 1 if cells else 0
    text = Text("█" * (cells - waste_cells), style="green")
    text.append("█" * waste_cells, style="red")
    return text


def _layer_label(analysis: Analysis, index: int) -> str:
    if 0 <= index < len(analysis.layers):
        return f"#{index}"
    return "?"


def print_inspect(analysis: Analysis, console: Console, *, top: int = 10, gate: GateResult | None = None) -> None:
    from rich.markup import escape
    from rich.text import Text

    image = analysis.image
    where = ", ".join(x for x in (image.source, image.platform) if x)
    console.print(f"[bold]{escape(image.reference)}[/]  ({escape(where)}, {len(analysis.layers)} layers)")
    compressed = analysis.compressed_bytes
    summary = (
        f"layers hold {format_bytes(analysis.size_bytes)}"
        + (f" ({format_bytes(compressed)} compressed)" if compressed and compressed < analysis.tar_bytes else "")
        + f"; the final filesystem shows {format_bytes(analysis.final_bytes)} in {analysis.final_files:,} files"
    )
    console.print(summary)
    reclaim_style = "bold red" if analysis.reclaimable_bytes else "bold green"
    console.print(
        f"reclaimable: [{reclaim_style}]{format_bytes(analysis.reclaimable_bytes)}[/] "
        f"({_percent(analysis.reclaimable_bytes, analysis.size_bytes)} of the layers) hidden by later layers; "
        f"cruft in the final image: [bold]{format_bytes(analysis.cruft.bytes)}[/]"
        + (
            f"; {'duplicates' if analysis.duplicates.exact else 'possible duplicates'}: "
            f"{format_bytes(analysis.duplicates.bytes)}"
            if analysis.duplicates.bytes
            else ""
        )
    )

    largest = max((st.size_bytes for st in analysis.layers), default=0)
    rows = [
        [
            str(st.index),
            format_bytes(st.size_bytes),
            _bar(st.size_bytes, st.wasted_bytes, largest),
            f"{st.files:,}",
            f"{st.added.paths:,}" if st.added.paths else "",
            f"{st.modified.paths:,}" if st.modified.paths else "",
            f"{st.deleted.paths:,}" if st.deleted.paths else "",
            Text(format_bytes(st.hidden_bytes), style="red") if st.hidden_bytes else "",
            Text(st.created_by or "(no history)"),
        ]
        for st in analysis.layers
    ]
    table = _table("Layers")
    headers = ("#", "size", "", "files", "+new", "~mod", "-del", "hides")
    used = 0
    for column, name in enumerate(headers):
        width = max([len(name)] + [len(row[column]) if isinstance(row[column], str) else row[column].cell_len for row in rows])
        table.add_column(name, justify="left" if column == 2 else "right", no_wrap=True, min_width=width)
        used += width + 2
    table.add_column("instruction", overflow="ellipsis", no_wrap=True, max_width=max(20, console.width - used - 2))
    for row in rows:
        table.add_row(*row)
    console.print()
    console.print(table)
    console.print(
        "[dim]bar: green = bytes still visible at the end, red = bytes a later layer hides; "
        "hides = bytes of lower layers this layer overwrites or deletes[/]"
    )

    if analysis.waste_groups:
        kinds = ", ".join(f"{kind} {format_bytes(value)}" for kind, value in analysis.waste_by_kind.items() if value)
        waste = _table(f"Top wasted paths ({kinds})")
        waste.add_column("bytes", justify="right")
        waste.add_column("files", justify="right")
        waste.add_column("kind")
        waste.add_column("path", overflow="fold")
        waste.add_column("written by → hidden by", overflow="ellipsis", no_wrap=True, max_width=80)
        for group in analysis.top_waste(top):
            writer = analysis.layers[group.written_by].created_by or "(no history)"
            hider = analysis.layers[group.hidden_by].created_by or "(no history)"
            waste.add_row(
                format_bytes(group.bytes),
                f"{group.files:,}",
                group.kind,
                Text("/" + group.path),
                Text(f"#{group.written_by} {writer[:36]} → #{group.hidden_by} {hider[:36]}"),
            )
        console.print()
        console.print(waste)

    results = analysis.cruft.results
    if results:
        cruft = _table(
            f"Cruft in the final image ({format_bytes(analysis.cruft.bytes)}, "
            f"{_percent(analysis.cruft.bytes, analysis.final_bytes)} of the final filesystem)"
        )
        cruft.add_column("class")
        cruft.add_column("bytes", justify="right")
        cruft.add_column("files", justify="right")
        cruft.add_column("top paths", overflow="fold")
        for result in results:
            name = Text(result.cls.id, style="dim" if result.cls.informational else ("bold red" if result.cls.category == "secret" else ""))
            if result.cls.informational:
                name.append(" (info)")
            paths = ", ".join(f"/{p} {format_bytes(b)}" for p, b, _ in result.top_roots(3))
            cruft.add_row(name, format_bytes(result.bytes), f"{result.files:,}", Text(paths))
        console.print()
        console.print(cruft)

    dups = analysis.duplicates
    if dups.groups:
        label = "Duplicate content" if dups.exact else "Possible duplicates (same size and name; contents not compared -- use --hash)"
        table = _table(f"{label}: {format_bytes(dups.bytes)} in {len(dups.groups):,} groups")
        table.add_column("wasted", justify="right")
        table.add_column("copies", justify="right")
        table.add_column("paths", overflow="fold")
        for group in dups.groups[: min(top, 5)]:
            shown = ", ".join("/" + p for p in group.paths[:3]) + (" ..." if len(group.paths) > 3 else "")
            table.add_row(format_bytes(group.wasted_bytes), str(len(group.paths)), Text(shown))
        console.print()
        console.print(table)

    if analysis.dive is not None:
        dive = analysis.dive
        percent = dive.user_wasted_percent
        shown = "NaN" if math.isnan(percent) else ("+Inf" if math.isinf(percent) else f"{100 * percent:.4f} %")
        console.print()
        console.print(
            f"[bold]dive-compatible[/]: efficiency {100 * dive.efficiency:.4f} %, wastedBytes {dive.wasted_bytes:,} "
            f"({format_bytes(dive.wasted_bytes)}), userWastedPercent {shown}"
        )
        if dive.aborted_layers:
            console.print(
                f"[dim]dive stops counting layer(s) {', '.join(map(str, dive.aborted_layers))} at a whiteout of a "
                "missing path; the figures reproduce that[/]"
            )

    for warning in analysis.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if gate is not None:
        print_gate(gate, console)


def print_gate(gate: GateResult, console: Console) -> None:
    from rich.markup import escape

    console.print()
    for outcome in gate.outcomes:
        status = "[bold red]FAIL[/]" if outcome.failed else "[green]PASS[/]"
        console.print(f"{status} {escape(outcome.rule.text)}  ({escape(outcome.message)})")
    for name in gate.skipped:
        console.print(f"[dim]SKIP {escape(name)} (disabled)[/]")
    if gate.passed:
        console.print("[bold green]gate passed[/]")
    else:
        failed = ", ".join(o.rule.text for o in gate.failures)
        console.print(f"[bold red]gate failed:[/] {escape(failed)}")


def print_diff(diff: ImageDiff, console: Console, *, top: int = 10) -> None:
    from rich.markup import escape

    from rich.text import Text

    a, b = diff.a, diff.b
    console.print(f"[bold]A[/] {escape(a.image.reference)}  →  [bold]B[/] {escape(b.image.reference)}")
    overview = _table(None)
    overview.add_column("")
    overview.add_column("A", justify="right")
    overview.add_column("B", justify="right")
    overview.add_column("change", justify="right")
    for label, va, vb in (
        ("layer bytes", a.size_bytes, b.size_bytes),
        ("final filesystem", a.final_bytes, b.final_bytes),
        ("reclaimable", a.reclaimable_bytes, b.reclaimable_bytes),
        ("cruft", a.cruft.bytes, b.cruft.bytes),
    ):
        overview.add_row(label, format_bytes(va), format_bytes(vb), _delta(va, vb))
    overview.add_row("layers", str(len(a.layers)), str(len(b.layers)), f"{len(b.layers) - len(a.layers):+d}")
    console.print(overview)
    console.print(f"[dim]{diff.shared_layers} bottom layer(s) are identical (same DiffID)[/]")

    layers = _table("Layers")
    layers.add_column("#", justify="right")
    layers.add_column("A", justify="right")
    layers.add_column("B", justify="right")
    layers.add_column("", no_wrap=True)
    layers.add_column("instruction (B, or A)", overflow="ellipsis", no_wrap=True, max_width=70)
    for pair in diff.layers:
        mark = "=" if pair.shared else ""
        instruction = (pair.b or pair.a)[2]  # type: ignore[index]
        layers.add_row(
            str(pair.index),
            format_bytes(pair.a[0]) if pair.a else "",
            format_bytes(pair.b[0]) if pair.b else "",
            mark,
            Text(instruction),
        )
    console.print()
    console.print(layers)

    dirs = _table("Bytes per top-level directory")
    dirs.add_column("dir")
    dirs.add_column("A", justify="right")
    dirs.add_column("B", justify="right")
    dirs.add_column("change", justify="right")
    for name, va, vb in diff.top_dirs[:top]:
        if va == vb:
            continue
        dirs.add_row(Text("/" + name.rstrip("/") if name != "/" else "/ (files at the root)"), format_bytes(va), format_bytes(vb), _delta(va, vb))
    console.print()
    console.print(dirs)

    console.print()
    console.print(
        f"files: [green]+{len(diff.added):,}[/] added ({format_bytes(diff.added_bytes)}), "
        f"[red]-{len(diff.removed):,}[/] removed ({format_bytes(diff.removed_bytes)}), "
        f"[yellow]~{len(diff.changed):,}[/] changed"
    )
    for sign, changes, style in (("+", diff.added, "green"), ("-", diff.removed, "red")):
        for change in changes[: min(top, 5)]:
            size = change.size_b if sign == "+" else change.size_a
            console.print(f"  [{style}]{sign}[/] /{escape(change.path)}  {format_bytes(size)}")
    for change in diff.changed[: min(top, 5)]:
        console.print(
            f"  [yellow]~[/] /{escape(change.path)}  {format_bytes(change.size_a)} → {format_bytes(change.size_b)} ({change.what})"
        )

    if diff.cruft:
        cruft = _table("Cruft classes")
        cruft.add_column("class")
        cruft.add_column("A", justify="right")
        cruft.add_column("B", justify="right")
        cruft.add_column("change", justify="right")
        for cid, _title, va, vb in diff.cruft:
            cruft.add_row(cid, format_bytes(va), format_bytes(vb), _delta(va, vb))
        console.print()
        console.print(cruft)

    for changes in diff.packages:
        if not (changes.added or changes.removed or changes.changed):
            console.print(f"\n[bold]{changes.ecosystem}[/] packages: no change")
            continue
        console.print(
            f"\n[bold]{changes.ecosystem}[/] packages: +{len(changes.added)} -{len(changes.removed)} ~{len(changes.changed)}"
            f"  [dim](A: {escape(changes.source_a)}; B: {escape(changes.source_b)})[/]"
        )
        for name, versions in changes.added[:top]:
            console.print(f"  [green]+[/] {escape(name)} {escape(' '.join(v for v in versions if v))}")
        for name, versions in changes.removed[:top]:
            console.print(f"  [red]-[/] {escape(name)} {escape(' '.join(v for v in versions if v))}")
        for name, va, vb in changes.changed[:top]:
            console.print(f"  [yellow]~[/] {escape(name)} {escape(' '.join(va))} → {escape(' '.join(vb))}")
    for warning in list(a.warnings) + list(b.warnings):
        console.print(f"[yellow]warning:[/] {escape(warning)}")


def _delta(a: int, b: int) -> str:
    change = b - a
    if change == 0:
        return "0"
    text = ("+" if change > 0 else "-") + format_bytes(abs(change))
    return f"{text} ({_percent(change, a)})" if a else text
