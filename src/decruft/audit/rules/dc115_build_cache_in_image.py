"""DC115: Go, Cargo, Maven and Gradle caches built into the final image."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
    ToolCall,
    cache_dirs,
    insert_run_flags,
    mounts_cache,
    removes_cache,
    run_env,
    stake,
    tool_calls,
)
from decruft.audit.rule import Applicability, Fix, Severity, rule

_GO_COMPILES = frozenset({"build", "install", "test", "vet", "run"})
_GO_DOWNLOADS = frozenset({"mod download", "get"})
_CARGO_REGISTRY = frozenset({"build", "install", "fetch", "test", "check", "run"})
_CARGO_TARGET = frozenset({"build", "test", "check", "run"})
_FILLS = {
    "go": _GO_COMPILES | _GO_DOWNLOADS,
    "cargo": _CARGO_REGISTRY,
    "maven": frozenset({"build"}),
    "gradle": frozenset({"build"}),
}
_LABELS = {
    "go": ("Go build cache", "Go module cache"),
    "cargo": ("Cargo registry", "Cargo git checkouts", "target/ build directory"),
    "maven": ("Maven repository",),
    "gradle": ("Gradle caches", "Gradle wrapper distributions"),
}
_STAKES = {"go": "go_cache", "cargo": "cargo_cache", "maven": "maven_cache", "gradle": "gradle_cache"}


@rule(
    code="DC115",
    name="build-cache-in-image",
    severity=Severity.WARNING,
    summary="a Go, Cargo, Maven or Gradle build leaves its caches in the shipped image",
    why="""
Compilers and build tools keep large caches: Go's build cache (~/.cache/go-build)
and module cache (/go/pkg/mod), Cargo's registry (~/.cargo/registry, or
/usr/local/cargo/registry in the rust image) and the target/ directory, Maven's
~/.m2/repository, Gradle's ~/.gradle/caches.  Hundreds of MB that the running
application never reads.  This rule reports them only where the bytes ship: in
the final image's stages, or a stage copied whole (`COPY --from=x / /`).  A builder
stage whose artifact is copied out is the fix, not a problem, so it is not
reported (DC131 suggests cache mounts there for speed).

A step is fine when each cache it fills is removed later in the same RUN
(`go clean -cache -modcache`, `cargo clean`, `rm -rf ~/.m2/repository`...) or is a
cache mount.  `go build` counts as filling the module cache unless an earlier RUN
in the stage ran `go mod download` (then that RUN is reported) or it builds with
-mod=vendor.
""",
    bad="""
FROM golang:1.22
COPY . .
RUN go build -o /app .
CMD ["/app"]
""",
    good="""
FROM golang:1.22 AS build
COPY . .
RUN go build -o /app .
FROM gcr.io/distroless/static
COPY --from=build /app /app
CMD ["/app"]
""",
    fix="add cache mounts for the caches (unsafe: needs BuildKit, and a later step that expects the cache in the image re-downloads it or fails offline); a multi-stage build is the real fix",
    applicability=Applicability.UNSAFE,
)
def check(context: RuleContext):
    for step in context.runs():
        instruction = step.instruction
        calls = tool_calls(instruction.shell, "go", "cargo", "maven", "gradle")
        if not calls or not context.ships(instruction):
            continue
        env = None
        for tool in ("go", "cargo", "maven", "gradle"):
            mine = [call for call in calls if call.tool == tool and call.verb in _FILLS[tool]]
            if not mine:
                continue
            if env is None:
                env = run_env(context, instruction)
            left = _leftovers(context, step, tool, mine, calls, env)
            if not left:
                continue
            last = mine[-1]
            names = ", ".join(f"{label} ({path})" for label, path, _ in left)
            mountable = [path for _, path, output in left if not output]
            fix = None
            if mountable:
                flags = [f"--mount=type=cache,target={path}" for path in mountable]
                fix = Fix(
                    "add " + " ".join(flags) + " (or build in a separate stage and copy the artifact)",
                    Applicability.UNSAFE,
                    [insert_run_flags(instruction, *flags)],
                )
            yield context.report(
                "DC115",
                last.command.span,
                f"`{_display(last)}` leaves {names} in the image; build in a separate stage "
                "and copy the artifact, or use cache mounts",
                instruction=instruction,
                stake=stake(_STAKES[tool]),
                fix=fix,
            )


def _display(call: ToolCall) -> str:
    if call.tool in ("maven", "gradle"):
        return " ".join(call.command.argv[:2])
    return f"{call.program} {call.verb}"


def _leftovers(context, step, tool: str, mine: list[ToolCall], calls: list[ToolCall], env) -> list[tuple[str, str, bool]]:
    """(label, directory, is-build-output) for each cache the calls fill and the RUN keeps."""
    instruction = step.instruction
    script = instruction.shell
    last = mine[-1].command.index
    scope = dict(env)
    for call in mine:
        for assignment in call.command.assignments:
            key, _, value = assignment.partition("=")
            scope[key] = value.strip("'\"")
    dirs = cache_dirs(context, instruction, tool, scope)
    labels = _LABELS[tool]
    wanted: list[tuple[str, str, bool]] = []
    verbs = {call.verb for call in mine}
    if tool == "go":
        if verbs & _GO_COMPILES:
            wanted.append((labels[0], dirs[0], False))
        downloads = verbs & _GO_DOWNLOADS or any(
            call.verb == "install" and any("@" in operand for operand in call.operands()) for call in mine
        )
        vendored = "-mod=vendor" in scope.get("GOFLAGS", "") or any(
            call.command.word_after("-mod") == "vendor" or "-mod=vendor" in call.rest for call in mine
        )
        if downloads or (verbs & _GO_COMPILES and not vendored and not _downloaded_before(context, step)):
            wanted.append((labels[1], dirs[1], False))
    elif tool == "cargo":
        if verbs & _CARGO_REGISTRY:
            wanted.append((labels[0], dirs[0], False))
        if verbs & _CARGO_TARGET:
            target = next((call.command.word_after("--target-dir") for call in mine if call.command.word_after("--target-dir")), None)
            wanted.append((labels[2], (target or dirs[2]).rstrip("/"), True))
    elif tool == "maven":
        local = next((arg.split("=", 1)[1] for call in mine for arg in call.rest if arg.startswith("-Dmaven.repo.local=")), None)
        wanted.append((labels[0], local or dirs[0], False))
    elif tool == "gradle":
        home = next((call.command.word_after("--gradle-user-home", "-g") for call in mine if call.command.word_after("--gradle-user-home", "-g")), None)
        wanted.append((labels[0], f"{home.rstrip('/')}/caches" if home else dirs[0], False))
    cleaned = _cleaned_by_tool(tool, calls, last)
    out = []
    for label, path, output in wanted:
        if label in cleaned:
            continue
        if output:
            if _output_gone(context, instruction, script, path, last, scope):
                continue
        elif mounts_cache(context, instruction, path) or removes_cache(script, [path], after=last, env=scope):
            continue
        out.append((label, path, output))
    return out


def _cleaned_by_tool(tool: str, calls: list[ToolCall], after: int) -> set[str]:
    labels: set[str] = set()
    for call in calls:
        if call.tool != tool or call.command.index <= after or call.verb != "clean":
            continue
        if tool == "go":
            if call.has_flag("-cache"):
                labels.add(_LABELS["go"][0])
            if call.has_flag("-modcache"):
                labels.add(_LABELS["go"][1])
        elif tool == "cargo":
            labels.add(_LABELS["cargo"][2])
    return labels


def _output_gone(context, instruction, script, path: str, after: int, scope) -> bool:
    """cargo's target/: removed (any `.../target`) or mounted later in the same RUN."""
    if path == "target" or not path.startswith("/"):
        for target in context.cache_mount_targets(instruction):
            if target == path or target.endswith("/" + path.rsplit("/", 1)[-1]):
                return True
        for command in script.commands:
            if command.index > after and command.name == "rm":
                for arg in command.positional:
                    if arg.rstrip("/").removeprefix("./") == path or arg.rstrip("/").endswith("/" + path):
                        return True
        return False
    return mounts_cache(context, instruction, path) or removes_cache(script, [path], after=after, env=scope)


def _downloaded_before(context: RuleContext, step) -> bool:
    """An earlier RUN in this stage chain ran `go mod download` (it owns the module cache)."""
    for ancestor in context.model.final_chain(step.stage.label):
        for instruction in ancestor.instructions:
            if instruction is step.instruction:
                return False
            if instruction.keyword == "RUN" and any(
                call.verb == "mod download" for call in tool_calls(instruction.shell, "go")
            ):
                return True
    return False
