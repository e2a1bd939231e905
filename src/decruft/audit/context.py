"""Everything a rule may ask about the Dockerfile under audit.

The context knows which stages' layers end up in the image (the target stage and
the stages it is built FROM), which stages only contribute through a narrow
``COPY --from``, and which ones are not built at all.  Rules use
:meth:`RuleContext.report` so that stage-aware severity, positions and stage
labels are computed the same way everywhere.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import Enum
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterator

from decruft.audit.rule import Finding, Fix, Severity, Stake, get_rule, instruction_region
from decruft.dockerfile.model import Model, Stage, mounts_of
from decruft.dockerfile.nodes import Dockerfile, Instruction, Span


class Reach(str, Enum):
    IMAGE = "image"  # the stage's layers are the final image's layers
    ROOT_COPY = "root-copy"  # the final image copies this stage's whole filesystem
    COPIED = "copied"  # only selected paths reach the image via COPY --from
    UNUSED = "unused"  # BuildKit never builds it for this target


@lru_cache(maxsize=None)
def data_table(name: str) -> dict:
    """A TOML table shipped in ``decruft/data`` (rule knowledge kept out of code)."""
    text = resources.files("decruft.data").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass(slots=True)
class RunStep:
    """A RUN instruction with the stage it belongs to."""

    instruction: Instruction
    stage: Stage


class RuleContext:
    def __init__(
        self,
        dockerfile: Dockerfile,
        model: Model,
        *,
        target: str | None = None,
        context_dir: Path | None = None,
        file_overrides: dict[str, str] | None = None,
        external_image_registry: str | None = None,
    ) -> None:
        self.dockerfile = dockerfile
        self.model = model
        self.target = target
        self.context_dir = context_dir
        self.file = dockerfile.path
        self.file_overrides = dict(file_overrides or {})
        # A mirror of the official images DC153 copies binaries from (config or CLI).
        self.external_image_registry = external_image_registry
        self.warnings: list[str] = []
        self._memo: dict[object, object] = {}
        self._runs: dict[bool, list[RunStep]] = {}

    def memo(self, key: object, factory):
        """Compute a per-audit fact once (several rules share context scans etc.)."""
        if key not in self._memo:
            self._memo[key] = factory()
        return self._memo[key]

    # ------------------------------------------------------------------ stages
    @cached_property
    def target_stage(self) -> Stage:
        return self.model.target_stage(self.target)

    @cached_property
    def image_stages(self) -> list[Stage]:
        """The stages whose layers form the final image (FROM chain of the target)."""
        return self.model.final_chain(self.target)

    @cached_property
    def reach(self) -> dict[int, Reach]:
        reach: dict[int, Reach] = {stage.index: Reach.UNUSED for stage in self.model.stages}
        for stage in self.model.reachable(self.target):
            reach[stage.index] = Reach.COPIED
        image = {stage.index for stage in self.image_stages}
        for index in image:
            reach[index] = Reach.IMAGE
        for stage in self.image_stages:
            for dep in stage.dependencies:
                if dep.kind == "copy" and dep.stage is not None and _copies_root(dep.instruction):
                    if reach[dep.stage.index] is not Reach.IMAGE:
                        reach[dep.stage.index] = Reach.ROOT_COPY
                        for ancestor in self.model.final_chain(dep.stage.label):
                            if reach[ancestor.index] is not Reach.IMAGE:
                                reach[ancestor.index] = Reach.ROOT_COPY
        return reach

    def stage_of(self, instruction: Instruction) -> Stage | None:
        index = instruction.stage_index
        return self.model.stages[index] if index >= 0 else None

    def ships(self, instruction: Instruction) -> bool:
        """Whether the bytes this instruction writes end up in the final image."""
        stage = self.stage_of(instruction)
        if stage is None:
            return False
        return self.reach[stage.index] in (Reach.IMAGE, Reach.ROOT_COPY)

    def built(self, instruction: Instruction) -> bool:
        stage = self.stage_of(instruction)
        return stage is not None and self.reach[stage.index] is not Reach.UNUSED

    # ------------------------------------------------------------------ iteration
    def instructions(self, *keywords: str, built_only: bool = True) -> Iterator[Instruction]:
        for stage in self.model.stages:
            if built_only and self.reach[stage.index] is Reach.UNUSED:
                continue
            for instruction in stage.instructions:
                if not keywords or instruction.keyword in keywords:
                    yield instruction

    def runs(self, built_only: bool = True) -> list[RunStep]:
        """RUN instructions with a readable shell body (every rule asks: built once)."""
        cached = self._runs.get(built_only)
        if cached is None:
            cached = self._runs[built_only] = [
                RunStep(instruction, stage)
                for stage in self.model.stages
                if not (built_only and self.reach[stage.index] is Reach.UNUSED)
                for instruction in stage.instructions
                if instruction.keyword == "RUN" and instruction.shell is not None
            ]
        return cached

    def env(self, instruction: Instruction) -> dict[str, str]:
        return self.model.env_at(instruction)

    def cache_mount_targets(self, instruction: Instruction) -> list[str]:
        return [
            (mount.target or "").rstrip("/")
            for mount in mounts_of(instruction)
            if mount.type in ("cache", "tmpfs")
        ]

    def has_cache_mount(self, instruction: Instruction, *paths: str) -> bool:
        targets = self.cache_mount_targets(instruction)
        return any(
            target == path.rstrip("/") or path.rstrip("/").startswith(target + "/")
            for target in targets
            for path in paths
        )

    @property
    def uses_buildkit_syntax(self) -> bool:
        """The file already relies on BuildKit features (so cache mounts are fair game)."""
        if self.dockerfile.directive("syntax") is not None:
            return True
        return any(ins.flags for ins in self.dockerfile.instructions if ins.keyword == "RUN") or any(
            ins.heredocs for ins in self.dockerfile.instructions
        )

    # ------------------------------------------------------------------ reporting
    def report(
        self,
        code: str,
        where: Instruction | Span,
        message: str,
        *,
        instruction: Instruction | None = None,
        severity: Severity | None = None,
        stake: Stake | None = None,
        fix: Fix | None = None,
        stage_aware: bool = True,
        notes: list[str] | None = None,
    ) -> Finding | None:
        """Build a finding; stage-aware rules are softened when the bytes never ship.

        Returns None when the finding is dropped (its stage is not built at all).
        """
        registered = get_rule(code)
        assert registered is not None, code
        owner = instruction if instruction is not None else (where if isinstance(where, Instruction) else None)
        span = instruction_region(where) if isinstance(where, Instruction) else where
        level = severity or registered.severity
        notes = list(notes or [])
        stage = self.stage_of(owner) if owner is not None else None
        if stage_aware and owner is not None and stage is not None:
            reach = self.reach[stage.index]
            if reach is Reach.UNUSED:
                return None
            if reach is Reach.COPIED:
                level = Severity.INFO
                notes.append(
                    f"stage '{stage.label}' reaches the final image only through COPY --from "
                    "of selected paths, so these bytes do not ship; they still slow the build "
                    "and bloat the build cache"
                )
        start = self.dockerfile.position(span.start)
        end = self.dockerfile.position(max(span.end - 1, span.start))
        finding = Finding(
            code=code,
            name=registered.name,
            severity=level,
            message=message,
            file=self.file,
            span=span,
            line=start.line,
            column=start.column,
            end_line=end.line,
            end_column=end.column + 1,
            stage=stage.label if stage is not None else None,
            stake=stake,
            fix=fix,
            notes=notes,
        )
        return finding


# COPY sources that name a whole root filesystem (`COPY --from=x / /`); DC152 uses them too.
ROOT_SOURCES = frozenset({"/", ".", "./", "/.", "/*", "*", "./*", "/./"})


def _copies_root(instruction: Instruction) -> bool:
    return any(source in ROOT_SOURCES for source in instruction.words[:-1])
