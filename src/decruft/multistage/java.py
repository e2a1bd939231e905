"""Java (Maven, Gradle): build with the JDK, run the jar on a JRE.

The jar the image runs is read from ``java -jar <file>`` in the ENTRYPOINT/CMD; it is copied to
the same path in the runtime, which is the JRE image of the same vendor and version
(``maven:<v>-eclipse-temurin-17``, ``eclipse-temurin:17-jdk`` -> ``eclipse-temurin:17-jre``).
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


def plan(facts: StageFacts, context: Path | None = None) -> Plan:
    entry = facts.entry
    if not entry or "-jar" not in entry:
        raise NotConvertible("Java: the image does not start `java -jar <file>` in exec form")
    jar = entry[entry.index("-jar") + 1] if entry.index("-jar") + 1 < len(entry) else None
    if not jar or "*" in jar or "$" in jar:
        raise NotConvertible("Java: the jar in `java -jar` is not a plain path")
    path = jar if jar.startswith("/") else posixpath.normpath(posixpath.join(facts.final_workdir, jar))
    runtime = jre_for(facts.base)
    name = build_name(facts)
    result = Plan(
        ecosystem="java", build_base=facts.base, runtime_base=runtime, build_name=name,
        build_text=build_stage_text(facts, [], [], name), artifacts=[Artifact(path, path, "the application jar")],
        carried=list(facts.carried), workdir=facts.final_workdir, package_manager="apt",
        allowed_differences=["*"],  # the runtime keeps the jar only, not the sources or the build tree
    )
    result.explanation.append(f"build stage ({facts.base}): the original build with the JDK; runtime: {path} on {runtime}")
    return result
