"""The semantic model of a Dockerfile: stages, their graph, ARG/ENV scope and layers.

It follows BuildKit's rules: ARGs before the first FROM are *meta* args visible
to FROM lines only (a stage sees one only after ``ARG NAME`` re-declares it);
``--build-arg`` overrides defaults; ENV beats ARG of the same name; a stage built
``FROM <stage>`` inherits that stage's ENV but not its ARGs; only the stages the
target reaches are built (``FROM <stage>``, ``COPY --from``, ``RUN --mount from=``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from decruft.dockerfile.mounts import Mount, MountError, parse_mount
from decruft.dockerfile.nodes import Dockerfile, Instruction
from decruft.dockerfile.words import ExpansionError, process

# Instructions whose arguments BuildKit expands with ARG/ENV values.
EXPANDED_INSTRUCTIONS = frozenset(
    {"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ARG"}
)
# Flags BuildKit expands before use.
EXPANDED_FLAGS = frozenset({"chown", "chmod", "from", "platform", "mount", "checksum", "exclude"})
LAYER_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})

DEFAULT_PLATFORM = "linux/amd64"


def automatic_platform_args(platform: str = DEFAULT_PLATFORM) -> dict[str, str]:
    """BuildKit's automatic platform ARGs (BUILDPLATFORM, TARGETOS, ...)."""
    os_name, _, rest = platform.partition("/")
    arch, _, variant = rest.partition("/")
    values = {}
    for prefix in ("BUILD", "TARGET"):
        values[f"{prefix}PLATFORM"] = platform
        values[f"{prefix}OS"] = os_name
        values[f"{prefix}ARCH"] = arch
        values[f"{prefix}VARIANT"] = variant
    return values


@dataclass(slots=True)
class ArgDefinition:
    name: str
    default: str | None  # raw text after '=' (quotes and variables unprocessed)
    instruction: Instruction


@dataclass(slots=True)
class Dependency:
    """One edge of the stage graph."""

    kind: str  # "from", "copy", "mount"
    reference: str  # as expanded: stage name, index or image reference
    instruction: Instruction
    stage: "Stage | None"  # the stage it names, or None for an external image


@dataclass(eq=False)
class Stage:
    index: int
    name: str | None  # lower-cased alias
    base: str  # the FROM reference as written
    base_resolved: str  # after meta-ARG expansion
    platform: str | None
    from_instruction: Instruction
    instructions: list[Instruction] = field(default_factory=list)
    parent: "Stage | None" = None  # when FROM names an earlier stage
    dependencies: list[Dependency] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name if self.name is not None else str(self.index)

    @property
    def is_scratch(self) -> bool:
        return self.parent is None and self.base_resolved.lower() == "scratch"

    def layer_instructions(self) -> list[Instruction]:
        return [ins for ins in self.instructions if creates_layer(ins)]

    def root_base(self) -> str:
        """The external image at the bottom of this stage's FROM chain."""
        stage: Stage = self
        while stage.parent is not None:
            stage = stage.parent
        return stage.base_resolved

    def __repr__(self) -> str:
        return f"<Stage {self.index} {self.name or ''} FROM {self.base_resolved}>"


@dataclass(slots=True)
class Scope:
    """The variables visible at one instruction: ARG values and ENV."""

    args: dict[str, str]
    env: dict[str, str]
    declared_args: set[str]

    def variables(self) -> dict[str, str]:
        merged = dict(self.args)
        merged.update(self.env)  # ENV beats ARG of the same name
        return merged


def creates_layer(instruction: Instruction) -> bool:
    """Whether BuildKit adds a filesystem layer for this instruction.

    RUN, COPY and ADD always do; WORKDIR adds one only when it must create the
    directory, which the Dockerfile alone cannot tell, so it does not count here.
    """
    return instruction.keyword in LAYER_INSTRUCTIONS


class Model:
    """Stages, graph and scopes for one Dockerfile under given build arguments."""

    def __init__(
        self,
        dockerfile: Dockerfile,
        build_args: dict[str, str] | None = None,
        platform: str = DEFAULT_PLATFORM,
    ) -> None:
        self.dockerfile = dockerfile
        self.build_args = dict(build_args or {})
        self.platform = platform
        self.meta_args: list[ArgDefinition] = []
        self.meta_values: dict[str, str] = {}
        self.stages: list[Stage] = []
        self.warnings: list[str] = []
        self._by_name: dict[str, Stage] = {}
        self._stage_env: dict[int, dict[str, str]] = {}  # ENV at the end of each stage
        self._scopes: dict[int, Scope] = {}  # id(instruction) -> scope (instructions outlive us)
        self._build()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        automatic = automatic_platform_args(self.platform)
        meta_values: dict[str, str] = dict(automatic)
        current: Stage | None = None
        args: dict[str, str] = {}
        env: dict[str, str] = {}
        for instruction in self.dockerfile.instructions:
            keyword = instruction.keyword
            if keyword == "FROM":
                current = self._new_stage(instruction, meta_values)
                args = dict(automatic)
                env = self._inherited_env(current)
                continue
            if current is None:
                if keyword == "ARG":
                    for definition in self._arg_definitions(instruction):
                        self.meta_args.append(definition)
                        value = self._arg_value(definition, meta_values, meta_values)
                        if value is not None:
                            meta_values[definition.name] = value
                continue
            instruction.stage_index = current.index
            current.instructions.append(instruction)
            if keyword == "ARG":
                for definition in self._arg_definitions(instruction):
                    value = self._arg_value(definition, {**args, **env}, meta_values)
                    if value is not None:
                        args[definition.name] = value
            elif keyword == "ENV":
                self._apply_env(instruction, args, env)
            if keyword == "COPY" or (keyword == "RUN" and instruction.flags):
                self._collect_dependencies(current, instruction, {**args, **env})
        self.meta_values = meta_values

    def _new_stage(self, instruction: Instruction, meta_values: dict[str, str]) -> Stage:
        words = instruction.buildkit_value
        base = words[0] if words else ""
        name = words[2].lower() if len(words) == 3 else None
        resolved = self._expand(base, meta_values, instruction)
        platform_flag = instruction.flag_value("platform")
        platform = (
            self._expand(platform_flag, meta_values, instruction) if platform_flag else None
        )
        stage = Stage(
            index=len(self.stages),
            name=name,
            base=base,
            base_resolved=resolved,
            platform=platform,
            from_instruction=instruction,
        )
        instruction.stage_index = stage.index
        parent = self._by_name.get(resolved.lower())
        if parent is not None:
            stage.parent = parent
            stage.dependencies.append(Dependency("from", resolved, instruction, parent))
        if name is not None:
            if name in self._by_name:
                self.warnings.append(f"duplicate stage name {name!r}")
            self._by_name[name] = stage
        self.stages.append(stage)
        return stage

    def _inherited_env(self, stage: Stage) -> dict[str, str]:
        parent = stage.parent
        env = dict(self._stage_env.get(parent.index, {})) if parent is not None else {}
        self._stage_env[stage.index] = env
        return env

    def _arg_definitions(self, instruction: Instruction) -> list[ArgDefinition]:
        definitions = []
        for word in instruction.buildkit_value:
            name, sep, default = word.partition("=")
            definitions.append(ArgDefinition(name, default if sep else None, instruction))
        return definitions

    def _arg_value(
        self,
        definition: ArgDefinition,
        scope: dict[str, str],
        meta_values: dict[str, str],
    ) -> str | None:
        if definition.name in self.build_args:
            return self.build_args[definition.name]
        if definition.default is not None:
            return self._expand(definition.default, scope, definition.instruction)
        return meta_values.get(definition.name)

    def _apply_env(self, instruction: Instruction, args: dict[str, str], env: dict[str, str]) -> None:
        before = {**args, **env}
        words = instruction.buildkit_value
        for key, raw in zip(words[::2], words[1::2]):
            env[key] = self._expand(raw, before, instruction)

    def _collect_dependencies(
        self, stage: Stage, instruction: Instruction, variables: dict[str, str]
    ) -> None:
        effective = instruction
        if effective.keyword == "COPY":
            reference = effective.flag_value("from")
            if reference:
                reference = self._expand(reference, variables, instruction)
                stage.dependencies.append(
                    Dependency("copy", reference, instruction, self._stage_for(reference, stage))
                )
        elif effective.keyword == "RUN":
            for mount in mounts_of(effective, warnings=self.warnings):
                if mount.from_:
                    reference = self._expand(mount.from_, variables, instruction)
                    stage.dependencies.append(
                        Dependency("mount", reference, instruction, self._stage_for(reference, stage))
                    )

    def _stage_for(self, reference: str, current: Stage) -> Stage | None:
        if reference.isdigit():
            index = int(reference)
            if index < current.index:
                return self.stages[index]
            self.warnings.append(
                f"line {current.from_instruction.start_line}: --from={reference} "
                "does not name an earlier stage"
            )
            return None
        stage = self._by_name.get(reference.lower())
        if stage is not None and stage.index < current.index:
            return stage
        return None

    def _expand(self, text: str, variables: dict[str, str], instruction: Instruction) -> str:
        if "$" not in text and "\\" not in text and "'" not in text and '"' not in text:
            return text
        try:
            return process(text, variables, escape=self.dockerfile.escape).result
        except ExpansionError as exc:
            self.warnings.append(f"line {instruction.start_line}: {exc}")
            return text

    # ------------------------------------------------------------------ queries
    def stage(self, reference: str | int) -> Stage | None:
        if isinstance(reference, int) or str(reference).isdigit():
            index = int(reference)
            return self.stages[index] if 0 <= index < len(self.stages) else None
        return self._by_name.get(str(reference).lower())

    @property
    def final_stage(self) -> Stage:
        return self.stages[-1]

    def target_stage(self, target: str | None = None) -> Stage:
        if target is None:
            return self.final_stage
        stage = self.stage(target)
        if stage is None:
            raise KeyError(f"target stage {target!r} not found")
        return stage

    def reachable(self, target: str | None = None) -> list[Stage]:
        """Stages BuildKit builds for ``target`` (default: the last stage), in order."""
        seen: set[int] = set()
        pending = [self.target_stage(target)]
        while pending:
            stage = pending.pop()
            if stage.index in seen:
                continue
            seen.add(stage.index)
            pending.extend(dep.stage for dep in stage.dependencies if dep.stage is not None)
        return [stage for stage in self.stages if stage.index in seen]

    def unreachable(self, target: str | None = None) -> list[Stage]:
        """Stages BuildKit skips but the classic builder still builds."""
        reached = {stage.index for stage in self.reachable(target)}
        return [stage for stage in self.stages if stage.index not in reached]

    def final_chain(self, target: str | None = None) -> list[Stage]:
        """The target stage and the stages it is built FROM: their layers are in the image."""
        chain = []
        stage: Stage | None = self.target_stage(target)
        while stage is not None:
            chain.append(stage)
            stage = stage.parent
        return list(reversed(chain))

    def scope_at(self, instruction: Instruction) -> Scope:
        """The ARG and ENV values visible when ``instruction`` runs (cached; do not mutate)."""
        cached = self._scopes.get(id(instruction))
        if cached is None:
            if instruction.stage_index >= 0:
                # One replay of the stage records every instruction's scope: rules ask for
                # most of them, and replaying from the stage start for each is quadratic.
                self._record_stage_scopes(self.stages[instruction.stage_index])
                cached = self._scopes.get(id(instruction))
            if cached is None:
                cached = self._scopes[id(instruction)] = self._compute_scope(instruction)
        return cached

    def _record_stage_scopes(self, stage: Stage) -> None:
        env: dict[str, str] = {}
        chain = self.final_chain(stage.label) if stage.parent is not None else [stage]
        for ancestor in chain:
            args = automatic_platform_args(self.platform)
            declared: set[str] = set()
            for current in ancestor.instructions:
                if ancestor is stage:
                    self._scopes[id(current)] = Scope(dict(args), dict(env), set(declared))
                self._replay(current, args, env, declared)

    def _compute_scope(self, instruction: Instruction) -> Scope:
        if instruction.stage_index < 0:
            return Scope(dict(self.meta_values), {}, set(self.meta_values))
        stage = self.stages[instruction.stage_index]
        args = automatic_platform_args(self.platform)
        declared: set[str] = set()
        env: dict[str, str] = {}
        chain = self.final_chain(stage.label) if stage.parent is not None else [stage]
        for ancestor in chain:
            args = automatic_platform_args(self.platform)
            declared = set()
            for current in ancestor.instructions:
                if ancestor is stage and current is instruction:
                    return Scope(args, env, declared)
                self._replay(current, args, env, declared)
        return Scope(args, env, declared)

    def _replay(
        self, instruction: Instruction, args: dict[str, str], env: dict[str, str], declared: set[str]
    ) -> None:
        if instruction.keyword == "ARG":
            for definition in self._arg_definitions(instruction):
                declared.add(definition.name)
                value = self._arg_value(definition, {**args, **env}, self.meta_values)
                if value is not None:
                    args[definition.name] = value
        elif instruction.keyword == "ENV":
            before = {**args, **env}
            words = instruction.buildkit_value
            for key, raw in zip(words[::2], words[1::2]):
                env[key] = self._expand(raw, before, instruction)

    def expand(self, instruction: Instruction, text: str) -> str:
        """Expand ``text`` as BuildKit would at ``instruction`` (unknown variables -> empty)."""
        return self._expand(text, self.scope_at(instruction).variables(), instruction)

    def expanded_words(self, instruction: Instruction) -> list[str]:
        """COPY/ADD/EXPOSE/VOLUME words after expansion, as BuildKit processes them."""
        variables = self.scope_at(instruction).variables()
        out: list[str] = []
        for word in instruction.words:
            if instruction.is_json:
                out.append(self._expand(word, variables, instruction))
                continue
            try:
                out.extend(process(word, variables, escape=self.dockerfile.escape).words)
            except ExpansionError as exc:
                self.warnings.append(f"line {instruction.start_line}: {exc}")
                out.append(word)
        return out

    def env_at(self, instruction: Instruction) -> dict[str, str]:
        return self.scope_at(instruction).env

    def instructions(self, stages: Iterable[Stage] | None = None) -> list[Instruction]:
        chosen = self.stages if stages is None else stages
        return [ins for stage in chosen for ins in stage.instructions]


def mounts_of(instruction: Instruction, warnings: list[str] | None = None) -> list[Mount]:
    """The parsed ``--mount`` flags of a RUN instruction."""
    mounts = []
    for value in instruction.flag_values("mount"):
        try:
            mounts.append(parse_mount(value))
        except MountError as exc:
            if warnings is not None:
                warnings.append(f"line {instruction.start_line}: {exc}")
    return mounts


def build_model(
    dockerfile: Dockerfile,
    build_args: dict[str, str] | None = None,
    platform: str = DEFAULT_PLATFORM,
) -> Model:
    return Model(dockerfile, build_args=build_args, platform=platform)
