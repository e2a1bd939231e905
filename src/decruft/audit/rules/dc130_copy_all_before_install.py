"""DC130: the whole build context is copied before a dependency install."""

from __future__ import annotations

import glob
import os
import posixpath

from decruft.audit.context import RuleContext
from decruft.audit.facts import DependencyInstall, copy_sources, dependency_install
from decruft.audit.rule import Applicability, Fix, Severity, Stake, rule
from decruft.dockerfile.nodes import Instruction

_BROAD = frozenset({".", "*", "/"})
_COMPILE_CACHES = {
    "go": ("/go/pkg/mod", "/root/go/pkg/mod", "/root/.cache/go-build"),
    "rust": ("/usr/local/cargo/registry", "/root/.cargo/registry", "/cargo/registry"),
    "java": ("/root/.m2", "/root/.gradle", "/home/gradle/.gradle"),
    "dotnet": ("/root/.nuget/packages",),
}

# What to run on the manifests alone when the install is a compile that fetches dependencies.
_DEPENDENCY_STEP = {
    "go": "run `go mod download`",
    "cargo": "build the dependencies alone (a stub src/main.rs, or cargo-chef)",
    "maven": "run `mvn dependency:go-offline`",
    "gradle": "run `gradle dependencies`",
    "dotnet": "run `dotnet restore`",
}


@rule(
    code="DC130",
    name="copy-all-before-install",
    severity=Severity.WARNING,
    summary="the whole build context is copied before a dependency install",
    why="""
BuildKit reuses a RUN from the cache only while every earlier step is unchanged.
`COPY . .` changes whenever any file in the context changes, so every install that
comes after it (pip, poetry, uv, npm, yarn, pnpm, go, bundler, composer, maven,
gradle, cargo, R, apt ...) runs again on every code change: minutes per build, on
every CI run and every local rebuild.  Copy only the dependency manifests first,
install, then copy the rest.  An install that does not read the context at all
(`pip install gunicorn`, `apt-get install curl`) simply moves above the COPY.

A same-ecosystem install before the broad COPY (the manifest-first pattern, e.g.
`poetry install --no-root` then `poetry install` for the project) is accepted, and
so are compile steps (`go build`, `cargo build`, `mvn package`) that use a cache
mount for their dependency cache.
""",
    bad="""
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -r requirements.txt
""",
    good="""
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
""",
    fix=(
        "copy the manifests first, install, then copy the rest (the install RUN moves above "
        "the broad COPY; poetry/uv get --no-root/--no-install-project there and keep the full "
        "install after it; go build gets a `go mod download` step); safe when the context was "
        "checked and the install never rewrites its manifests, not offered when it needs "
        "other sources"
    ),
    applicability=Applicability.SAFE,
)
def check(context: RuleContext):
    for stage in context.model.stages:
        if not context.built(stage.from_instruction) or not _has_broad_copy(context, stage):
            continue
        installed: set[str] = set()  # ecosystems installed before the broad COPY
        narrow: dict[str, Instruction] = {}  # context paths copied one by one, by name
        broad: Instruction | None = None
        pending: list[tuple[Instruction, DependencyInstall]] = []
        for instruction in stage.instructions:
            keyword = instruction.keyword
            if keyword in ("COPY", "ADD") and instruction.flag_value("from") is None:
                sources = copy_sources(context, instruction)
                if any(_is_broad(source) for source in sources):
                    yield from _report(context, broad, pending, narrow)
                    broad, pending = instruction, []
                elif broad is None:
                    for source in sources:
                        narrow.setdefault(posixpath.normpath(source).lstrip("/"), instruction)
                        narrow.setdefault(posixpath.basename(source.rstrip("/")), instruction)
            elif keyword == "RUN" and instruction.shell is not None:
                for command in instruction.shell.commands:
                    install = dependency_install(command)
                    if install is None:
                        continue
                    if broad is None:
                        installed.add(install.ecosystem)
                    elif _rebuilds(context, instruction, install, installed):
                        pending.append((instruction, install))
        yield from _report(context, broad, pending, narrow)


def _has_broad_copy(context: RuleContext, stage) -> bool:
    return any(
        instruction.keyword in ("COPY", "ADD")
        and instruction.flag_value("from") is None
        and any(_is_broad(source) for source in copy_sources(context, instruction))
        for instruction in stage.instructions
    )


def _is_broad(source: str) -> bool:
    clean = posixpath.normpath(source) if source not in ("", "/") else source
    return clean in _BROAD or clean.rstrip("/") in ("", ".")


def _rebuilds(context, instruction, install: DependencyInstall, installed: set[str]) -> bool:
    if install.kind == "os" or not install.manifests:
        return True
    if install.ecosystem in installed:
        return False  # manifest-first already done; this installs the project itself
    if install.kind == "build":
        caches = _COMPILE_CACHES.get(install.ecosystem, ())
        if caches and context.has_cache_mount(instruction, *caches):
            return False
        if context.cache_mount_targets(instruction) and install.ecosystem in _COMPILE_CACHES:
            return False
    return True


def _report(context: RuleContext, broad, pending, narrow):
    if broad is None or not pending:
        return
    run, install = pending[0]
    command = install.command.text.split("\n", 1)[0]
    if len(command) > 60:
        command = command[:57] + "..."
    where = f"`{command}` on line {run.start_line}"
    if install.kind == "os" or not install.manifests:
        advice = "it does not need the sources: move it above the COPY"
        fix = f"move the RUN on line {run.start_line} above line {broad.start_line}"
    else:
        manifests = _existing(context, install.manifests)
        copied = [narrow[name] for name in manifests if name in narrow]
        if copied:
            advice = (
                f"its manifest is already copied on line {copied[0].start_line}: move the "
                f"install above line {broad.start_line}"
            )
            fix = f"move the RUN on line {run.start_line} above line {broad.start_line}"
        else:
            listed = " ".join(manifests)
            step = _DEPENDENCY_STEP.get(install.tool, "install") if install.kind == "build" else "install"
            advice = f"copy {_join(manifests)} first, {step}, then copy the rest"
            fix = (
                f"insert `COPY {listed} ./` (adjust the destination) and the install before line "
                f"{broad.start_line}, keeping `COPY . .` after it"
            )
    others = len({id(run) for run, _ in pending}) - 1
    message = (
        f"`{broad.keyword} {' '.join(broad.words)}` copies the whole build context before {where}: "
        f"every code change re-runs the install; {advice}"
    )
    if others > 0:
        message += f" ({others} more install step{'s' if others > 1 else ''} after it re-run too)"
    severity = None
    notes = []
    if context.cache_mount_targets(run):
        severity = Severity.INFO
        notes.append("the install has a cache mount, so re-runs reuse downloads, but still run")
    finding = context.report(
        "DC130",
        broad,
        message,
        severity=severity,
        stake=Stake(rebuild="re-runs on every code change"),
        fix=_fix(context, broad, run, fix, narrow),
        notes=notes,
        stage_aware=False,  # build time: a builder stage re-runs its install just the same
    )
    if finding is not None:
        yield finding


def _existing(context: RuleContext, manifests: tuple[str, ...]) -> list[str]:
    """The manifests that exist in the build context (all of them when it is unknown)."""
    if context.context_dir is None:
        return _generic(manifests)
    root = os.fspath(context.context_dir)
    found = []
    for manifest in manifests:
        pattern = os.path.join(root, manifest.rstrip("/"))
        if any(ch in manifest for ch in "*?["):
            found.extend(sorted(os.path.relpath(path, root) for path in glob.glob(pattern)))
        elif os.path.exists(pattern):
            found.append(manifest)
    return found or _generic(manifests)


def _generic(manifests: tuple[str, ...]) -> list[str]:
    """Without a context: the usual ones (the first manifest and its lock file)."""
    optional = (".yarnrc.yml", ".yarn/releases", "pnpm-workspace.yaml", "npm-shrinkwrap.json",
                "bun.lock", "setup.cfg", "NuGet.config", "gradle.properties", "gradle/", "gradlew",
                "build.gradle.kts", "settings.gradle.kts")  # fmt: skip
    chosen = [manifest for manifest in manifests if manifest not in optional]
    return chosen or list(manifests)


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return names[0] if names else "the manifests"
    return ", ".join(names[:-1]) + f" and {names[-1]}"



# ---------------------------------------------------------------------------------- the fix
# ``COPY . <dest>`` directly followed (only LABEL/EXPOSE/... between) by a RUN that installs
# dependencies becomes ``COPY <manifests> <dest>/``, the install, then ``COPY . <dest>``:
#
# * move: the RUN moves above the broad COPY unchanged (pip/uv pip -r, pipenv, npm/yarn/pnpm,
#   go mod download, and installs that read nothing from the context: apt, `pip install x`);
# * keep: poetry and uv sync install the project itself too, so the early RUN gets `--no-root`
#   / `--no-install-project` and the original RUN stays after the broad COPY;
# * prefetch: `go build` stays; `RUN go mod download` is added after copying go.mod/go.sum.
#
# Not offered when the install needs other sources (`pip install .`, `-e .`, requirements that
# name local paths or live outside the destination, package.json workspaces or `file:`
# dependencies, go.mod `replace => ./dir`, poetry/uv path dependencies), when a manifest is
# missing from a known context, when the RUN does anything else (or `cd`s), when another
# instruction lies between, or when the broad COPY would then copy an installed tree over the
# install (`node_modules` / `.venv` in the context and not in .dockerignore).
#
# SAFE when the context is known and checked and the install reads only the manifests without
# rewriting them (pip -r, `pipenv --deploy`/`sync`, `npm ci`, `yarn --frozen-lockfile`/
# `--immutable`, `pnpm --frozen-lockfile`, `go mod download`, apt & co): the image ends up with
# the same files. UNSAFE otherwise: without a context nothing can be checked; `npm install`
# and friends may rewrite the lockfile (which the broad COPY now puts back); lifecycle scripts
# (`postinstall`, `prepare`) may read sources; poetry/uv/go get an extra step.

import json as _json  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402
from dataclasses import field as _field  # noqa: E402

from decruft.audit.facts import absolute, classify, copy_destination, workdir_at  # noqa: E402
from decruft.audit.rule import Edit  # noqa: E402
from decruft.dockerfile.nodes import Span  # noqa: E402

_NEUTRAL = frozenset(
    {"LABEL", "EXPOSE", "CMD", "ENTRYPOINT", "HEALTHCHECK", "STOPSIGNAL", "MAINTAINER", "ONBUILD"}
)
_COPY_FLAGS = frozenset({"chown", "chmod", "link"})
_OS_TOOLS = frozenset({"apt", "apk", "yum", "dnf", "microdnf", "tdnf", "zypper"})
_NODE_EXTRA = {
    "npm": (".npmrc",),
    "yarn": (".npmrc", ".yarnrc", ".yarnrc.yml", ".yarn/releases", ".yarn/plugins", ".yarn/patches"),
    "pnpm": (".npmrc", ".pnpmfile.cjs", "patches"),
}
_NODE_LOCKS = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml")
_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare")
_LOCAL_SPEC = ("file:", "link:", "portal:", "workspace:")
_HARMLESS = frozenset({"set", "true", ":"})
# Where package managers write too: a broad COPY there is not split.
_SYSTEM_DIRS = frozenset(
    {"/", "/bin", "/sbin", "/etc", "/lib", "/lib64", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib",
     "/usr/local", "/usr/local/bin", "/usr/local/lib", "/usr/share", "/var", "/var/lib", "/var/cache",
     "/root", "/home", "/tmp"}
)  # fmt: skip
_MAX_READ = 1 << 20


class _NotOffered(Exception):
    """Why the split is not offered (the message is shown to the user)."""


@_dataclass
class _Plan:
    manifests: list[str] = _field(default_factory=list)  # context-relative, in order
    unsafe: list[str] = _field(default_factory=list)  # reasons the split is UNSAFE
    mode: str = "move"  # move | keep | prefetch
    insert_flag: tuple | None = None  # (word, flag) for keep
    needed: list[str] = _field(default_factory=list)  # manifests before dropping copied ones


def _fix(context: RuleContext, broad: Instruction, run: Instruction, description: str, narrow) -> Fix:
    try:
        plan = _plan(context, broad, run)
        plan.needed = list(plan.manifests)
        plan.manifests = [m for m in plan.manifests if not _already_copied(context, broad, m, narrow)]
        return _edits(context, broad, run, plan)
    except _NotOffered as reason:
        return Fix(f"{description} (by hand: {reason})", Applicability.UNSAFE)


def _plan(context: RuleContext, broad: Instruction, run: Instruction) -> _Plan:
    sources = copy_sources(context, broad)
    if len(sources) != 1 or broad.heredocs:
        raise _NotOffered("the COPY has several sources")
    for flag in broad.flags:
        if flag.name not in _COPY_FLAGS:
            raise _NotOffered(f"the COPY has --{flag.name}")
    dest = copy_destination(context, broad)
    if dest is None or any(ch.isspace() for ch in broad.words[-1]):
        raise _NotOffered("the COPY destination has spaces")
    dest_abs = absolute(dest, workdir_at(context, broad))
    stage = context.stage_of(run)
    for between in stage.instructions:
        if broad.start_line < between.start_line < run.start_line and between.keyword not in _NEUTRAL:
            raise _NotOffered(f"the {between.keyword} on line {between.start_line} lies between")
    script = run.shell
    if run.is_json or script is None or not script.complete or not script.commands:
        raise _NotOffered("the RUN is not plain shell")
    if dest_abs in _SYSTEM_DIRS:
        raise _NotOffered(f"the COPY writes into {dest_abs}, where the install writes too")
    cwd = workdir_at(context, run)
    plan = _Plan()
    installs = 0
    for command in script.commands:
        if command.redirects:
            raise _NotOffered(f"`{command.text[:40]}` writes a file")
        install = dependency_install(command)
        if install is None:
            _check_harmless(command, dest_abs)
            continue
        installs += 1
        _plan_install(context, plan, install, run, cwd, dest_abs)
    if plan.mode != "move" and (installs != 1 or len(script.commands) != 1):
        raise _NotOffered("the RUN does more than the install")
    plan.manifests = list(dict.fromkeys(plan.manifests))
    if context.context_dir is None and plan.manifests:
        plan.unsafe.insert(0, "the build context is unknown, so the manifests were not checked")
    if context.context_dir is not None:
        ignored = _ignored(context)
        for manifest in plan.manifests:
            if ignored(manifest):
                raise _NotOffered(f"{manifest} is excluded by .dockerignore")
    return plan


def _check_harmless(command, dest_abs: str) -> None:
    name = command.name
    if name in _HARMLESS:
        return
    if name == "rm":
        for target in command.positional:
            if not target.startswith("/") or target.startswith(dest_abs.rstrip("/") + "/") or target == dest_abs:
                raise _NotOffered(f"`{command.text[:40]}` may remove copied files")
        return
    call = classify(command)
    if call is not None:
        operands = call.operands()
        if call.tool in _OS_TOOLS and not any("/" in op or op.startswith(".") for op in operands):
            return  # apt-get update / clean and the like
        if (call.tool, call.verb) in (("npm", "cache"), ("yarn", "cache"), ("pnpm", "store"), ("pip", "cache")):
            return
    raise _NotOffered(f"the RUN also runs `{command.text[:40]}`, which may need the sources")


def _plan_install(context, plan: _Plan, install, run, cwd: str, dest_abs: str) -> None:
    command = install.command
    tool = install.tool
    if install.kind == "os" or not install.manifests:
        operands = [arg for arg in command.args if not arg.startswith("-")]
        if any(("/" in op and "://" not in op) or op.startswith(".") for op in operands[1:]):
            raise _NotOffered(f"`{command.text[:40]}` installs local files")
        return
    if tool in ("pip", "uv") and install.command.name != "uv" or (tool == "uv" and "pip" in command.args):
        _plan_pip(context, plan, install, cwd, dest_abs)
        return
    if cwd.rstrip("/") != dest_abs.rstrip("/"):
        raise _NotOffered(f"{tool} runs in {cwd}, not in the COPY destination {dest_abs}")
    if tool == "uv" or tool == "poetry":
        _plan_python_project(context, plan, install)
    elif tool == "pipenv":
        plan.manifests += _need(context, plan, ["Pipfile"], ["Pipfile.lock"], "Pipfile.lock")
        if "path" in _toml_text(context, "Pipfile"):
            _local_paths_in_toml(context, "Pipfile")
        if not (command.subcommand == "sync" or command.has_flag("--deploy", "--ignore-pipfile")):
            plan.unsafe.append("`pipenv install` without --deploy may rewrite Pipfile.lock")
    elif tool in ("npm", "yarn", "pnpm"):
        _plan_node(context, plan, install)
    elif tool == "go":
        _plan_go(context, plan, install)
    else:
        raise _NotOffered(f"decruft splits pip, uv, poetry, pipenv, npm, yarn, pnpm and go installs, not {tool}")


def _need(context, plan: _Plan, required: list[str], optional: list[str], lock: str | None = None) -> list[str]:
    """``required`` (which must exist when the context is known) plus the ``optional`` that exist.

    Without a context: ``required`` plus ``lock*`` (a pattern that may match nothing)."""
    if context.context_dir is None:
        return [*required, *([lock + "*"] if lock else [])]
    root = context.context_dir
    for name in required:
        if not (root / name).exists():
            raise _NotOffered(f"{name} is not in the build context")
    return [*required, *(name for name in optional if (root / name).exists())]


def _read(context, name: str) -> str | None:
    if context.context_dir is None:
        return None
    path = context.context_dir / name
    try:
        with open(path, "rb") as handle:
            return handle.read(_MAX_READ).decode("utf-8", "replace")
    except OSError:
        return None


def _toml_text(context, name: str) -> str:
    return _read(context, name) or ""


def _local_paths_in_toml(context, name: str) -> None:
    import re

    text = _toml_text(context, name)
    if re.search(r"""\bpath\s*=\s*["']""", text):
        raise _NotOffered(f"{name} has a path dependency, which needs the sources")


def _plan_pip(context, plan: _Plan, install, cwd: str, dest_abs: str) -> None:
    if any(manifest in ("pyproject.toml", "setup.py", "setup.cfg") for manifest in install.manifests):
        raise _NotOffered("it installs the project itself (`pip install .`), which needs the sources")
    args = install.command.args
    files = []
    for position, arg in enumerate(args):
        value = None
        for flag in ("-r", "--requirement", "-c", "--constraint"):
            if arg == flag and position + 1 < len(args):
                value = args[position + 1]
            elif arg.startswith(flag + "="):
                value = arg[len(flag) + 1 :]
            elif flag in ("-r", "-c") and arg.startswith(flag) and len(arg) > 2 and not arg.startswith("--"):
                value = arg[2:]
        if value is not None:
            files.append(value)
        if arg in ("-e", "--editable", "-f", "--find-links") and position + 1 < len(args):
            if "://" not in args[position + 1]:
                raise _NotOffered(f"`{arg} {args[position + 1]}` needs local files")
    for value in files:
        if "$" in value:
            raise _NotOffered(f"{value} is built from variables")
        path = absolute(value, cwd)
        prefix = dest_abs.rstrip("/") + "/"
        if not path.startswith(prefix):
            raise _NotOffered(f"{value} is not under the COPY destination {dest_abs}")
        _requirements(context, plan, path[len(prefix) :], depth=0)


def _requirements(context, plan: _Plan, name: str, depth: int) -> None:
    plan.manifests.append(name)
    if context.context_dir is None:
        return
    text = _read(context, name)
    if text is None:
        raise _NotOffered(f"{name} is not in the build context")
    if depth > 5:
        raise _NotOffered(f"{name}: requirements nest too deep")
    import posixpath
    import shlex

    folder = posixpath.dirname(name)
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            continue
        first = words[0]
        option, _, inline = first.partition("=")
        value = inline or (words[1] if len(words) > 1 else "")
        if option in ("-r", "--requirement", "-c", "--constraint") or (
            first[:2] in ("-r", "-c") and len(first) > 2 and not first.startswith("--")
        ):
            if option not in ("-r", "--requirement", "-c", "--constraint"):
                value = first[2:]
            if "://" in value:
                continue
            included = posixpath.normpath(posixpath.join(folder, value))
            if included.startswith("../"):
                raise _NotOffered(f"{name} includes {value}, outside the context")
            _requirements(context, plan, included, depth + 1)
        elif option in ("-e", "--editable", "-f", "--find-links"):
            if "://" not in value and not value.startswith("git+"):
                raise _NotOffered(f"{name} installs local files ({line})")
        elif first.startswith((".", "/", "file:")) or "@ file:" in line or " @ ." in line:
            raise _NotOffered(f"{name} installs local files ({line})")


def _plan_python_project(context, plan: _Plan, install) -> None:
    command = install.command
    tool = install.tool
    if tool == "uv":
        if command.subcommand != "sync":
            raise _NotOffered(f"`{command.text[:40]}` is not a uv sync")
        plan.manifests += _need(context, plan, ["pyproject.toml"], ["uv.lock", ".python-version"], "uv.lock")
        text = _toml_text(context, "pyproject.toml")
        if "[tool.uv.workspace]" in text:
            raise _NotOffered("pyproject.toml declares a uv workspace, whose members need their sources")
        flag = "--no-install-project"
        done = command.has_flag("--no-install-project", "--no-install-workspace", "--only-dev")
    else:
        plan.manifests += _need(context, plan, ["pyproject.toml"], ["poetry.lock", "poetry.toml"], "poetry.lock")
        flag = "--no-root"
        done = command.has_flag("--no-root", "--only-root")
        if command.has_flag("--only-root"):
            raise _NotOffered("`--only-root` installs the project itself")
    _local_paths_in_toml(context, "pyproject.toml")
    if _shadowed(context, ".venv"):
        raise _NotOffered("the context has a .venv that the broad COPY would copy over the install")
    if not done:
        call = classify(command)
        if call is None or call.verb_word is None:
            raise _NotOffered(f"cannot find where to add {flag}")
        plan.mode = "keep"
        plan.insert_flag = (call.verb_word, flag)
        plan.unsafe.append(f"the early {tool} step gets {flag}; the full install stays after the COPY")


def _plan_node(context, plan: _Plan, install) -> None:
    command = install.command
    tool = install.tool
    lock = {"npm": "package-lock.json", "yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml"}.get(tool)
    plan.manifests += _need(context, plan, ["package.json"], [*_NODE_LOCKS, *_NODE_EXTRA.get(tool, ())], lock)
    if context.context_dir is not None:
        if (context.context_dir / "pnpm-workspace.yaml").exists():
            raise _NotOffered("a pnpm workspace: its packages need their sources")
        try:
            package = _json.loads(_read(context, "package.json") or "{}")
        except ValueError:
            raise _NotOffered("package.json is not valid JSON") from None
        if not isinstance(package, dict):
            raise _NotOffered("package.json is not an object")
        if package.get("workspaces"):
            raise _NotOffered("package.json has workspaces, whose packages need their sources")
        for section in ("dependencies", "devDependencies", "optionalDependencies"):
            for spec in (package.get(section) or {}).values():
                if isinstance(spec, str) and spec.startswith(_LOCAL_SPEC):
                    raise _NotOffered(f"package.json has a local dependency ({spec})")
        scripts = [name for name in _LIFECYCLE if name in (package.get("scripts") or {})]
        if scripts:
            plan.unsafe.append(f"package.json runs `{scripts[0]}` on install, which may read the sources")
        if _shadowed(context, "node_modules"):
            raise _NotOffered("the context has node_modules that the broad COPY would copy over the install")
    frozen = {
        "npm": command.subcommand == "ci",
        "yarn": command.has_flag("--frozen-lockfile", "--immutable"),
        "pnpm": command.has_flag("--frozen-lockfile"),
    }.get(tool, False)
    if not frozen:
        plan.unsafe.append(f"`{command.text[:40]}` may rewrite the lockfile, which the broad COPY now puts back")


def _plan_go(context, plan: _Plan, install) -> None:
    command = install.command
    plan.manifests += _need(context, plan, ["go.mod"], ["go.sum"], "go.sum")
    text = _read(context, "go.mod") or ""
    import re

    if re.search(r"=>\s*(\.{1,2}/|/)", text):
        raise _NotOffered("go.mod replaces a module with a local directory")
    if install.kind == "build":
        if context.context_dir is not None and (context.context_dir / "vendor" / "modules.txt").exists():
            raise _NotOffered("the modules are vendored")
        if command.assignments or any(arg.startswith("-mod") for arg in command.args):
            raise _NotOffered("the build sets its own module environment")
        plan.mode = "prefetch"
        plan.unsafe.append("`go mod download` fetches every module of go.sum, maybe more than the build uses")


def _already_copied(context, broad: Instruction, manifest: str, narrow) -> bool:
    """An earlier narrow COPY put ``manifest`` where the broad COPY would."""
    earlier = narrow.get(manifest)
    if earlier is None or posixpath.dirname(manifest):
        return False
    sources = copy_sources(context, earlier)
    where = copy_destination(context, earlier)
    if where is None:
        return False
    into = absolute(where, workdir_at(context, earlier))
    if not (where.endswith("/") or where in (".", "..") or len(sources) > 1):
        into = posixpath.dirname(into)  # `COPY requirements.txt /app/requirements.txt`
    dest = copy_destination(context, broad) or "."
    return into.rstrip("/") == absolute(dest, workdir_at(context, broad)).rstrip("/")


def _shadowed(context, name: str) -> bool:
    """``name`` is in the context and .dockerignore does not exclude it."""
    if context.context_dir is None or not (context.context_dir / name).exists():
        return False
    return not _ignored(context)(name)


def _ignored(context):
    def build():
        from decruft.context.dockerignore import PatternMatcher, parse_ignore_text
        from decruft.context.scan import find_ignore_file

        text = context.file_overrides.get(".dockerignore")
        if text is None:
            found = find_ignore_file(context.context_dir, context.file if context.file and os.path.isfile(context.file) else None)
            text = found.read_text(encoding="utf-8", errors="surrogateescape") if found else ""
        matcher = PatternMatcher(parse_ignore_text(text), problems=[])

        def excluded(path: str) -> bool:
            try:
                return matcher.walker_excludes(path.rstrip("/"))
            except Exception:
                return False

        return excluded

    return context.memo(("dc130-ignored",), build)


def _with_leading_comments(context: RuleContext, run: Instruction) -> int:
    """Where the RUN starts, comment lines right above it included (they move with it)."""
    dockerfile = context.dockerfile
    start = run.span.start
    line = run.start_line - 1
    while line >= 1 and dockerfile.line_text(line).lstrip(" \t").startswith("#"):
        start = dockerfile.line_starts[line - 1]
        line -= 1
    return start


def _edits(context: RuleContext, broad: Instruction, run: Instruction, plan: _Plan) -> Fix:
    text = context.dockerfile.text
    newline = "\r\n" if broad.source.endswith("\r\n") else "\n"
    line_start = broad.span.start
    indent = text[line_start : broad.keyword_span.start]
    flags = "".join(f" {flag.raw}" for flag in broad.flags)
    dest = broad.words[-1]
    base = "./" if dest in (".", "./") else dest.rstrip("/") + "/"
    lines = []
    files_by_dir: dict[str, list[str]] = {}
    for manifest in plan.manifests:
        if any(ch.isspace() for ch in manifest):
            return Fix(f"copy the manifests first (by hand: {manifest!r} has a space)", Applicability.UNSAFE)
        is_dir = manifest.endswith("/") or (
            context.context_dir is not None and (context.context_dir / manifest).is_dir()
        )
        clean = manifest.rstrip("/")
        if is_dir:
            lines.append(f"{indent}COPY{flags} {clean} {base}{clean}/{newline}")
        else:
            folder = posixpath.dirname(clean)
            files_by_dir.setdefault(folder, []).append(clean)
    copies = [
        f"{indent}COPY{flags} {' '.join(names)} {base}{folder + '/' if folder else ''}{newline}"
        for folder, names in files_by_dir.items()
    ] + lines
    run_start = _with_leading_comments(context, run) if plan.mode == "move" else run.span.start
    run_text = text[run_start : run.span.end]
    if plan.mode == "prefetch":
        run_flags = "".join(f" {flag.raw}" for flag in run.flags)
        early = f"{indent}RUN{run_flags} go mod download{newline}"
    else:
        if plan.insert_flag is not None:
            word, flag = plan.insert_flag
            cut = word.span.end - run_start
            run_text = run_text[:cut] + f" {flag}" + run_text[cut:]
        early = run_text if run_text.endswith("\n") else run_text + newline
    edits = [Edit(Span(line_start, line_start), "".join(copies) + early)]
    if plan.mode == "move":
        removed = Span(run_start, run.span.end)
        if not run.source.endswith("\n"):  # the last line of the file: take the newline before it
            removed = Span(max(run_start - len(newline), 0), run.span.end)
        edits.append(Edit(removed, ""))
    listed = " ".join(plan.manifests)
    what = {
        "move": f"move the RUN on line {run.start_line} above it" if plan.manifests else "",
        "keep": f"run the install with {plan.insert_flag[1] if plan.insert_flag else ''} before it and keep line {run.start_line}",
        "prefetch": "run `go mod download` before it",
    }[plan.mode]
    if plan.manifests:
        description = f"copy {listed} before line {broad.start_line} and {what}"
    else:
        why = "its manifests are already copied" if plan.needed else "it reads nothing from the context"
        description = f"move the RUN on line {run.start_line} above line {broad.start_line} ({why})"
    if plan.unsafe:
        return Fix(f"{description} (unsafe: {'; '.join(plan.unsafe)})", Applicability.UNSAFE, edits)
    return Fix(description, Applicability.SAFE, edits)
