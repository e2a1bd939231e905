"""DC151: a stage the build target does not need."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.rule import Applicability, Fix, Severity, Stake, rule


@rule(
    code="DC151",
    name="unused-stage",
    severity=Severity.INFO,
    summary="a build stage is not needed by the target",
    why="""
BuildKit builds only the stages the target reaches (through `FROM <stage>`,
`COPY --from=<stage>` and `RUN --mount=from=<stage>`) and skips the rest; the classic
builder (`DOCKER_BUILDKIT=0`, old CI images) builds every stage up to the target, so
an unused stage costs its full build time there.  An unused stage is also often a
bug: a `COPY --from` that names the wrong stage, or one that was forgotten.  Stages
meant for other targets (`docker build --target test`) are fine: audit with
`--target` to check them.  An unnamed unused stage cannot even be selected with
`--target`, so BuildKit never builds it at all.
""",
    bad="""
FROM golang:1.22 AS build
RUN go build -o /out/app .
FROM golang:1.22 AS tools
RUN go install golang.org/x/tools/cmd/stringer@latest
FROM gcr.io/distroless/static
COPY --from=build /out/app /app
""",
    good="""
FROM golang:1.22 AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static
COPY --from=build /out/app /app
""",
    fix="describes it: delete the stage, or reference it where it was meant to be used",
    applicability=Applicability.DISPLAY,
)
def check(context: RuleContext):
    unused = context.model.unreachable(context.target)
    if not unused:
        return
    target = context.target_stage
    target_name = f"'{target.label}'" if context.target else f"the default target '{target.label}'"
    users: dict[int, list[str]] = {}  # unused stage -> the other unused stages that use it
    for stage in unused:
        for dep in stage.dependencies:
            if dep.stage is not None and stage.label not in users.setdefault(dep.stage.index, []):
                users[dep.stage.index].append(stage.label)
    for stage in unused:
        if stage.index > target.index:
            continue  # after the target: no builder builds it for this target
        why = "BuildKit skips it, but the classic builder (DOCKER_BUILDKIT=0) still builds it"
        if stage.name is None:
            hint = "it has no name, so no --target can select it: delete it or reference it"
        elif users.get(stage.index):
            named = ", ".join(f"'{label}'" for label in users[stage.index])
            hint = f"only stages this target does not build use it ({named})"
        else:
            hint = f"build it with --target {stage.name} if it is meant for another target, else delete it"
        yield context.report(
            "DC151",
            stage.from_instruction,
            f"stage '{stage.label}' is not needed by {target_name}: {why}; {hint}",
            stake=Stake(rebuild="built needlessly by the classic builder"),
            fix=Fix(
                f"delete the stage starting on line {stage.from_instruction.start_line}, or use it "
                "(e.g. a missing COPY --from)",
                Applicability.DISPLAY,
            ),
            stage_aware=False,
        )
