"""Run the benchmark: every measurement of both sides, then clean up whatever happens.

Order, for the original side and then the optimised one (each step ``repeat`` times):

1. **cold build**: the build-cache records used since the run began and all cache mounts
   removed, then ``--no-cache`` (base images are local). The first cold image is read for
   size, layers, files and the treemap.
2. **source change**: one unmodified build (cache warm), then per sample: edit the source
   file, rebuild, put the file back; steps re-run versus served from the cache are counted.
3. **dependency change**: the same with one manifest.
4. **CI** (with a registry): per sample: drop this run's images and the build cache records
   used since the run began (see `decruft.bench.engine`), build with ``--no-cache`` while
   exporting the cache (inline, or registry mode=max with buildx) -- "CI without a cache" --,
   push it (time and bytes), drop everything again and pull it (time and bytes), drop
   everything again and build with ``--cache-from`` the registry -- "CI with a registry cache".

A side that fails to build keeps its error (the phase and the end of the build log) and the
other side is still measured. Images are tagged ``decruft-bench-<token>/<side>:<phase>`` and
labelled ``decruft-bench=<token>``; registry references are
``<registry>/decruft-bench-<token>/<side>:r<n>``. At the end, on errors, on Ctrl-C and on
SIGTERM, the tags, the labelled images, the pushed manifests and the temporary directory are
removed (Ctrl-C is ignored while that happens). ``bench`` starts no containers.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import docker.errors

from decruft.bench.engine import (
    BenchEngine,
    CacheStrategy,
    TransferError,
    cache_arguments,
    cache_strategy,
    check_registry,
    rerun_steps,
    step_counts,
)
from decruft.bench.model import BenchResult, SideError, SideResult
from decruft.bench.workspace import Editor, Workspace, prepare
from decruft.engine.buildkit import BuildError
from decruft.errors import DecruftError
from decruft.interrupts import shielded, terminate_as_interrupt

PREFIX = "decruft-bench"
DEFAULT_REGISTRY = "127.0.0.1:5000"


@dataclass(slots=True)
class BenchOptions:
    repeat: int = 3
    against: Path | None = None  # compare with this Dockerfile instead of fix's output
    context: Path | None = None
    registry: str | None = DEFAULT_REGISTRY  # None: no CI, push or pull measurements
    unsafe: bool = True  # apply fix's unsafe fixes too
    verify: bool = True  # keep only the fixes fix --verify proves (they build and behave alike)
    multistage: bool = True  # then fix --multistage's verified conversion, when it applies
    target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    docker: str | None = None
    build_timeout: float | None = 3600.0
    analyse_images: bool = True
    on_progress: Callable[["Progress"], None] | None = None
    on_line: Callable[[str], None] | None = None


@dataclass(slots=True)
class Progress:
    side: str
    phase: str
    done: int  # operations finished so far (builds, pushes, pulls)
    total: int  # operations planned


def find_dockerfile(path: Path) -> Path:
    """PATH as given: a Dockerfile, or a directory holding ``Dockerfile``/``Containerfile``."""
    from decruft.bench.workspace import WorkspaceError

    if path.is_dir():
        for name in ("Dockerfile", "Containerfile", "dockerfile"):
            if (path / name).is_file():
                return path / name
        raise WorkspaceError(f"{path}: no Dockerfile in this directory (pass the Dockerfile's path)")
    if path.is_file():
        return path
    raise WorkspaceError(f"{path}: no such file or directory")


def run_bench(path: Path, options: BenchOptions | None = None) -> BenchResult:
    """Measure the original and the optimised Dockerfile of ``path`` (see the module doc).

    Raises `decruft.engine.EngineUnavailableError` without an engine,
    `decruft.bench.engine.RegistryUnreachableError` when the registry does not answer, and
    `KeyboardInterrupt` (after cleaning up) when interrupted.
    """
    from decruft.engine import find_build_path, require_engine

    options = options or BenchOptions()
    if options.repeat < 1:
        raise ValueError("repeat must be at least 1")
    dockerfile = find_dockerfile(Path(path))
    context = Path(options.context) if options.context else dockerfile.parent
    status = require_engine()
    build_path = find_build_path(options.docker)
    token = _token()
    engine = BenchEngine(build_path, token, build_timeout=options.build_timeout, on_line=options.on_line)
    started = time.time()
    result = BenchResult(
        project=str(path), dockerfile=str(dockerfile), context=str(context),
        optimised_from="against" if options.against else "fix", repeat=options.repeat,
        registry=options.registry, started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    result.engine = {
        "docker": build_path.docker, "build_path": build_path.kind, "client_version": build_path.client_version,
        "server_version": build_path.server_version or status.server_version, "docker_host": status.docker_host,
    }
    for text in (build_path.note, build_path.warning):
        if text:
            result.notes.append(text)
    strategy: CacheStrategy | None = None
    if options.registry:
        check_registry(options.registry)
        strategy = cache_strategy(build_path, engine.buildx_driver())
        result.ci_cache = strategy.description
        result.notes.append(f"CI cache: {strategy.reason}")
    tmp = tempfile.TemporaryDirectory(prefix=f"{PREFIX}-{token}-")
    try:
        with terminate_as_interrupt():
            if options.on_progress and (options.multistage or options.verify) and not options.against:
                options.on_progress(Progress("optimised", "fix --verify and multi-stage conversion (verified builds)", 0, 0))
            workspace = prepare(Path(tmp.name), dockerfile, context, against=options.against,
                                unsafe=options.unsafe, verify=options.verify,
                                multistage=options.multistage and options.unsafe,
                                target=options.target, build_args=options.build_args, docker=options.docker)
            result.fixes = workspace.fixes
            result.optimised_text = workspace.optimised_text
            result.notes.extend(workspace.notes)
            result.changed_source = workspace.source_file()
            result.changed_manifest = workspace.manifest_file()
            if result.changed_source is None:
                result.notes.append("no application file is copied into the image: no source-change rebuild")
            if result.changed_manifest is None:
                result.notes.append("no dependency manifest is copied into the image: no dependency-change rebuild")
            run = _Run(engine, workspace, options, result, strategy, started)
            for name, file in (("original", workspace.original), ("optimised", workspace.optimised)):
                side = SideResult(name, str(dockerfile) if name == "original" else
                                  (str(options.against) if options.against else f"decruft fix of {dockerfile}"))
                setattr(result, name, side)
                run.measure(side, file)
    except KeyboardInterrupt:
        result.interrupted = True
        raise
    finally:
        with shielded():
            _cleanup(engine)
            with contextlib.suppress(OSError):
                tmp.cleanup()
        result.duration_s = time.time() - started
    return result


def _token() -> str:
    # DECRUFT_BENCH_TOKEN pins the token (tests use it to check what a run left behind).
    pinned = re.sub(r"[^a-z0-9]", "", os.environ.get("DECRUFT_BENCH_TOKEN", "").lower())[:32]
    return pinned or secrets.token_hex(4)


def _cleanup(engine: BenchEngine) -> None:
    for ref in engine.pushed:
        with contextlib.suppress(Exception):
            engine.delete_from_registry(ref)
    with contextlib.suppress(Exception):
        engine.drop_local()
    engine.close()


class _Run:
    def __init__(self, engine: BenchEngine, workspace: Workspace, options: BenchOptions, result: BenchResult,
                 strategy: CacheStrategy | None, started: float) -> None:
        self.engine = engine
        self.workspace = workspace
        self.options = options
        self.result = result
        self.strategy = strategy
        self.started = started
        self.editor = Editor()
        n = options.repeat
        per_side = n + (1 + n if result.changed_source else 0) + (n if result.changed_manifest else 0)
        per_side += 4 * n if options.registry else 0
        self.total = 2 * per_side
        self.done = 0
        self._phase = ""  # what is running, for the error report

    def _progress(self, side: SideResult, phase: str) -> None:
        if self.options.on_progress:
            self.options.on_progress(Progress(side.name, phase, self.done, self.total))

    def _build(self, side: SideResult, file: Path, phase: str, tag: str, **kwargs):
        self._progress(side, phase)
        try:
            return self.engine.build(self.workspace.context, file, tag, target=self.options.target,
                                     build_args=self.options.build_args, **kwargs)
        finally:
            self.done += 1

    def _tag(self, side: SideResult, phase: str) -> str:
        return f"{PREFIX}-{self.engine.token}/{side.name}:{phase}"

    def measure(self, side: SideResult, file: Path) -> None:
        planned_end = self.done + self.total // 2
        try:
            self._cold(side, file)
            if self.result.changed_source:
                self._change(side, file, self.result.changed_source, "warm_rebuild", "source change")
            if self.result.changed_manifest:
                self._change(side, file, self.result.changed_manifest, "dep_rebuild", "dependency change")
            if self.options.registry and self.strategy is not None:
                self._ci(side, file)
        except BuildError as exc:
            side.error = SideError(self._phase, exc.message, exc.log_tail)
        except TransferError as exc:
            side.error = SideError(self._phase, str(exc), exc.log_tail)
        except (DecruftError, docker.errors.APIError, OSError) as exc:
            # The engine refused something other than a build (reading the image, pruning):
            # this side's figures stop here, the other side is still measured.
            side.error = SideError(self._phase, f"{type(exc).__name__}: {exc}")
        finally:
            self.done = planned_end
            self._progress(side, "done" if side.ok else "failed")

    def _cold(self, side: SideResult, file: Path) -> None:
        self._phase = "cold build"
        tag = self._tag(side, "cold")
        for sample in range(self.options.repeat):
            # --no-cache skips the step cache but not cache mounts: those go first.
            self._progress(side, "emptying the local cache")
            self.engine.prune_cache_since(self.started - 1.0)
            built = self._build(side, file, f"cold build {sample + 1}/{self.options.repeat}", tag, no_cache=True)
            side.add("cold_build_s", built.seconds)
            if sample == 0:
                side.steps = step_counts(built).total
                side.image_size_bytes, _diff_ids = self.engine.image_size(tag)
                if self.options.analyse_images:
                    self._progress(side, "reading the image")
                    from decruft.bench.imageview import describe_image

                    describe_image(tag, side)

    def _change(self, side: SideResult, file: Path, relative: str, key: str, what: str) -> None:
        self._phase = f"rebuild after a {what}"
        tag = self._tag(side, key.replace("_", "-"))
        if key == "warm_rebuild":
            # One plain build first: the cache then holds the unmodified project (and every
            # record a later CI measurement must not find is marked as used by this run).
            self._build(side, file, "warm-up build", tag)
        target = self.workspace.context / relative
        timed = []
        for sample in range(self.options.repeat):
            with self.editor.edited(target):
                built = self._build(side, file, f"{what} {sample + 1}/{self.options.repeat}", tag)
            counts = step_counts(built)
            side.add(f"{key}_s", built.seconds)
            side.add(f"{key}_steps_rerun", counts.rerun)
            side.add(f"{key}_steps_cached", counts.cached)
            timed.append((built.seconds, rerun_steps(built)))
        timed.sort(key=lambda item: item[0])
        side.rerun_steps[key] = timed[len(timed) // 2][1]  # the median sample's steps

    def _ci(self, side: SideResult, file: Path) -> None:
        assert self.strategy is not None and self.options.registry
        engine = self.engine
        n = self.options.repeat
        repository = f"{self.options.registry}/{PREFIX}-{engine.token}/{side.name}"
        for sample in range(n):
            label = f"{sample + 1}/{n}"
            ref = f"{repository}:r{sample + 1}"
            cache_ref = f"{repository}:buildcache-r{sample + 1}"
            cache_ref = ref if self.strategy.kind == "inline" else cache_ref
            self._phase = "CI build without a cache"
            self._empty_runner(side)
            built = self._build(side, file, f"CI, empty cache {label}", ref, no_cache=True,
                                **cache_arguments(self.strategy, cache_ref, export=True))
            side.add("ci_nocache_s", built.seconds)
            _size, diff_ids = engine.image_size(ref)
            self._phase = "push"
            self._progress(side, f"push {label}")
            pushed, manifest = engine.push(ref, diff_ids)
            self.done += 1
            side.add("push_s", pushed.seconds)
            side.add("push_bytes", pushed.bytes)
            if side.compressed_size_bytes is None:
                sizes = [int(layer.get("size", 0)) for layer in manifest.get("layers", [])]
                side.compressed_size_bytes = sum(sizes)
                for layer in side.layer_sizes:
                    if layer.index < len(sizes):
                        layer.compressed_bytes = sizes[layer.index]
            self._phase = "pull"
            self._empty_runner(side)
            self._progress(side, f"pull {label}")
            pulled = engine.pull(ref, manifest)
            self.done += 1
            side.add("pull_s", pulled.seconds)
            side.add("pull_bytes", pulled.bytes)
            self._phase = "CI build with the registry cache"
            self._empty_runner(side)
            built = self._build(side, file, f"CI, registry cache {label}", self._tag(side, "ci-cached"),
                                **cache_arguments(self.strategy, cache_ref, export=False))
            counts = step_counts(built)
            side.add("ci_registry_cache_s", built.seconds)
            side.add("ci_registry_cache_steps_rerun", counts.rerun)
            side.add("ci_registry_cache_steps_cached", counts.cached)

    def _empty_runner(self, side: SideResult) -> None:
        """What a fresh CI runner has: no images of this project, no build cache for it."""
        self._progress(side, "emptying the local cache")
        self.engine.drop_local()
        self.engine.prune_cache_since(self.started - 1.0)
