"""DC140: the final image is built on a full image where a slim variant exists."""

from __future__ import annotations

from decruft.audit.context import RuleContext, data_table
from decruft.audit.facts import ImageReference, image_family, parse_image_reference, tag_is_slim
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, rule
from decruft.dockerfile.nodes import Instruction, Span


@rule(
    code="DC140",
    name="full-base-image",
    severity=Severity.WARNING,
    summary="the final image is based on a full image where a slim variant exists",
    why="""
The default tags of the official language images (`python:3.12`, `node:20`,
`ruby:3.3`) are built on `buildpack-deps`: compilers, headers, version control and
hundreds of libraries, about 1 GB before your own layers.  Their `-slim` variants
carry the same runtime on a minimal Debian, a few hundred MB smaller; the rest is
only needed to *build* native extensions, which belongs in a build stage.  Only
the base at the bottom of the final image's FROM chain matters: builder stages may
use the full image.  The family table is `decruft/data/base_images.toml`; SDK
images (golang, rust, maven, gradle, gcc) are DC150's.
""",
    bad="""
FROM python:3.12
COPY . /app
""",
    good="""
FROM python:3.12-slim
COPY . /app
""",
    fix="rewrite the tag in the FROM line to the family's slim variant (`3.12` -> `3.12-slim`)",
    applicability=Applicability.UNSAFE,
)
def check(context: RuleContext):
    root = context.image_stages[0]
    if root.is_scratch or not root.base_resolved or "$" in root.base_resolved:
        return
    reference = parse_image_reference(root.base_resolved)
    found = image_family(reference)
    if found is None:
        return
    name, family = found
    if family.get("runtime_only") or tag_is_slim(reference.tag, family):
        return
    slim_tag = _slim_tag(reference.tag, family)
    shown = f"{reference.repository}:{reference.tag or 'latest'}"
    if slim_tag is not None:
        suggestion = f"{reference.repository}:{slim_tag}"
    else:
        major = (reference.tag or "").split(".", 1)[0].split("-", 1)[0] or "<version>"
        suggestion = family.get("suggest", "").format(
            version=reference.tag or "latest", major=major, image=shown
        )
    if not suggestion:
        return
    saving = int(family.get("saving", 0)) or None
    caveat = family.get("caveat", "")
    message = (
        f"the final image is based on {shown}, a full image; {suggestion} is smaller"
        + (f" ({caveat})" if caveat else "")
    )
    yield context.report(
        "DC140",
        root.from_instruction,
        message,
        stake=Stake(bytes=saving, measured=False),
        fix=_fix(root.from_instruction, reference, slim_tag, suggestion),
        stage_aware=False,
    )


def _slim_tag(tag: str | None, family: dict) -> str | None:
    style = family.get("slim_style")
    if style is None:
        return None
    if tag is None or tag == "latest":
        return family.get("latest")
    parts = tag.split("-")
    suites = data_table("base_images.toml").get("suites", [])
    if style == "slim-suite":
        for index, part in enumerate(parts):
            if part in suites:
                return "-".join([*parts[:index], "slim", *parts[index:]])
    return f"{tag}-slim"


def _fix(instruction: Instruction, reference: ImageReference, slim_tag: str | None, suggestion: str) -> Fix:
    description = f"switch the base to {suggestion}"
    written = instruction.buildkit_value[0] if instruction.buildkit_value else ""
    if slim_tag is None or reference.digest is not None or "$" in written:
        reason = " (by hand: the reference is pinned by digest or built from ARGs)" if slim_tag else ""
        return Fix(description + reason, Applicability.UNSAFE)
    offset = instruction.args.find(written)
    if offset < 0:
        return Fix(description, Applicability.UNSAFE)
    start = instruction.args_offset + offset
    span: Span = instruction.logical_span(start, start + len(written))
    replacement = f"{parse_image_reference(written).name_part}:{slim_tag}"
    return Fix(
        description + " (unsafe: the slim image lacks compilers and some libraries; rebuild and test)",
        Applicability.UNSAFE,
        [Edit(span, replacement)],
    )
