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

import re
from pathlib import Path

from decruft.audit.facts import parse_image_reference
from decruft.multistage.plan import (
    STAGING,
    Artifact,
    Plan,
    StageFacts,
    app_artifacts,
    build_name,
    build_stage_text,
    runtime_base_for,
    user_for_setup,
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
    runtime, manager = runtime_base_for(facts.base)
    installs_r = parse_image_reference(facts.base).repository not in R_IMAGES and any(
        p in ("r-base", "r-base-core", "r-base-dev") for p in facts.installed_packages()
    )
    name = build_name(facts)
    roots = package_roots(facts, context)
    if roots:
        # Only the packages the application loads, with their Depends/Imports closure (computed
        # by R itself in the build stage), staged in one directory: one COPY, one layer. What a
        # Debian r-cran-* package pulled in as a recommendation stays behind.
        appended = user_for_setup(facts) + [f"RUN Rscript -e '{SELECT_PACKAGES}' " + " ".join(sorted(roots))]
        artifacts = [Artifact(f"{R_STAGING}/", "/", "the R packages the application loads and their dependencies")]
    else:
        appended = []
        artifacts = [Artifact(path, path, "the R site library", optional=True) for path in SITE_LIBRARIES]
    build_text = build_stage_text(facts, [], appended, name)
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
        + (f"; then R stages {', '.join(sorted(roots))} and their Depends/Imports in {R_STAGING}" if roots else "")
    )
    return result


R_STAGING = f"{STAGING}/R"
#: R code (no single quotes: it travels inside '...' in a RUN) that copies the packages named on
#: the command line and their recursive Depends/Imports (not LinkingTo: headers are build-time)
#: from the site libraries and the recommended-package library into R_STAGING, under their path.
SELECT_PACKAGES = (
    "ip <- installed.packages(); ip <- ip[!duplicated(ip[, \"Package\"]), , drop = FALSE]; "
    "rownames(ip) <- ip[, \"Package\"]; "
    "roots <- ip[tolower(ip[, \"Package\"]) %in% tolower(commandArgs(TRUE)), \"Package\"]; "
    "deps <- tools::package_dependencies(roots, db = ip, recursive = TRUE, which = c(\"Depends\", \"Imports\")); "
    "need <- intersect(unique(c(roots, unlist(deps))), rownames(ip)); "
    "for (p in need) { if (!is.na(ip[p, \"Priority\"]) && ip[p, \"Priority\"] == \"base\") next; "
    "lib <- ip[p, \"LibPath\"]; dest <- file.path(\"" + R_STAGING + "\", lib); "
    "dir.create(dest, recursive = TRUE, showWarnings = FALSE); "
    "stopifnot(file.copy(file.path(lib, p), dest, recursive = TRUE, copy.date = TRUE)) }; "
    "cat(\"staged\", length(need), \"R packages\\n\")"
)

_LOADS = re.compile(r"\b(?:library|require|requireNamespace|loadNamespace)\s*\(\s*[\"']?([A-Za-z][A-Za-z0-9.]*)")
_NAMESPACED = re.compile(r"\b([A-Za-z][A-Za-z0-9.]*):::?[A-Za-z.]")
_QUOTED = re.compile(r"[\"']([A-Za-z][A-Za-z0-9.]*)[\"']")
_SKIP_DIRS = {".git", "node_modules", "renv", "packrat", ".Rproj.user"}


def package_roots(facts: StageFacts, context: Path | None) -> set[str]:
    """R packages the application needs by name: loaded in its .R files (``library(x)``,
    ``x::f``), installed explicitly (``install.packages``, ``R CMD INSTALL``, ``install2.r``,
    apt ``r-cran-x``). Empty when nothing is known (then the whole site libraries are copied)."""
    roots: set[str] = set()
    for _instruction, command in facts.commands:
        text = " ".join(command.argv)
        if command.name in ("Rscript", "R") and "install.packages" in text:
            roots.update(m for m in _QUOTED.findall(text.split("install.packages", 1)[1]) if m not in ("http", "https"))
        if command.name == "R" and "INSTALL" in command.argv and context is not None:
            for argument in command.argv[command.argv.index("INSTALL") + 1:]:
                roots.update(_description_package(context, facts.workdir(_instruction), argument))
        if command.name in ("install2.r", "installGithub.r"):
            roots.update(a for a in command.positional if "/" not in a)
    roots.update(p.removeprefix("r-cran-") for p in facts.installed_packages() if p.startswith("r-cran-"))
    if context is None:
        return set()
    scripts = 0
    for path in sorted(context.rglob("*")):
        if path.suffix.lower() not in (".r", ".rmd") or any(part in _SKIP_DIRS for part in path.parts):
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        scripts += 1
        roots.update(_LOADS.findall(text))
        roots.update(_NAMESPACED.findall(text))
    if scripts == 0:
        return set()  # the application's code is not in the context: do not guess
    return {r for r in roots if r not in ("base", "utils", "stats", "methods", "tools", "grDevices", "graphics")}


def _description_package(context: Path, workdir: str, argument: str) -> set[str]:
    if argument.startswith("-"):
        return set()
    relative = argument.lstrip("/")
    for candidate in (context / relative, context / Path(argument).name):
        description = candidate / "DESCRIPTION"
        if description.is_file():
            for line in description.read_text(errors="replace").splitlines():
                if line.startswith("Package:"):
                    return {line.split(":", 1)[1].strip()}
    return set()
