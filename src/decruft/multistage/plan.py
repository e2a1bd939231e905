"""The pure half of the conversion: read one stage, decide what the build stage keeps and what
the runtime stage gets, and render the converted Dockerfile.

The build stage is the user's own stage, kept byte for byte except for a few insertions (an
``AS build`` alias, a virtualenv before the first ``pip install``, a ``make install
DESTDIR=...`` rerun, a dependency prune at the end). Keeping it verbatim is what makes the
conversion deterministic: whatever built before still builds, with the same cache keys, and the
runtime stage only *takes* from it. Nothing here talks to an engine; the runtime packages (which
need the built build stage) are an argument of `Plan.render`.
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass, field

from decruft.audit.context import data_table
from decruft.audit.facts import parse_image_reference
from decruft.audit.facts.binaries import BinaryInstall, binary_installs, later_blocker, replacement_edits
from decruft.dockerfile import parse
from decruft.dockerfile.model import Model, Stage, build_model
from decruft.dockerfile.nodes import Dockerfile, Instruction
from decruft.errors import DockerfileSyntaxError
from decruft.shell import ShellCommand

#: Instructions the runtime stage carries over from the converted stage, in their order.
CARRIED = ("ARG", "ENV", "WORKDIR", "USER", "EXPOSE", "VOLUME", "LABEL", "HEALTHCHECK",
           "ENTRYPOINT", "CMD", "STOPSIGNAL", "SHELL")  # fmt: skip

#: Where the build stage stages files for the runtime stage.
STAGING = "/decruft"

#: Directories a COPY of the whole application must not land in (the runtime would copy the
#: base image's own files back over the runtime base).
SYSTEM_DIRS = frozenset(
    {"/", "/bin", "/sbin", "/etc", "/lib", "/lib64", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib",
     "/usr/local", "/usr/local/bin", "/usr/local/lib", "/usr/share", "/var", "/var/lib", "/tmp", "/root",
     "/home"}
)  # fmt: skip

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class NotConvertible(Exception):
    """The file is left as it is; ``str(exc)`` is the reason ("not converted: <reason>")."""


@dataclass(slots=True)
class Artifact:
    """A path the runtime stage copies from the build stage (``COPY --from=build``)."""

    source: str  # absolute path in the build stage
    destination: str  # absolute path in the runtime stage
    why: str  # for the explanation
    chown: str | None = None
    optional: bool = False  # copied only when it exists in the built build stage
    scan: bool = True  # look for ELF files in it (runtime libraries)
    stage: str | None = None  # the stage it is copied from, when not the build stage


@dataclass(slots=True)
class ExtraCheck:
    """A command run in both images on top of the smoke check; exit code and output must match."""

    name: str
    command: list[str]
    workdir: str | None = None


@dataclass(slots=True)
class Plan:
    ecosystem: str
    build_base: str
    runtime_base: str
    build_name: str  # the build stage's alias
    build_text: str  # everything up to and including the build stage
    artifacts: list[Artifact] = field(default_factory=list)
    runtime_env: list[tuple[str, str]] = field(default_factory=list)
    runtime_setup: list[str] = field(default_factory=list)  # RUN lines after the copies (as root)
    carried: list[Instruction] = field(default_factory=list)
    base_packages: list[str] = field(default_factory=list)  # installed in the runtime whatever the scan says
    install_prefix: str = ""  # shell run before the runtime install (same RUN)
    runtime_users: list[str] = field(default_factory=list)  # useradd/groupadd... the stage ran
    runtime_tail: list[str] = field(default_factory=list)  # lines after the carried instructions
    explanation: list[str] = field(default_factory=list)
    checks: list[ExtraCheck] = field(default_factory=list)
    allowed_differences: list[str] = field(default_factory=list)  # globs under WORKDIR
    workdir: str = ""
    entry_binary: str | None = None  # resolve this executable in the build image and copy it
    entry_program: str | None = None  # argv[0] of ENTRYPOINT/CMD as written (a bare name needs PATH)
    static_candidate: bool = False  # scratch is allowed when the entry binary is static
    needs_shell: bool = True  # CMD/ENTRYPOINT/HEALTHCHECK need /bin/sh in the runtime
    user_is_numeric: bool = True
    package_manager: str = "apt"  # of the runtime base: apt, apk, dnf, microdnf, none
    # A plan that may fail where a plainer one of the same ecosystem would not: its shape in a few
    # words (for the explanation when it is dropped), the stages and checks whose failure is its
    # shape's fault, and the options that ask the ecosystem's planner for the plainer one.
    title: str = ""
    fallback_when: tuple[str, ...] = ()
    fallback_options: dict[str, object] = field(default_factory=dict)
    fallback: "Plan | None" = None  # filled in by `plan_conversion` from ``fallback_options``

    # ---------------------------------------------------------------- rendering
    def render(self, packages: list[str] | None = None, runtime_base: str | None = None,
               artifacts: list[Artifact] | None = None, extra_env: list[tuple[str, str]] | None = None) -> str:
        """The converted Dockerfile: the build stage as planned, then the runtime stage with
        ``packages`` installed (the runtime libraries inferred from the built artifacts)."""
        base = runtime_base or self.runtime_base
        lines = [self.build_text.rstrip("\n"), "", "# Runtime stage (decruft fix --multistage): only what the app runs with.",
                 f"FROM {base}"]
        install = install_command(self.package_manager if base != "scratch" else "none", packages or [])
        if install:
            lines.append(f"RUN {self.install_prefix}{install}")
        if self.runtime_users and base != "scratch":
            # USER and COPY --chown name accounts the build stage created: the runtime needs them too.
            lines.append("RUN " + " && ".join(self.runtime_users))
        for artifact in artifacts if artifacts is not None else self.artifacts:
            chown = f" --chown={artifact.chown}" if artifact.chown else ""
            lines.append(f"COPY --from={artifact.stage or self.build_name}{chown} {artifact.source} {artifact.destination}")
        env = list(self.runtime_env) + list(extra_env or [])
        if env:
            lines.append("ENV " + " ".join(f"{key}={_quote_env(value)}" for key, value in env))
        for command in self.runtime_setup:
            if base != "scratch":
                lines.append(f"RUN {command}")
        for instruction in self.carried:
            lines.append(instruction.source.rstrip("\n"))
        lines += self.runtime_tail
        return "\n".join(lines) + "\n"


def _quote_env(value: str) -> str:
    if value and all(ch.isalnum() or ch in "/:._-$={}" for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def install_command(manager: str, packages: list[str]) -> str | None:
    """The one RUN that installs the runtime packages, cleaning up in the same layer."""
    if not packages:
        return None
    names = " ".join(sorted(dict.fromkeys(packages)))
    if manager == "apt":
        return ("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
                f"{names} && rm -rf /var/lib/apt/lists/*")
    if manager == "apk":
        return f"apk add --no-cache {names}"
    if manager in ("dnf", "microdnf", "yum"):
        return f"{manager} install -y {names} && {manager} clean all"
    return None


# ------------------------------------------------------------------------------ the stage
@dataclass
class StageFacts:
    """One stage read for conversion: its instructions, shell commands and paths."""

    dockerfile: Dockerfile
    model: Model
    stage: Stage
    base: str
    workdirs: dict[int, str]  # id(instruction) -> WORKDIR in effect
    users: dict[int, str | None]
    commands: list[tuple[Instruction, ShellCommand]]
    context_copies: list[Instruction]
    carried: list[Instruction]
    final_workdir: str
    final_user: str | None
    entry: list[str] | None  # exec-form ENTRYPOINT + CMD words; None when any is shell form
    entry_shell: bool
    user_commands: list[str] = field(default_factory=list)  # useradd/adduser/groupadd/addgroup, as written
    external_registry: str | None = None  # mirror of the official images binaries are copied from
    binaries_copied: list[str] = field(default_factory=list)  # explanation of each install replaced

    def binary_installs(self) -> list[BinaryInstall]:
        """Installs in the stage that an official image's binary replaces (data/external_binaries.toml)."""
        found = []
        for instruction in self.stage.instructions:
            if instruction.keyword != "RUN":
                continue
            user = self.users.get(id(instruction))
            user = None if user in ("root", "0", "0:0") else user
            for install in binary_installs(instruction, self.model.env_at(instruction), user):
                install.blocker = install.blocker or later_blocker(install, self.text[instruction.span.end :])
                found.append(install)
        return found

    @property
    def text(self) -> str:
        return self.dockerfile.text

    def workdir(self, instruction: Instruction) -> str:
        return self.workdirs.get(id(instruction), "/")

    def installed_packages(self) -> list[str]:
        """Names given to apt-get/apt/apk/dnf/yum install (version pins dropped)."""
        names: list[str] = []
        for _instruction, command in self.commands:
            if command.name in ("apt-get", "apt", "aptitude", "dnf", "yum", "microdnf") and command.subcommand == "install":
                names += [_unpin(a) for a in command.positional[1:]]
            elif command.name == "apk" and command.subcommand == "add":
                names += [_unpin(a) for a in command.positional[1:]]
        return names

    def application_paths(self) -> list[tuple[str, str | None, Instruction]]:
        """``(path, chown, instruction)`` of what COPY/ADD put in the image from the context."""
        found: list[tuple[str, str | None, Instruction]] = []
        for instruction in self.context_copies:
            words = [w for w in self.model.expanded_words(instruction)]
            if instruction.heredocs:
                words = [w for w in words if not w.startswith("<<")]
            if not words:
                continue
            destination = words[-1]
            sources = words[:-1] if len(words) > 1 else []
            base = destination if destination.startswith("/") else posixpath.join(self.workdir(instruction), destination)
            base = posixpath.normpath(base) if base not in ("", "/") else "/"
            dir_like = destination.endswith("/") or destination in (".", "./")
            chown = instruction.flag_value("chown")
            if instruction.heredocs and not sources:
                names = [h.name for h in instruction.heredocs]
                paths = [posixpath.join(base, n) for n in names] if dir_like else [base]
            elif dir_like and base in SYSTEM_DIRS and all(s not in (".", "./") and not s.endswith("/") for s in sources):
                # `COPY entrypoint.sh /usr/local/bin/`: the files, never the system directory. (Into
                # any other directory the whole destination is taken: a directory source copies
                # its contents there, and the Dockerfile alone cannot tell a file from a directory.)
                paths = [posixpath.join(base, posixpath.basename(s.rstrip("/"))) for s in sources]
            else:
                paths = [base]
            for path in paths:
                found.append((path, chown, instruction))
        return found


def _unpin(name: str) -> str:
    for separator in ("=", ">", "<"):
        name = name.split(separator, 1)[0]
    return name


def read_stage(source: str, path: str = "Dockerfile", build_args: dict[str, str] | None = None) -> StageFacts:
    """Parse ``source`` and pick the stage to convert (see `choose_stage`)."""
    try:
        dockerfile = parse(source, path=path)
    except DockerfileSyntaxError as exc:
        raise NotConvertible(f"the Dockerfile does not parse: {exc}") from None
    model = build_model(dockerfile, build_args=build_args or {})
    if not model.stages:
        raise NotConvertible("no FROM instruction")
    stage = choose_stage(model)
    if stage.parent is not None:
        raise NotConvertible(f"the final stage is built FROM the earlier stage {stage.parent.label!r}; not split")
    if stage.is_scratch:
        raise NotConvertible("the final stage is FROM scratch already")
    base = stage.base_resolved
    if "$" in base or not base:
        raise NotConvertible(f"the base image {stage.base!r} depends on build arguments decruft cannot resolve")
    workdirs: dict[int, str] = {}
    users: dict[int, str | None] = {}
    commands: list[tuple[Instruction, ShellCommand]] = []
    copies: list[Instruction] = []
    carried: list[Instruction] = []
    workdir = "/"
    user: str | None = None
    entrypoint: Instruction | None = None
    cmd: Instruction | None = None
    for instruction in stage.instructions:
        if instruction is stage.from_instruction:
            continue
        keyword = instruction.keyword
        if keyword == "ONBUILD":
            raise NotConvertible(
                "ONBUILD triggers run in child images that expect this stage's toolchain; a slim runtime "
                "stage would break them"
            )
        workdirs[id(instruction)] = workdir
        users[id(instruction)] = user
        if keyword == "WORKDIR":
            value = model.expand(instruction, instruction.args).strip()
            workdir = posixpath.normpath(posixpath.join(workdir, value)) if value else workdir
        elif keyword == "USER":
            user = model.expand(instruction, instruction.args).strip() or None
        elif keyword == "RUN":
            script = instruction.shell
            if script is not None:
                commands += [(instruction, command) for command in script.commands]
        elif keyword in ("COPY", "ADD"):
            if instruction.flag_value("from") is None:
                copies.append(instruction)
        elif keyword == "ENTRYPOINT":
            entrypoint, cmd = instruction, None  # ENTRYPOINT resets an inherited CMD
        elif keyword == "CMD":
            cmd = instruction
        if keyword in CARRIED:
            carried.append(instruction)
    entry: list[str] | None = []
    entry_shell = False
    for instruction in (entrypoint, cmd):
        if instruction is None:
            continue
        if instruction.json_args is None:
            entry_shell = True
            entry = None
            break
        assert entry is not None
        entry += instruction.json_args
    accounts = [c.text for _i, c in commands if c.name in ACCOUNT_COMMANDS and "$" not in c.text]
    return StageFacts(dockerfile, model, stage, base, workdirs, users, commands, copies, carried,
                      workdir, user, entry, entry_shell, accounts)


ACCOUNT_COMMANDS = frozenset({"useradd", "adduser", "groupadd", "addgroup"})


def choose_stage(model: Model) -> Stage:
    """The stage to split: the only one, or the final one of a multi-stage file when it still
    ships a toolchain. A good multi-stage file raises `NotConvertible` (left alone)."""
    final = model.final_stage
    if len(model.stages) == 1:
        return final
    reasons = toolchain_in(final)
    if not reasons:
        raise NotConvertible("already multi-stage and the final stage ships no toolchain: left alone")
    return final


def toolchain_in(stage: Stage) -> list[str]:
    """Why ``stage`` ships a toolchain: an SDK base image, build tools installed, or a build run."""
    reasons = []
    base = stage.root_base()
    kind = sdk_kind(base)
    if kind:
        reasons.append(f"its base {base} is a {kind}")
    tools = data_table("build_tools.toml")["tools"]
    for instruction in stage.instructions:
        script = instruction.shell if instruction.keyword == "RUN" else None
        for command in script.commands if script is not None else ():
            if command.subcommand in ("install", "add") and command.name in ("apt-get", "apt", "apk", "dnf", "yum"):
                for name in command.positional[1:]:
                    name = _unpin(name)
                    if name in tools["names"] or any(fnmatch.fnmatchcase(name, p) for p in tools["patterns"]):
                        reasons.append(f"it installs {name}")
            if command.name in COMPILERS or (command.name, command.subcommand) in BUILD_COMMANDS:
                reasons.append(f"it runs `{command.name}`")
    return reasons


COMPILERS = frozenset({"make", "gcc", "g++", "cc", "c++", "clang", "clang++", "javac", "rustc", "tsc", "cmake"})
BUILD_COMMANDS = frozenset({("go", "build"), ("go", "install"), ("mvn", "package"), ("mvn", "install"),
                            ("gradle", "build"), ("cargo", "build"), ("cargo", "install")})  # fmt: skip


# ------------------------------------------------------------------------------ base images
def sdk_kind(base: str) -> str | None:
    reference = parse_image_reference(base)
    repository, tag = reference.repository, (reference.tag or "latest").lower()
    if repository in ("golang", "rust", "gcc", "maven", "gradle", "buildpack-deps"):
        return "build image"
    if repository in ("python", "node", "ruby") and not any(p.startswith(("slim", "alpine")) for p in tag.split("-")):
        return "full image with compilers"
    if repository in ("eclipse-temurin", "openjdk", "amazoncorretto") and "jdk" in tag:
        return "JDK image"
    return None


def debian_suite(tag: str | None, default: str = "bookworm") -> str:
    suites = data_table("base_images.toml").get("suites", [])
    for part in (tag or "").lower().split("-"):
        if part in suites:
            return part
    return default


def runtime_base_for(base: str) -> tuple[str, str]:
    """``(runtime base, package manager)`` for a build on ``base``: the slim variant of the
    same family (same libc, same interpreter path), else a slim distribution image."""
    reference = parse_image_reference(base)
    repository = reference.repository
    tag = reference.tag or "latest"
    name = reference.name_part
    parts = tag.lower().split("-")
    alpine = any(p.startswith("alpine") for p in parts)
    manager = "apk" if alpine else "apt"
    if reference.digest is not None:
        raise NotConvertible(f"the base image {base} is pinned by digest; decruft cannot name its slim variant")
    if repository in ("python", "node", "ruby", "perl", "php"):
        if any(p.startswith(("slim", "alpine")) for p in parts):
            return base, manager
        if tag == "latest":
            return f"{name}:slim", manager
        suites = data_table("base_images.toml").get("suites", [])
        if repository in ("python", "ruby", "perl", "php"):
            for index, part in enumerate(parts):
                if part in suites:
                    return f"{name}:" + "-".join([*tag.split("-")[:index], "slim", *tag.split("-")[index:]]), manager
        return f"{name}:{tag}-slim", manager
    if repository == "debian":
        if "slim" in parts:
            return base, manager
        if tag in ("latest", "stable"):
            return f"{name}:stable-slim", manager
        return f"{name}:{tag}-slim", manager
    if repository in ("golang", "gcc", "buildpack-deps", "rust"):
        if alpine:
            version = next((p[len("alpine"):] for p in parts if p.startswith("alpine") and p != "alpine"), "")
            return f"alpine:{version or 'latest'}", "apk"
        return f"debian:{debian_suite(tag)}-slim", "apt"
    if repository in ("ubuntu", "alpine", "r-base", "rocker/r-ver", "rocker/r-base"):
        return base, manager
    if repository in ("fedora", "rockylinux", "almalinux", "centos"):
        return base, "dnf"
    raise NotConvertible(f"no known runtime base for {base} (decruft knows python, node, golang, gcc, debian, "
                         "ubuntu, alpine, buildpack-deps, r-base, maven/gradle/temurin)")


# ------------------------------------------------------------------------------ edits
@dataclass(slots=True)
class Insertion:
    offset: int
    text: str
    end: int | None = None  # replace text[offset:end] when set


def build_stage_text(facts: StageFacts, insertions: list[Insertion], appended: list[str],
                     name: str) -> str:
    """The file up to the end of the converted stage, with the stage named ``name`` and the
    ``insertions`` applied; ``appended`` lines go at the end of the build stage."""
    text = facts.text
    stage = facts.stage
    # First in the list: at an equal offset they must apply before the plan's own insertions.
    edits = _binary_copies(facts, insertions) + list(insertions)
    if stage.name is None:
        from_instruction = stage.from_instruction
        end = from_instruction.args_span.end
        edits.append(Insertion(end, f" AS {name}"))
    end_of_stage = stage.instructions[-1].span.end
    body = text[:end_of_stage]
    for edit in sorted(edits, key=lambda e: e.offset, reverse=True):
        stop = edit.end if edit.end is not None else edit.offset
        body = body[: edit.offset] + edit.text + body[stop:]
    if not body.endswith("\n"):
        body += "\n"
    if appended:
        body += "# Added by decruft fix --multistage: stage what the runtime stage takes.\n"
        body += "".join(line + "\n" for line in appended)
    return body


def _binary_copies(facts: StageFacts, insertions: list[Insertion]) -> list[Insertion]:
    """``COPY --from=<official image>`` in place of the installs it replaces (DC153's edit), where
    it touches none of the plan's own insertions; each one applied is noted in the facts."""
    copies: list[Insertion] = []
    for install in facts.binary_installs():
        edits, why = replacement_edits(install, facts.external_registry)
        if why is not None or any(_overlaps(edit.span.start, edit.span.end, insertions) for edit in edits):
            continue
        copies += [Insertion(edit.span.start, edit.replacement, edit.span.end) for edit in edits]
        facts.binaries_copied.append(
            f"`{install.how}` replaced by `{install.copy_line(facts.external_registry)}`: the official image "
            "ships the binary, so no install step runs (or re-runs) in the build stage"
        )
    return copies


def _overlaps(start: int, end: int, insertions: list[Insertion]) -> bool:
    for other in insertions:
        other_end = other.end if other.end is not None else other.offset
        if other.offset < end and other_end > start or start < other.offset < end:
            return True
    return False


def build_name(facts: StageFacts) -> str:
    if facts.stage.name is not None:
        return facts.stage.name
    taken = {s.name for s in facts.model.stages if s.name}
    return "build" if "build" not in taken else "decruft-build"


def user_for_setup(facts: StageFacts) -> list[str]:
    """``USER root`` before appended build steps when the stage switched user (they need to
    write outside the user's home), as a list of lines."""
    return ["USER root"] if facts.final_user not in (None, "root", "0", "0:0") else []


def app_artifacts(facts: StageFacts, *, why: str = "the application") -> list[Artifact]:
    """The application directories/files COPY put in the image, as built (nested ones folded)."""
    paths = facts.application_paths()
    chowns = chowned_paths(facts)
    artifacts: list[Artifact] = []
    kept: list[str] = []
    for path, chown, _instruction in sorted(paths, key=lambda p: p[0]):
        if path in SYSTEM_DIRS or path == "/":
            raise NotConvertible(
                f"the build context is copied to {path}, a system directory: decruft cannot tell the "
                "application from the base image's files there"
            )
        if any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            continue
        kept.append(path)
        owner = chowns.get(path) or chown
        artifacts.append(Artifact(path, path, why, chown=owner))
    return artifacts


def chowned_paths(facts: StageFacts) -> dict[str, str]:
    """``chown -R owner path`` in a RUN: the runtime copy gets ``--chown=owner``."""
    found: dict[str, str] = {}
    for instruction, command in facts.commands:
        if command.name != "chown" or not command.has_flag("-R", "--recursive"):
            continue
        args = [a for a in command.args if not a.startswith("-")]
        if len(args) < 2 or "$" in "".join(args):
            continue
        owner = args[0]
        for target in args[1:]:
            path = target if target.startswith("/") else posixpath.join(facts.workdir(instruction), target)
            found[posixpath.normpath(path)] = owner
    return found


def is_numeric_user(user: str | None) -> bool:
    if user is None:
        return True
    return all(part.isdigit() for part in user.split(":"))
