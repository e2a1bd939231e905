"""Python: pip (requirements or pyproject), poetry, pipenv, uv and pdm into a virtualenv.

The build stage gets ``python3 -m venv /opt/venv`` and ``VIRTUAL_ENV``/``PATH`` just before the
first command that installs the application's dependencies, so every later install (pip, a
poetry or pipenv that honours the active environment, ``uv pip`` with ``--system`` dropped,
``uv sync`` through ``UV_PROJECT_ENVIRONMENT``) lands in one directory. Tools installed earlier
(``pip install poetry``) stay in the build stage. The runtime stage is the slim image of the
same family (same interpreter at the same path, which the venv's symlinks point to) and gets
the venv and the application directories.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from decruft.multistage.plan import (
    Artifact,
    ExtraCheck,
    Insertion,
    NotConvertible,
    Plan,
    StageFacts,
    app_artifacts,
    build_name,
    build_stage_text,
    runtime_base_for,
)
from decruft.shell import ShellCommand

VENV = "/opt/venv"
#: Packages installed to *run the build*, not by the application.
TOOLS = frozenset({"pip", "setuptools", "wheel", "poetry", "pipenv", "uv", "pdm", "hatch", "build", "virtualenv",
                   "pip-tools", "poetry-plugin-export", "flit"})  # fmt: skip
PIP_NAMES = ("pip", "pip3", "pip3.11", "pip3.12", "pip3.10")

_PIP_OPTIONS_WITH_VALUE = frozenset({
    "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--no-binary",
    "--only-binary", "--trusted-host", "--platform", "--python-version", "--implementation", "--abi", "--src",
    "--progress-bar", "--cache-dir", "--target", "-t", "--prefix", "--root", "--upgrade-strategy",
})
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _pip_args(command: ShellCommand) -> list[str] | None:
    """The arguments after ``pip install`` (``python -m pip install`` too), else None."""
    argv = command.argv
    if command.name in PIP_NAMES:
        rest = argv[1:]
    elif command.name.startswith("python") and len(argv) > 2 and argv[1] == "-m" and argv[2] in ("pip", "pip3"):
        rest = argv[3:]
    else:
        return None
    if not rest or rest[0] != "install":
        return None
    return rest[1:]


def installs_dependencies(command: ShellCommand) -> bool:
    """An install of the application's dependencies (not only of build tools)."""
    pip = _pip_args(command)
    if pip is not None:
        if any(a in ("-r", "--requirement", "-e", "--editable") or a.startswith(("--requirement=", "--editable="))
               for a in pip):
            return True
        operands, skip = [], False
        for arg in pip:
            if skip:
                skip = False
            elif arg in _PIP_OPTIONS_WITH_VALUE:
                skip = True
            elif not arg.startswith("-"):
                operands.append(arg)
        names = [(_REQUIREMENT_NAME.match(o).group(1) if _REQUIREMENT_NAME.match(o) else o).lower() for o in operands]
        return any(n not in TOOLS for n in names)
    name, sub = command.name, command.subcommand
    if name == "poetry" and sub in ("install", "sync"):
        return True
    if name == "pipenv" and sub in ("install", "sync"):
        return True
    if name == "pdm" and sub in ("install", "sync"):
        return True
    if name == "uv" and sub == "sync":
        return True
    if name == "uv" and sub == "pip" and len(command.positional) > 1 and command.positional[1] in ("install", "sync"):
        return True
    return False


def detect(facts: StageFacts) -> bool:
    return any(installs_dependencies(c) for _i, c in facts.commands)


def plan(facts: StageFacts, context: Path | None = None) -> Plan:
    first = next(((i, c) for i, c in facts.commands if installs_dependencies(c)), None)
    if first is None:
        raise NotConvertible("no Python dependency install found")
    runtime, manager = runtime_base_for(facts.base)
    notes: list[str] = []
    insertions: list[Insertion] = []
    environments: list[Artifact] = []
    runtime_env: list[tuple[str, str]] = []
    if first[1].name == "uv" and first[1].subcommand == "sync":
        # uv sync makes the project's own venv (.venv next to pyproject.toml, or
        # $UV_PROJECT_ENVIRONMENT): it travels with the application directory or on its own.
        project_env = facts.model.env_at(first[0]).get("UV_PROJECT_ENVIRONMENT")
        if project_env and project_env.startswith("/"):
            environments.append(Artifact(project_env, project_env, "the project environment uv sync made"))
        notes.append("`uv sync` keeps its own project environment; it is copied with the application")
    else:
        user = facts.users.get(id(first[0]))
        create = f"RUN python3 -m venv {VENV}\n"
        if user not in (None, "root", "0", "0:0"):
            # The installs run as that user: it must own the venv (/opt is root's).
            create = f"USER root\nRUN python3 -m venv {VENV} && chown -R {user} {VENV}\nUSER {user}\n"
        insertions.append(Insertion(
            first[0].span.start, create + f"ENV VIRTUAL_ENV={VENV} PATH=\"{VENV}/bin:$PATH\"\n",
        ))
        environments.append(Artifact(VENV, VENV, "the virtualenv with the dependencies"))
        runtime_env = [("VIRTUAL_ENV", VENV), ("PATH", f"{VENV}/bin:$PATH")]
        for instruction, command in facts.commands:
            if instruction.span.start < first[0].span.start:
                continue
            for word in command.words:
                # `--user` and `--system` would bypass the venv; inside it they have no job to do.
                if word.value == "--user" and _pip_args(command) is not None:
                    insertions.append(Insertion(word.span.start, "", word.span.end))
                    notes.append("`pip install --user` installs into the venv instead")
                elif word.value == "--system" and command.name in ("uv", "pipenv"):
                    insertions.append(Insertion(word.span.start, "", word.span.end))
                    notes.append(f"`{command.name} ... --system` installs into the venv instead")
    name = build_name(facts)
    build_text = build_stage_text(facts, insertions, [], name)
    artifacts = environments + app_artifacts(facts)
    result = Plan(
        ecosystem="python", build_base=facts.base, runtime_base=runtime, build_name=name,
        build_text=build_text, artifacts=artifacts,
        runtime_env=runtime_env,
        carried=list(facts.carried), workdir=facts.final_workdir, package_manager=manager,
    )
    result.explanation.append(
        f"build stage ({facts.base}): the original steps"
        + (f", with the dependencies installed into a virtualenv at {VENV}" if runtime_env else "")
    )
    result.explanation += notes
    requirements = requirement_names(facts, context)
    if requirements:
        result.checks.append(ExtraCheck("python imports", ["python", "-c", IMPORT_CHECK, *requirements],
                                        workdir=facts.final_workdir or None))
    return result


#: Runs in both images: import every top-level module of each requirement; prints one line each.
IMPORT_CHECK = r"""
import importlib, importlib.metadata as md, sys
for name in sys.argv[1:]:
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        print(name, "not installed"); continue
    tops = (dist.read_text("top_level.txt") or "").split()
    if not tops:
        tops = sorted({str(f).split("/")[0].removesuffix(".py") for f in (dist.files or [])
                       if "/" in str(f) and not str(f).split("/")[0].endswith((".dist-info", ".data"))
                       or str(f).endswith(".py") and "/" not in str(f)})
    for top in tops:
        if top.startswith("_") or top.endswith(".pth") or "-" in top:
            continue
        try:
            importlib.import_module(top); print(name, top, "ok")
        except Exception as exc:
            print(name, top, "fails:", type(exc).__name__)
"""


def requirement_names(facts: StageFacts, context: Path | None) -> list[str]:
    """Top-level requirement names from the manifests in the build context."""
    if context is None:
        return []
    names: list[str] = []
    for instruction, command in facts.commands:
        pip = _pip_args(command)
        if pip is None:
            continue
        for flag, value in zip(pip, pip[1:]):
            if flag in ("-r", "--requirement"):
                candidate = context / value.lstrip("/")
                names += _requirements_file(candidate if candidate.exists() else context / Path(value).name)
    pyproject = context / "pyproject.toml"
    if pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text())
        except (OSError, ValueError):
            data = {}
        for spec in data.get("project", {}).get("dependencies", []):
            match = _REQUIREMENT_NAME.match(spec)
            if match:
                names.append(match.group(1))
        poetry = data.get("tool", {}).get("poetry", {}).get("dependencies", {})
        names += [n for n in poetry if n.lower() != "python"]
    pipfile = context / "Pipfile"
    if pipfile.exists():
        try:
            names += list(tomllib.loads(pipfile.read_text()).get("packages", {}))
        except (OSError, ValueError):
            pass
    return list(dict.fromkeys(n for n in names if n.lower() not in TOOLS))


def _requirements_file(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    names = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = _REQUIREMENT_NAME.match(line)
        if match:
            names.append(match.group(1))
    return names
