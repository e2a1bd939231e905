"""R: packages compiled in the build stage (``install.packages``, ``R CMD INSTALL``,
``install2.r``) or installed from Debian (``r-cran-*``), then the site libraries copied into a
runtime with R alone.

The build stage keeps ``r-base-dev``, compilers and ``-dev`` libraries. The runtime is the same
R image (``r-base``/``rocker/*`` have no slim variant; here ``r-base`` is ``r-base-core`` on
``debian:bookworm-slim``) with the site libraries that exist in the built stage
(``/usr/local/lib/R/site-library`` for CRAN installs, ``/usr/lib/R/site-library`` for
``r-cran-*``) and the runtime libraries their compiled ``.so`` files need.
"""

from __future__ import annotations

from pathlib import Path

from decruft.audit.facts import parse_image_reference
from decruft.multistage.plan import (
    Artifact,
    Plan,
    StageFacts,
    app_artifacts,
    build_name,
    build_stage_text,
    runtime_base_for,
)

SITE_LIBRARIES = ("/usr/local/lib/R/site-library", "/usr/lib/R/site-library")
R_IMAGES = ("r-base", "rocker/r-ver", "rocker/r-base", "rocker/tidyverse", "rocker/rstudio")


def detect(facts: StageFacts) -> bool:
    if parse_image_reference(facts.base).repository in R_IMAGES:
        return True
    if any(p.startswith("r-cran-") for p in facts.installed_packages()):
        return True
    for _instruction, command in facts.commands:
        text = " ".join(command.argv)
        if command.name in ("Rscript", "R") and ("install.packages" in text or "INSTALL" in command.argv):
            return True
        if command.name in ("install2.r", "installGithub.r"):
            return True
    return False


def plan(facts: StageFacts, context: Path | None = None) -> Plan:
    runtime, manager = runtime_base_for(facts.base, "r")
    installs_r = parse_image_reference(facts.base).repository not in R_IMAGES and any(
        p in ("r-base", "r-base-core", "r-base-dev") for p in facts.installed_packages()
    )
    name = build_name(facts)
    build_text = build_stage_text(facts, [], [], name)
    artifacts = [Artifact(path, path, "the R site library", optional=True) for path in SITE_LIBRARIES]
    artifacts += app_artifacts(facts)
    result = Plan(
        ecosystem="r", build_base=facts.base, runtime_base=runtime, build_name=name, build_text=build_text,
        artifacts=artifacts, carried=list(facts.carried), workdir=facts.final_workdir, package_manager=manager,
    )
    if installs_r:
        # R itself came from apt in the build stage: the runtime needs it too (never -dev).
        result.base_packages.append("r-base-core")
    result.explanation.append(
        f"build stage ({facts.base}): the original steps (compilers, -dev libraries, R packages built or installed)"
    )
    return result
