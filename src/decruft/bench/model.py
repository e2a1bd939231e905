"""The results of ``decruft bench``: plain data, one JSON shape (``schema.json``).

Every timed measurement keeps its samples; the figure reported is their median (the
middle value of an odd count, the mean of the two middle values of an even count), so one
build slowed by a neighbour on a shared machine does not move the result.  A figure that
was not measured (no registry, no dependency manifest, the side failed) is ``None`` in
Python and ``null`` in JSON, never 0.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

SCHEMA_ID = "decruft-bench/1"

#: The timed figures of one side, in report order: (key, label, unit).
TIMINGS: tuple[tuple[str, str], ...] = (
    ("cold_build_s", "cold build"),
    ("warm_rebuild_s", "rebuild after a source change"),
    ("dep_rebuild_s", "rebuild after a dependency change"),
    ("ci_nocache_s", "CI build, empty cache"),
    ("ci_registry_cache_s", "CI build, registry cache"),
    ("push_s", "push"),
    ("pull_s", "pull"),
)
#: Step counts kept as medians of the samples too.
STEP_COUNTS: tuple[str, ...] = (
    "warm_rebuild_steps_rerun",
    "warm_rebuild_steps_cached",
    "dep_rebuild_steps_rerun",
    "dep_rebuild_steps_cached",
    "ci_registry_cache_steps_rerun",
    "ci_registry_cache_steps_cached",
    "push_bytes",
    "pull_bytes",
)


def median(values: list[float] | list[int]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(slots=True)
class SideError:
    """Why a side could not be measured: the phase, the message and the end of the build log."""

    phase: str
    message: str
    log_tail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "message": self.message, "log_tail": self.log_tail}


@dataclass(slots=True)
class LayerSize:
    index: int
    created_by: str
    size_bytes: int  # regular-file bytes the layer adds (what `inspect` calls its size)
    compressed_bytes: int | None = None  # as pushed, when pushed


@dataclass(slots=True)
class TreemapCell:
    """Bytes of the final filesystem under one directory, of one cruft class (or ``app``)."""

    top: str  # first path component ("usr"), groups cells in the chart
    directory: str  # up to three components ("usr/lib/python3.11")
    cruft_class: str  # a cruft class id, or "-" for content no class matches
    bytes: int
    files: int


@dataclass(slots=True)
class SideResult:
    name: str  # "original" or "optimised"
    dockerfile: str  # path shown to the user
    error: SideError | None = None
    image_size_bytes: int | None = None  # uncompressed (`docker image inspect` Size)
    compressed_size_bytes: int | None = None  # layers as pushed to the registry
    layers: int | None = None
    files: int | None = None
    steps: int | None = None  # build steps (Dockerfile instructions that run) of a cold build
    samples: dict[str, list[float]] = field(default_factory=dict)
    layer_sizes: list[LayerSize] = field(default_factory=list)
    treemap: list[TreemapCell] = field(default_factory=list)
    cruft_bytes: int | None = None
    notes: list[str] = field(default_factory=list)
    # Per rebuild kind ("warm_rebuild", "dep_rebuild"): the steps the median sample re-ran,
    # with BuildKit's duration for each, slowest first.
    rerun_steps: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def add(self, key: str, value: float | int | None) -> None:
        if value is not None:
            self.samples.setdefault(key, []).append(value)

    def figure(self, key: str) -> float | None:
        value = median(self.samples.get(key, []))
        if value is None:
            return None
        if key.endswith("_s"):
            return round(float(value), 3)
        return int(value) if float(value).is_integer() else float(value)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "dockerfile": self.dockerfile,
            "ok": self.ok,
            "error": self.error.to_dict() if self.error else None,
            "image_size_bytes": self.image_size_bytes,
            "compressed_size_bytes": self.compressed_size_bytes,
            "layers": self.layers,
            "files": self.files,
            "steps": self.steps,
            "cruft_bytes": self.cruft_bytes,
        }
        for key, _label in TIMINGS:
            data[key] = self.figure(key)
        for key in STEP_COUNTS:
            data[key] = self.figure(key)
        data["samples"] = {key: list(values) for key, values in sorted(self.samples.items())}
        data["layer_sizes"] = [
            {"index": layer.index, "created_by": layer.created_by, "size_bytes": layer.size_bytes,
             "compressed_bytes": layer.compressed_bytes}
            for layer in self.layer_sizes
        ]
        data["treemap"] = [
            {"top": cell.top, "directory": cell.directory, "class": cell.cruft_class,
             "bytes": cell.bytes, "files": cell.files}
            for cell in self.treemap
        ]
        data["rerun_steps"] = {key: [{"step": name, "seconds": seconds} for name, seconds in steps]
                               for key, steps in sorted(self.rerun_steps.items())}
        data["notes"] = list(self.notes)
        return data


#: The ratios the report leads with: optimised / original (smaller is better for all of them).
RATIO_KEYS: tuple[str, ...] = (
    "image_size_bytes", "compressed_size_bytes", "layers", "files", "cold_build_s",
    "warm_rebuild_s", "dep_rebuild_s", "ci_nocache_s", "ci_registry_cache_s", "push_s", "pull_s",
)


@dataclass(slots=True)
class BenchResult:
    project: str
    dockerfile: str
    context: str
    optimised_from: str  # "fix" or "against"
    repeat: int
    fixes: list[str] = field(default_factory=list)  # rule codes applied by fix
    engine: dict[str, Any] = field(default_factory=dict)
    registry: str | None = None
    ci_cache: str | None = None  # "inline" or "registry,mode=max"
    changed_source: str | None = None
    changed_manifest: str | None = None
    optimised_text: str = ""  # the optimised Dockerfile as built
    original: SideResult | None = None
    optimised: SideResult | None = None
    notes: list[str] = field(default_factory=list)
    started_at: str = ""
    duration_s: float = 0.0
    interrupted: bool = False

    def sides(self) -> list[SideResult]:
        return [side for side in (self.original, self.optimised) if side is not None]

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(side.ok for side in self.sides()) and len(self.sides()) == 2

    def value(self, side: SideResult, key: str) -> float | None:
        if key in ("image_size_bytes", "compressed_size_bytes", "layers", "files", "steps", "cruft_bytes"):
            return getattr(side, key)
        return side.figure(key)

    def ratios(self) -> dict[str, float | None]:
        """optimised / original for every figure both sides have (None otherwise)."""
        out: dict[str, float | None] = {}
        for key in RATIO_KEYS:
            a = self.value(self.original, key) if self.original else None
            b = self.value(self.optimised, key) if self.optimised else None
            out[key] = round(b / a, 4) if a and b is not None else None
        return out

    def within_side_ratios(self) -> dict[str, dict[str, float | None]]:
        """Per side: warm rebuild / cold build, and CI-without-cache / CI-with-registry-cache."""
        out: dict[str, dict[str, float | None]] = {}
        for side in self.sides():
            cold, warm = side.figure("cold_build_s"), side.figure("warm_rebuild_s")
            nocache, cached = side.figure("ci_nocache_s"), side.figure("ci_registry_cache_s")
            out[side.name] = {
                "warm_rebuild_over_cold": round(warm / cold, 4) if warm is not None and cold else None,
                "ci_cache_speedup": round(nocache / cached, 3) if nocache is not None and cached else None,
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "project": self.project,
            "dockerfile": self.dockerfile,
            "context": self.context,
            "optimised_from": self.optimised_from,
            "fixes": list(self.fixes),
            "repeat": self.repeat,
            "engine": dict(self.engine),
            "registry": self.registry,
            "ci_cache": self.ci_cache,
            "changed_source": self.changed_source,
            "changed_manifest": self.changed_manifest,
            "optimised_dockerfile_text": self.optimised_text,
            "ok": self.ok,
            "interrupted": self.interrupted,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 1),
            "sides": {side.name: side.to_dict() for side in self.sides()},
            "ratios": self.ratios(),
            "within_side": self.within_side_ratios(),
            "notes": list(self.notes),
        }


def side_from_dict(name: str, data: dict[str, Any]) -> SideResult:
    error = data.get("error")
    return SideResult(
        name=name,
        dockerfile=data.get("dockerfile", ""),
        error=SideError(error["phase"], error["message"], error.get("log_tail", "")) if error else None,
        image_size_bytes=data.get("image_size_bytes"),
        compressed_size_bytes=data.get("compressed_size_bytes"),
        layers=data.get("layers"),
        files=data.get("files"),
        steps=data.get("steps"),
        samples={key: list(values) for key, values in (data.get("samples") or {}).items()},
        layer_sizes=[LayerSize(item["index"], item["created_by"], item["size_bytes"], item.get("compressed_bytes"))
                     for item in data.get("layer_sizes") or []],
        treemap=[TreemapCell(item["top"], item["directory"], item["class"], item["bytes"], item["files"])
                 for item in data.get("treemap") or []],
        cruft_bytes=data.get("cruft_bytes"),
        notes=list(data.get("notes") or []),
        rerun_steps={key: [(item["step"], item["seconds"]) for item in steps]
                     for key, steps in (data.get("rerun_steps") or {}).items()},
    )


def result_from_dict(data: dict[str, Any]) -> BenchResult:
    """The inverse of `BenchResult.to_dict` (re-rendering a saved run in another format)."""
    if data.get("schema") != SCHEMA_ID:
        raise ValueError(f"not a {SCHEMA_ID} document (schema: {data.get('schema')!r})")
    sides = data.get("sides") or {}
    return BenchResult(
        project=data["project"], dockerfile=data["dockerfile"], context=data["context"],
        optimised_from=data["optimised_from"], repeat=data["repeat"], fixes=list(data.get("fixes") or []),
        engine=dict(data.get("engine") or {}), registry=data.get("registry"), ci_cache=data.get("ci_cache"),
        changed_source=data.get("changed_source"), changed_manifest=data.get("changed_manifest"),
        optimised_text=data.get("optimised_dockerfile_text", ""),
        original=side_from_dict("original", sides["original"]) if "original" in sides else None,
        optimised=side_from_dict("optimised", sides["optimised"]) if "optimised" in sides else None,
        notes=list(data.get("notes") or []), started_at=data.get("started_at", ""),
        duration_s=float(data.get("duration_s") or 0.0), interrupted=bool(data.get("interrupted")),
    )
