"""Dependency installs (pip, poetry, uv, npm, yarn, pnpm, go, maven, gradle, R ...) and their manifests."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from decruft.audit.facts.layers import Written
from decruft.shell import ShellCommand


_PACKAGE_VALUE_OPTIONS = frozenset(
    {"-o", "-t", "--target-release", "--default-release", "-c", "--config-file", "--virtual",
     "--repository", "-X", "--root", "-p", "--setopt", "--enablerepo", "--disablerepo",
     "--installroot", "--releasever", "-r", "--repo", "--exclude", "-x"}
)  # fmt: skip
_INSTALL_VERBS = {
    "apt-get": ("install",), "apt": ("install",), "aptitude": ("install",),
    "apk": ("add",), "yum": ("install", "groupinstall"), "dnf": ("install", "groupinstall"),
    "microdnf": ("install",), "tdnf": ("install",), "zypper": ("install", "in"),
}  # fmt: skip


def package_install(command: ShellCommand) -> tuple[str, list[str]] | None:
    """``(manager, packages)`` for an OS package install (apt/apk/yum/dnf/zypper), else None.

    Version pins are dropped (``gcc=4:12.2`` -> ``gcc``); groups (``dnf groupinstall``,
    ``dnf group install``) come back as ``@Group Name``. Worked out once per command
    (several rules ask); the answer is shared: do not modify it.
    """
    return _once(command, "package-install", _package_install)


def _once(command: ShellCommand, key: str, compute):
    derived = command.derived
    if key not in derived:
        derived[key] = compute(command)
    return derived[key]


def _package_install(command: ShellCommand) -> tuple[str, list[str]] | None:
    argv = command.argv
    manager = argv[0].rsplit("/", 1)[-1] if argv else ""
    verbs = _INSTALL_VERBS.get(manager)
    if verbs is None:
        return None
    packages: list[str] = []
    verb_seen = False
    group = False
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            skip = arg in _PACKAGE_VALUE_OPTIONS
            continue
        if not verb_seen:
            if arg == "group" and manager in ("dnf", "yum"):
                group = True
                continue
            if arg not in verbs:
                return None
            verb_seen = True
            group = group or arg == "groupinstall"
            continue
        if group:
            packages.append("@" + arg)
            continue
        name = re.split(r"[=<>]", arg, maxsplit=1)[0]
        if name:
            packages.append(name)
    return (manager, packages) if verb_seen else None


@dataclass(slots=True)
class DependencyInstall:
    """A command that installs dependencies (or builds while fetching them).

    ``manifests`` are the files the step reads from the build context (globs allowed);
    empty when the step does not depend on the context (``pip install gunicorn``,
    ``apt-get install curl``): such a step can simply move above a broad COPY.
    ``kind`` is "deps" (an install), "build" (a compile that also fetches dependencies:
    ``cargo build``, ``go build``, ``mvn package``) or "os" (a system package install).
    Installing built artifacts (``pip install dist/*.whl``) is not a dependency install.
    """

    command: ShellCommand
    ecosystem: str
    tool: str
    kind: str
    manifests: tuple[str, ...]


_DEP_PYTHON_NAME = re.compile(r"python(?:\d+(?:\.\d+)?)?\Z")
_DEP_PIP_NAME = re.compile(r"pip(?:\d+(?:\.\d+)?)?\Z")
_R_INSTALL = re.compile(
    r"install\.packages|remotes::|devtools::|renv::restore|BiocManager::install|pak::|install_deps"
)
PYTHON_PROJECT = ("pyproject.toml", "setup.py", "setup.cfg")
NODE_MANIFESTS = {
    "npm": ("package.json", "package-lock.json", "npm-shrinkwrap.json"),
    "yarn": ("package.json", "yarn.lock", ".yarnrc.yml", ".yarn/releases"),
    "pnpm": ("package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml"),
    "bun": ("package.json", "bun.lockb", "bun.lock"),
}
GRADLE_MANIFESTS = (
    "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts",
    "gradle.properties", "gradle/", "gradlew",
)  # fmt: skip
_MVN_DEPS_GOALS = ("dependency:go-offline", "dependency:resolve", "dependency:resolve-plugins")
_MVN_BUILD_GOALS = frozenset({"package", "install", "verify", "compile", "test", "deploy"})
_GRADLE_BUILD_TASKS = frozenset(
    {"build", "assemble", "bootJar", "shadowJar", "jar", "installDist", "war", "bootWar", "classes"}
)  # fmt: skip
_NPM_INSTALL = frozenset({"ci", "install", "i", "isntall", "add"})


_DEP_TOOLS = frozenset(
    {"uv", "poetry", "pipenv", "conda", "mamba", "micromamba", "npm", "pnpm", "bun", "yarn", "go",
     "bundle", "bundler", "composer", "mvn", "mvnw", "gradle", "gradlew", "cargo", "dotnet", "mix",
     "Rscript", "R", "install2.r", "installGithub.r"}
) | frozenset(_INSTALL_VERBS)  # fmt: skip


def dependency_install(command: ShellCommand) -> DependencyInstall | None:
    """What dependency install (if any) ``command`` runs; see :class:`DependencyInstall`.

    Worked out once per command, like `package_install`."""
    return _once(command, "dependency-install", _dependency_install)


def _dependency_install(command: ShellCommand) -> DependencyInstall | None:
    argv = command.argv
    if not argv:
        return None
    name = argv[0].rsplit("/", 1)[-1]
    if name not in _DEP_TOOLS and not name.startswith(("pip", "python")):
        return None
    args = argv[1:]
    sub = next((arg for arg in args if not arg.startswith("-")), None)
    if _DEP_PIP_NAME.match(name):
        return _pip(command, args, "pip")
    if _DEP_PYTHON_NAME.match(name) and args[:2] == ["-m", "pip"]:
        return _pip(command, args[2:], "pip")
    if name == "uv":
        if sub == "sync":
            return DependencyInstall(command, "python", "uv", "deps", ("pyproject.toml", "uv.lock"))
        if sub == "pip":
            rest = args[args.index("pip") + 1 :]
            if rest[:1] == ["sync"]:
                files = tuple(_basename_of(arg) for arg in rest[1:] if not arg.startswith("-"))
                return DependencyInstall(command, "python", "uv", "deps", files or ("requirements.txt",))
            return _pip(command, rest, "uv")
        return None
    if name == "poetry" and sub == "install":
        return DependencyInstall(command, "python", "poetry", "deps", ("pyproject.toml", "poetry.lock"))
    if name == "pipenv" and sub in ("install", "sync"):
        return DependencyInstall(command, "python", "pipenv", "deps", ("Pipfile", "Pipfile.lock"))
    if name in ("conda", "mamba", "micromamba"):
        return _conda(command, args)
    if name in ("npm", "pnpm", "bun", "yarn"):
        return _node(command, name, args)
    if name == "go":
        return _go(command, args)
    if name in ("bundle", "bundler") and sub in ("install", None):
        return DependencyInstall(command, "ruby", "bundler", "deps", ("Gemfile", "Gemfile.lock"))
    if name == "composer" and sub in ("install", "update"):
        return DependencyInstall(command, "php", "composer", "deps", ("composer.json", "composer.lock"))
    if name in ("mvn", "mvnw"):
        return _maven(command, args)
    if name in ("gradle", "gradlew"):
        return _gradle(command, args)
    if name == "cargo":
        if sub == "fetch" or args[:2] == ["chef", "cook"]:
            manifests = ("recipe.json",) if sub == "chef" else ("Cargo.toml", "Cargo.lock")
            return DependencyInstall(command, "rust", "cargo", "deps", manifests)
        if sub == "build" or (sub == "install" and "--path" in args):
            return DependencyInstall(command, "rust", "cargo", "build", ("Cargo.toml", "Cargo.lock"))
        return None
    if name == "dotnet":
        manifests = ("*.csproj", "*.sln", "NuGet.config")
        if sub == "restore":
            return DependencyInstall(command, "dotnet", "dotnet", "deps", manifests)
        if sub in ("build", "publish"):
            return DependencyInstall(command, "dotnet", "dotnet", "build", manifests)
        return None
    if name == "mix" and sub == "deps.get":
        return DependencyInstall(command, "elixir", "mix", "deps", ("mix.exs", "mix.lock"))
    if name in ("Rscript", "R"):
        return _r(command, args)
    if name in ("install2.r", "installGithub.r"):
        return DependencyInstall(command, "r", name, "deps", ())
    packages = package_install(command)
    if packages is not None:
        return DependencyInstall(command, "os", packages[0], "os", ())
    return None


def _basename_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _manifest_name(path: str) -> str:
    """A manifest as the context names it: relative paths kept, image paths by file name."""
    return _basename_of(path) if path.startswith("/") else posixpath.normpath(path)


def _pip(command: ShellCommand, args: list[str], tool: str) -> DependencyInstall | None:
    if not args or args[0] != "install":
        return None
    manifests: list[str] = []
    rest = args[1:]
    skip = False
    for position, arg in enumerate(rest):
        if skip:
            skip = False
            continue
        for flag in ("-r", "--requirement", "-c", "--constraint"):
            if arg == flag and position + 1 < len(rest):
                manifests.append(_manifest_name(rest[position + 1]))
                skip = True
            elif arg.startswith(flag + "=") or (
                flag in ("-r", "-c") and arg.startswith(flag) and len(arg) > 2
            ):
                manifests.append(_manifest_name(arg.split("=", 1)[-1] if "=" in arg else arg[2:]))
        if skip or arg.startswith("-"):
            continue
        if arg.endswith((".whl", ".tar.gz", ".zip")) or "*" in arg:
            return None  # installs built artifacts (wheels, sdists), not dependencies
        if arg in (".", "./") or arg.startswith(("./", "/", "../", ".[")):
            manifests.extend(PYTHON_PROJECT)
    return DependencyInstall(command, "python", tool, "deps", tuple(dict.fromkeys(manifests)))


def _conda(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    words = [arg for arg in args if not arg.startswith("-")]
    if not words:
        return None
    if words[:2] in (["env", "create"], ["env", "update"]) or words[0] in ("install", "create", "update"):
        files = [_basename_of(value) for value in _values_of(args, ("-f", "--file"))]
        if words[:1] == ["env"] and not files:
            files = ["environment.yml"]
        return DependencyInstall(command, "conda", command.name, "deps", tuple(files))
    return None


def _values_of(args: list[str], names: tuple[str, ...]) -> list[str]:
    values = []
    for position, arg in enumerate(args):
        for name in names:
            if arg == name and position + 1 < len(args):
                values.append(args[position + 1])
            elif arg.startswith(name + "="):
                values.append(arg[len(name) + 1 :])
    return values


def _node(command: ShellCommand, tool: str, args: list[str]) -> DependencyInstall | None:
    sub = command.subcommand
    positional = [arg for arg in args if not arg.startswith("-")]
    if tool == "yarn":
        if sub in (None, "install"):
            return DependencyInstall(command, "node", "yarn", "deps", NODE_MANIFESTS["yarn"])
        if sub == "add" or positional[:2] == ["global", "add"]:
            return DependencyInstall(command, "node", "yarn", "deps", ())
        return None
    if tool == "pnpm" and sub == "fetch":
        return DependencyInstall(command, "node", "pnpm", "deps", ("pnpm-lock.yaml",))
    if sub not in _NPM_INSTALL:
        return None
    packages = positional[1:]
    if sub == "add" or packages or command.has_flag("-g", "--global"):
        return DependencyInstall(command, "node", tool, "deps", ())
    return DependencyInstall(command, "node", tool, "deps", NODE_MANIFESTS[tool])


def _go(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    positional = [arg for arg in args if not arg.startswith("-")]
    if positional[:2] == ["mod", "download"]:
        return DependencyInstall(command, "go", "go", "deps", ("go.mod", "go.sum"))
    if positional[:1] in (["build"], ["install"], ["test"]):
        if positional[:1] == ["install"] and any("@" in arg for arg in positional[1:]):
            return DependencyInstall(command, "go", "go", "deps", ())
        return DependencyInstall(command, "go", "go", "build", ("go.mod", "go.sum"))
    return None


def _maven(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    goals = [arg for arg in args if not arg.startswith("-")]
    if any(goal.startswith(_MVN_DEPS_GOALS) or goal.endswith(_MVN_DEPS_GOALS) for goal in goals):
        return DependencyInstall(command, "java", "maven", "deps", ("pom.xml",))
    if any(goal in _MVN_BUILD_GOALS or goal.endswith(":repackage") for goal in goals):
        return DependencyInstall(command, "java", "maven", "build", ("pom.xml",))
    return None


def _gradle(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    tasks = [arg.lstrip(":") for arg in args if not arg.startswith("-")]
    if "dependencies" in tasks or "--refresh-dependencies" in args and not tasks:
        return DependencyInstall(command, "java", "gradle", "deps", GRADLE_MANIFESTS)
    if any(task.rsplit(":", 1)[-1] in _GRADLE_BUILD_TASKS for task in tasks):
        return DependencyInstall(command, "java", "gradle", "build", GRADLE_MANIFESTS)
    return None


def _r(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    if command.name == "R" and args[:2] == ["CMD", "INSTALL"]:
        return DependencyInstall(command, "r", "R CMD INSTALL", "deps", ("DESCRIPTION",))
    code = " ".join(args)
    if not _R_INSTALL.search(code):
        return None
    if "renv::restore" in code:
        manifests: tuple[str, ...] = ("renv.lock",)
    elif "install_deps" in code or "install_local" in code or "devtools::install(" in code:
        manifests = ("DESCRIPTION",)
    else:
        manifests = ()
    return DependencyInstall(command, "r", command.name, "deps", manifests)


_SMALL_FILE = re.compile(
    r"\.(txt|sh|bash|json|toml|lock|cfg|ini|ya?ml|conf|py|rb|js|env|properties|xml|md)$",
    re.IGNORECASE,
)
SMALL_BYTES = 100_000  # below this a measured duplicate or leftover is only worth a hint


def likely_small_file(written: Written) -> bool:
    """A single copied file whose name says manifest, config or script (not an archive)."""
    return not written.tree and bool(written.source) and bool(_SMALL_FILE.search(written.source or ""))


