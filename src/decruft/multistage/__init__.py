"""``decruft fix --multistage``: turn a single-stage Dockerfile into a build stage and a slim
runtime stage, with the runtime libraries inferred from the built artifacts, and write it only
when both images build and behave alike.

Design
------
* `plan_conversion` (pure, no engine): reads the stage to convert (the only one, or the final
  stage of a multi-stage file that still ships a toolchain), recognises the ecosystem and asks
  its module (`python`, `node`, `r`, `java`, `native`, `system`) for a `Plan`: the build stage (the
  user's own stage, kept verbatim but for small insertions), the paths the runtime copies from
  it, the runtime base (the slim variant of the same family), the instructions carried over
  (ENV, ARG, WORKDIR, USER, EXPOSE, VOLUME, LABEL, HEALTHCHECK, ENTRYPOINT/CMD, STOPSIGNAL,
  SHELL) and extra checks. Anything it cannot handle raises `NotConvertible` with the reason;
  nothing is ever half converted. A plan that can fail where a plainer one would not (Node's
  production dependencies installed apart) carries that plainer plan as its ``fallback``.
* `convert_file` (`decruft.multistage.convert`): builds the original and the build stage with
  BuildKit, streams the artifacts out of the build stage and reads their ELF files
  (`runtime_deps`), resolves the needed libraries to packages inside the build image,
  subtracts the runtime base's packages, renders the runtime stage, builds it and runs the
  smoke check of ``fix --verify`` in both images plus the ecosystem's checks (every Python
  requirement imports, every Node production dependency can be ``require``d). When a plan
  fails in one of the ways its ``fallback_when`` names, its fallback is verified instead.

Why hand-written: no library converts Dockerfiles to multi-stage builds deterministically (the
published approaches are a research prototype and LLM prompts); the pieces that exist are
used: decruft's own lossless parser and model, BuildKit for builds, docker-py for containers
and archives, pyelftools for ELF.
"""

from __future__ import annotations

from pathlib import Path

from decruft.multistage.plan import Artifact, ExtraCheck, NotConvertible, Plan, read_stage

__all__ = ["Artifact", "ExtraCheck", "NotConvertible", "Plan", "plan_conversion", "convert_file",
           "ConvertOptions", "Conversion", "ECOSYSTEMS"]

#: Detection order: the first ecosystem whose detector matches plans the conversion.
ECOSYSTEMS = ("python", "node", "r", "java", "make-install", "go", "apt-service")


def plan_conversion(source: str, path: str = "Dockerfile", *, context: Path | None = None,
                    build_args: dict[str, str] | None = None, external_registry: str | None = None) -> Plan:
    """The conversion plan for ``source`` (raises `NotConvertible` with the reason).

    ``external_registry``: a mirror of the official images that binaries are copied from."""
    from decruft.multistage import java, native, node, python, r, system

    facts = read_stage(source, path, build_args)
    facts.external_registry = external_registry
    detectors = {
        "python": (python.detect, python.plan),
        "node": (node.detect, node.plan),
        "r": (r.detect, r.plan),
        "java": (java.detect, java.plan),
        "make-install": (native.detect_install, native.plan_install),
        "go": (native.detect_go, native.plan_binary),
        "apt-service": (system.detect, system.plan),
    }
    for name in ECOSYSTEMS:
        detect, make_plan = detectors[name]
        if detect(facts):
            plan = _planned(make_plan, facts, context)
            if plan.fallback_options:
                plan.fallback = _planned(make_plan, facts, context, **plan.fallback_options)
            return plan
    raise NotConvertible(
        "no build to separate: decruft converts Python (pip, poetry, pipenv, uv), Node (npm, yarn, pnpm), "
        "Go and other compiled programs, C/C++ make/cmake install, R, Java (Maven, Gradle) and services "
        "installed with apt"
    )


def _planned(make_plan, facts, context: Path | None, **options) -> Plan:
    # Planning notes the official-image binaries it copies in the facts: each plan gets its own.
    facts.binaries_copied = []
    plan = make_plan(facts, context, **options)
    plan.runtime_users = list(facts.user_commands)
    plan.explanation += facts.binaries_copied
    return plan


def __getattr__(name: str):
    if name in ("convert_file", "ConvertOptions", "Conversion"):
        from decruft.multistage import convert

        return getattr(convert, name)
    raise AttributeError(name)
