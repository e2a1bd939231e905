"""Java (Maven, Gradle): build with the JDK, run the jar on a JRE.

The jar the image runs is read from ``java -jar <file>`` in the ENTRYPOINT/CMD; it is copied to
the same path in the runtime with the library folder next to it (``lib/``, ``dependency/``: what
a manifest ``Class-Path`` names). The runtime is the JRE image of the same vendor and version
(``maven:<v>-eclipse-temurin-17``, ``eclipse-temurin:17-jdk`` -> ``eclipse-temurin:17-jre``), or,
when the JDK came from apt (``default-jdk``, ``openjdk-17-jdk``), the distribution's slim image
with the matching headless JRE package.
A build without ``java -jar`` in exec form is not converted (the class path would have to be
guessed).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from decruft.audit.facts import parse_image_reference
from decruft.multistage.plan import (
    Artifact,
    NotConvertible,
    Plan,
    StageFacts,
    build_name,
    build_stage_text,
    runtime_base_for,
)

BUILDERS = ("mvn", "mvnw", "gradle", "gradlew")


def detect(facts: StageFacts) -> bool:
    return any(c.name in BUILDERS for _i, c in facts.commands)


def jre_for(base: str) -> str:
    """The JRE image for a JDK/Maven/Gradle build image."""
    reference = parse_image_reference(base)
    tag = (reference.tag or "").lower()
    version = None
    match = re.search(r"(?:temurin|jdk|openjdk)-?(\d+)", tag) or re.match(r"(\d+)", tag)
    if reference.repository in ("eclipse-temurin", "openjdk", "amazoncorretto") and re.match(r"(\d+)", tag):
        version = re.match(r"(\d+)", tag).group(1)
    elif match:
        version = match.group(1)
    if version is None:
        raise NotConvertible(f"cannot tell the Java version of {base} (name it in the tag, e.g. -eclipse-temurin-17)")
    return f"eclipse-temurin:{version}-jre"


#: JDK packages of the distributions and the headless runtime that runs what they built.
JRE_PACKAGES = {"default-jdk": "default-jre-headless", "default-jdk-headless": "default-jre-headless"}
#: Where build plugins put the jars a runnable jar's manifest Class-Path names.
LIBRARY_DIRS = ("lib", "libs", "dependency", "dependency-jars")


def _jre_package(name: str) -> str | None:
    if name in JRE_PACKAGES:
        return JRE_PACKAGES[name]
    match = re.fullmatch(r"openjdk-(\d+)-jdk(?:-headless)?", name)
    return f"openjdk-{match.group(1)}-jre-headless" if match else None


def plan(facts: StageFacts, context: Path | None = None) -> Plan:
    entry = facts.entry
    if not entry or "-jar" not in entry:
        raise NotConvertible("Java: the image does not start `java -jar <file>` in exec form")
    jar = entry[entry.index("-jar") + 1] if entry.index("-jar") + 1 < len(entry) else None
    if not jar or "*" in jar or "$" in jar:
        raise NotConvertible("Java: the jar in `java -jar` is not a plain path")
    path = jar if jar.startswith("/") else posixpath.normpath(posixpath.join(facts.final_workdir, jar))
    jdk_packages = [p for p in facts.installed_packages() if _jre_package(p)]
    base_packages: list[str] = []
    if jdk_packages:
        # The JDK came from the distribution: the runtime is its slim image with the headless JRE.
        runtime, manager = runtime_base_for(facts.base)
        base_packages = list(dict.fromkeys(_jre_package(p) for p in jdk_packages))
    else:
        runtime, manager = jre_for(facts.base), "apt"
    name = build_name(facts)
    folder = posixpath.dirname(path)
    artifacts = [Artifact(path, path, "the application jar")]
    artifacts += [Artifact(f"{folder}/{d}", f"{folder}/{d}", "the jars its Class-Path names", optional=True)
                  for d in LIBRARY_DIRS]
    result = Plan(
        ecosystem="java", build_base=facts.base, runtime_base=runtime, build_name=name,
        build_text=build_stage_text(facts, [], [], name), artifacts=artifacts,
        carried=list(facts.carried), workdir=facts.final_workdir, package_manager=manager,
        base_packages=base_packages,
        # Debian's slim images drop man pages; the JRE's postinst registers some with update-alternatives.
        install_prefix="mkdir -p /usr/share/man/man1 && " if base_packages else "",
        allowed_differences=["*"],  # the runtime keeps the jar and its libraries, not the sources or classes
    )
    result.explanation.append(
        f"build stage ({facts.base}): the original build with the JDK; runtime: {path} and its libraries on {runtime}"
        + (f" with {', '.join(base_packages)}" if base_packages else "")
    )
    return result
