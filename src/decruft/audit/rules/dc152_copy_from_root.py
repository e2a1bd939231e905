"""DC152: ``COPY --from=<stage or image> / <dest>`` copies a whole root filesystem."""

from __future__ import annotations

from decruft.audit.context import ROOT_SOURCES, RuleContext
from decruft.audit.facts import copy_destination, copy_sources
from decruft.audit.rule import Applicability, Fix, Severity, Stake, rule


@rule(
    code="DC152",
    name="copy-from-root",
    severity=Severity.WARNING,
    summary="COPY --from copies the whole root filesystem of a stage or image",
    why="""
A multi-stage build keeps compilers, caches and sources in the builder stage and
copies only the results.  `COPY --from=build / /` (or `/.`, `.`) copies everything
instead: the builder's base image, its toolchain, package lists and caches all land
in the final image, and onto another base they also overwrite its files.

Copying a whole stage into `FROM scratch` is sometimes done on purpose to squash
layers: it does hide bytes deleted in later layers, but the result shares no layer
with any base image (every pull and push moves all of it) and keeps the build
tools; reported as info.
""",
    bad="""
FROM golang:1.22 AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static
COPY --from=build / /
""",
    good="""
FROM golang:1.22 AS build
RUN go build -o /out/app .
FROM gcr.io/distroless/static
COPY --from=build /out/app /app
""",
    fix="describes it: copy only the paths the runtime needs",
    applicability=Applicability.DISPLAY,
)
def check(context: RuleContext):
    for instruction in context.instructions("COPY"):
        reference = instruction.flag_value("from")
        if reference is None:
            continue
        sources = copy_sources(context, instruction)
        if not any(source in ROOT_SOURCES for source in sources):
            continue
        stage = context.stage_of(instruction)
        dest = copy_destination(context, instruction) or "?"
        source_stage = next(
            (dep.stage for dep in stage.dependencies if dep.instruction is instruction), None
        )
        what = f"stage '{source_stage.label}'" if source_stage is not None else f"image {reference}"
        severity = None
        if stage.is_scratch and dest.rstrip("/.") == "" and stage.instructions[0] is instruction:
            severity = Severity.INFO
            message = (
                f"copies the whole filesystem of {what} into scratch: this squashes layers, but "
                "keeps everything the stage installed and shares no layer with a base image"
            )
        elif context.ships(instruction):
            message = (
                f"copies the whole filesystem of {what} to {dest}: its base image, build tools and "
                "caches all ship; copy only the paths the runtime needs"
            )
        else:
            message = (
                f"copies the whole filesystem of {what} to {dest} in stage '{stage.label}': "
                "copy only the paths that stage needs"
            )
        yield context.report(
            "DC152",
            instruction,
            message,
            severity=severity,
            stake=Stake(note=f"everything in {what}"),
            fix=Fix(
                f"replace it with COPY --from={reference} of the build outputs only "
                "(binaries, the virtualenv or site library, static assets)",
                Applicability.DISPLAY,
            ),
        )
