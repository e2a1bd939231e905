"""Node (npm, yarn, pnpm): build with the dev dependencies, run with the production ones.

An install of exactly the lockfile from the manifests alone (``npm ci``; ``yarn install
--frozen-lockfile`` with yarn 1 and ``pnpm install --frozen-lockfile``, their lockfile copied
with ``package.json``): the stage is split where the install runs. The part before it (base,
system packages, ``COPY package*.json``) becomes a stage both branches start from: one installs
the production dependencies only (the original install command with ``--omit=dev``,
``--production`` or ``--prod``), the other is the original build. The runtime
copies ``node_modules`` from the first (a layer that stays cached until a manifest changes) and
the application without ``node_modules`` from the second, last, so a source change re-runs the
build and one small copy, never a dependency install or prune. A check in both images compares
every production package's files, so a build that writes into ``node_modules`` (a generated
client, a patch) is caught rather than shipped without it. Such a plan carries the prune plan
below as its fallback: when that check fails, or the production install does not build on its
own, the conversion verifies the prune plan instead (``plan(..., prune=True)``).

Otherwise (``npm install``, yarn or pnpm without a frozen lockfile, yarn 2+, an install that
sees the sources or runs the project's own install scripts) the build stage is the original followed by one step that drops the dev
dependencies with the project's package manager (``npm prune --omit=dev``, ``yarn install
--production``, ``pnpm prune --prod``), and the runtime copies the application directory as
built (its build output and production ``node_modules``).

A pure front-end build (the image only serves the built files with ``serve``, ``http-server``
or ``vite preview``) ends in a static web server instead: BusyBox ``httpd`` serving the output
directory on the same port, no Node at all.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import shlex
from pathlib import Path

from decruft.audit.facts import parse_image_reference
from decruft.dockerfile.nodes import Instruction
from decruft.multistage.plan import (
    STAGING,
    Artifact,
    ExtraCheck,
    Insertion,
    Plan,
    StageFacts,
    app_artifacts,
    build_name,
    build_stage_text,
    runtime_base_for,
    user_for_setup,
)
from decruft.shell import ShellCommand

STATIC_SERVERS = {"serve": ("-l", "--listen", "-p", "--port"), "http-server": ("-p", "--port"),
                  "vite": ("--port",)}  # fmt: skip
STATIC_SERVER_IMAGE = "busybox:1.35"
STATIC_ROOT = "/www"

PRUNE = {
    "npm": "npm prune --omit=dev",
    "yarn": "yarn install --production --ignore-scripts --prefer-offline",
    "pnpm": "pnpm prune --prod",
}


def _manager(command: ShellCommand) -> str | None:
    name, sub = command.name, command.subcommand
    if name == "npm" and sub in ("install", "i", "ci", "clean-install"):
        return "npm"
    if name == "yarn" and sub in (None, "install"):
        return "yarn"
    if name == "pnpm" and sub in ("install", "i"):
        return "pnpm"
    return None


NODE_PROGRAMS = ("node", "nodejs", "npm", "npx", "yarn", "pnpm")


def detect(facts: StageFacts) -> bool:
    if any(_manager(c) for _i, c in facts.commands):
        return True
    # No install at all (a dependency-free service): still a full node image to slim down.
    return (parse_image_reference(facts.base).repository == "node" and bool(facts.entry)
            and facts.entry[0].rsplit("/", 1)[-1] in NODE_PROGRAMS)


def plan(facts: StageFacts, context: Path | None = None, *, prune: bool = False) -> Plan:
    """``prune``: prune after the build even where the production dependencies could be
    installed apart (the fallback when that plan fails verification)."""
    installs = [(i, c, _manager(c)) for i, c in facts.commands if _manager(c)]
    if installs:
        instruction, _command, manager = installs[-1]
        project = facts.workdir(instruction)
    else:
        manager, project = None, facts.final_workdir
    package = _package_json(facts, context)
    static = static_output(facts, package)
    name = build_name(facts)
    if static is not None:
        return _static_plan(facts, name, project, static)
    runtime, package_manager = runtime_base_for(facts.base)
    result = Plan(
        ecosystem="node", build_base=facts.base, runtime_base=runtime, build_name=name, build_text="",
        artifacts=app_artifacts(facts), carried=list(facts.carried), workdir=facts.final_workdir,
        package_manager=package_manager,
        allowed_differences=[_relative(facts.final_workdir, posixpath.join(project, "node_modules")) + "/*"],
    )
    why_not_separate = _why_not_separate(facts, installs[-1][:2], package, project) if installs else None
    if installs and why_not_separate is None and prune:
        why_not_separate = "installing them apart failed verification"
    if installs and why_not_separate is None:
        production = _separate_production_install(result, facts, installs[-1][0], installs[-1][1], project)
        result.title = f"the production dependencies installed apart (stage {production})"
        # A build that writes into node_modules, or an install that does not build alone, is
        # this shape's fault: pruning after the build keeps what the build wrote.
        result.fallback_when = (production, MODULES_CHECK_NAME)
        result.fallback_options = {"prune": True}
    else:
        appended = user_for_setup(facts) + [f"RUN cd {shlex.quote(project)} && {PRUNE[manager]}"] if manager else []
        result.build_text = build_stage_text(facts, [], appended, name)
        result.explanation.append(
            f"build stage ({facts.base}): the original install and build, then `{PRUNE[manager]}` drops the dev "
            f"dependencies (not installed apart: {why_not_separate})"
            if manager else f"build stage ({facts.base}): the original steps (no dependency install)"
        )
    dependencies = sorted((package or {}).get("dependencies", {}))
    if dependencies:
        result.checks.append(ExtraCheck("node require", ["node", "-e", REQUIRE_CHECK, *dependencies], workdir=project))
    return result


#: What a production install from the manifests alone may see of the context besides them.
MANIFEST_PATTERNS = ("package.json", "package-lock.json", "npm-shrinkwrap.json", ".npmrc", "package*.json",
                     "yarn.lock", ".yarnrc", "pnpm-lock.yaml")
#: The flag that turns an install of exactly the lockfile into its production-only twin, and the
#: lockfile that must be copied for yarn and pnpm (`npm ci` refuses to run without its own).
PRODUCTION_FLAG = {"npm": "--omit=dev", "yarn": "--production", "pnpm": "--prod"}
LOCKFILE = {"yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml"}
#: The project's own scripts `npm ci` runs: they may need the sources or the dev dependencies.
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "preprepare", "prepare", "postprepare")
#: Where the build stage puts the application without node_modules for the runtime stage.
APPLICATION_STAGING = f"{STAGING}/app"


def _why_not_separate(facts: StageFacts, install: tuple[Instruction, ShellCommand], package: dict | None,
                      project: str) -> str | None:
    """None when the production dependencies can be installed in a stage of their own, from the
    state the original install ran in; else why not (the plan prunes after the build instead)."""
    instruction, command = install
    if not _installs_the_lockfile(command):
        return ("only `npm ci`, `yarn install --frozen-lockfile` and `pnpm install --frozen-lockfile` install "
                "exactly the lockfile in both stages")
    if package is None:
        return "no package.json in the build context to check"
    if not package.get("dependencies"):
        return "no production dependencies (the install would create no node_modules to copy)"
    if package.get("workspaces"):
        return "a workspace needs every member's manifest"
    declared = str(package.get("packageManager") or "")
    if command.name == "yarn" and declared.startswith("yarn@") and not declared.startswith("yarn@1."):
        return f"only yarn 1 has a production install (the project declares {declared})"
    scripts = sorted(set(package.get("scripts") or {}) & set(INSTALL_SCRIPTS))
    if scripts:
        return f"the install runs the project's own {', '.join(scripts)} script, which may need the sources"
    for field_name in ("dependencies", "optionalDependencies"):
        for dependency, spec in (package.get(field_name) or {}).items():
            if isinstance(spec, str) and spec.startswith(("file:", "link:", ".", "/", "~")):
                return f"the dependency {dependency} is a local path ({spec})"
    script = instruction.shell
    if instruction.heredocs or script is None or len(script.commands) != 1:
        return "the install shares its RUN with other commands"
    if command.has_flag("--prefix", "--cwd", "--dir", "-C"):
        return "the install names another project directory"
    lockfile_copied = command.name not in LOCKFILE
    for earlier in facts.stage.instructions:
        if earlier is instruction:
            break
        if earlier.keyword == "ONBUILD" or earlier not in facts.context_copies:
            continue
        sources = [w for w in facts.model.expanded_words(earlier)[:-1] if not w.startswith("<<")]
        for source in sources:
            name = posixpath.basename(source.rstrip("/"))
            if not any(fnmatch.fnmatchcase(name, p) for p in MANIFEST_PATTERNS):
                return f"the install sees {source} of the build context, not the manifests alone"
            lockfile_copied = lockfile_copied or fnmatch.fnmatchcase(LOCKFILE[command.name], name)
    if not lockfile_copied:
        return f"{LOCKFILE[command.name]} is not copied before the install"
    if not any(a.source == project for a in app_artifacts(facts)):
        return f"the application is not copied to the project directory {project} as a whole"
    return None


def _installs_the_lockfile(command: ShellCommand) -> bool:
    if command.name == "npm":
        return command.subcommand in ("ci", "clean-install")
    return command.name in ("yarn", "pnpm") and command.has_flag("--frozen-lockfile")


def _separate_production_install(result: Plan, facts: StageFacts, instruction: Instruction,
                                 command: ShellCommand, project: str) -> str:
    """Split the stage where ``instruction`` installs: one branch installs the production
    dependencies, the other is the original build (see the module's docstring). Returns the
    name of the production branch."""
    taken = {s.name for s in facts.model.stages if s.name}
    base_name = _free_name("manifests", taken)
    production = _free_name("production-dependencies", taken)
    prefix = facts.stage.instructions[: facts.stage.instructions.index(instruction)]
    # An ARG is scoped to its stage: the branches declare the prefix's ARGs again.
    arguments = "".join(i.source.rstrip("\n") + "\n" for i in prefix if i.keyword == "ARG")
    offset = command.span.end - instruction.span.start
    flag = PRODUCTION_FLAG[command.name]
    install = instruction.source[:offset] + f" {flag}" + instruction.source[offset:].rstrip("\n") + "\n"
    split = (
        "\n# Added by decruft fix --multistage: the production dependencies, installed from the manifests\n"
        "# alone, so a change of the sources never re-runs them.\n"
        f"FROM {base_name} AS {production}\n{arguments}{install}\n"
        "# Added by decruft fix --multistage: the build continues from the manifests.\n"
        f"FROM {base_name} AS {result.build_name}\n{arguments}"
    )
    insertions = [Insertion(instruction.span.start, split)]
    if facts.stage.name is not None:
        start, end = _alias_span(facts.stage.from_instruction)
        insertions.append(Insertion(start, base_name, end))
    staging = (f"RUN mkdir -p {APPLICATION_STAGING} && cd {shlex.quote(project)} && find . -mindepth 1 -maxdepth 1 "
               f"! -name node_modules -exec cp -a {{}} {APPLICATION_STAGING}/ ';'")
    result.build_text = build_stage_text(facts, insertions, user_for_setup(facts) + [staging], base_name)
    application = next(a for a in result.artifacts if a.source == project)
    modules = posixpath.join(project, "node_modules")
    result.artifacts.remove(application)
    # Most stable first: the dependencies' layer stays cached; the application, which changes, comes last.
    result.artifacts.insert(0, Artifact(modules, modules, "the production dependencies", chown=application.chown,
                                        stage=production))
    result.artifacts.append(Artifact(APPLICATION_STAGING, project, "the application as built, without node_modules",
                                     chown=application.chown))
    result.explanation.append(
        f"build stage ({facts.base}): the original install and build; the production dependencies are "
        f"installed apart (`{command.text} {flag}` in the stage {production}, from the manifests alone)"
    )
    result.checks.append(ExtraCheck(MODULES_CHECK_NAME, ["node", "-e", MODULES_CHECK], workdir=project))
    return production


def _free_name(name: str, taken: set[str | None]) -> str:
    return name if name not in taken else f"decruft-{name}"


def _alias_span(from_instruction: Instruction) -> tuple[int, int]:
    """Where the stage name of ``FROM image AS name`` is in the Dockerfile text."""
    args = from_instruction.args.rstrip()
    alias = args.split()[-1]
    start = from_instruction.args_offset + len(args) - len(alias)
    span = from_instruction.logical_span(start, start + len(alias))
    return span.start, span.end


MODULES_CHECK_NAME = "production node_modules"
#: Runs in both images: the production packages, found as Node finds them (from the project's
#: ``dependencies`` and ``optionalDependencies``, then each package's, looked up in
#: ``node_modules`` of the requiring package's directory and its parents, symlinks followed: npm,
#: yarn 1 and pnpm layouts alike), one line each with the digest of its files; then every file in
#: node_modules no package owns (a generated client). The package managers' own state, ``.bin``
#: shims and node_modules/.cache (build tools' caches) are left out: they differ with the dev
#: dependencies.
MODULES_CHECK = r"""
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const sha = data => crypto.createHash('sha256').update(data).digest('hex');
const manifest = dir => { try { return JSON.parse(fs.readFileSync(dir + '/package.json', 'utf8')); } catch (e) { return null; } };
const production = m => Object.keys({ ...(m.dependencies || {}), ...(m.optionalDependencies || {}) });
function resolve(name, from) {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (path.basename(dir) !== 'node_modules' && manifest(candidate)) return fs.realpathSync(candidate);
  }
  return null;
}
function files(dir, prefix, out) {
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name), stat = fs.lstatSync(p);
    if (stat.isDirectory()) { if (name !== 'node_modules') files(p, prefix + name + '/', out); continue; }
    out.push(prefix + name + ' ' + (stat.isSymbolicLink() ? 'link ' + fs.readlinkSync(p) : sha(fs.readFileSync(p))));
  }
  return out;
}
const root = process.cwd(), packages = new Map(), queue = production(manifest(root) || {}).map(d => [d, root]);
while (queue.length) {
  const [name, from] = queue.shift();
  const dir = resolve(name, from);
  if (dir === null) { console.log('not installed:', name, 'for', path.relative(root, from) || '.'); continue; }
  if (packages.has(dir)) continue;
  const m = manifest(dir);
  packages.set(dir, (m.name || name) + '@' + m.version);
  for (const d of production(m)) queue.push([d, dir]);
}
const groups = new Map();
for (const [dir, label] of packages) groups.set(label, (groups.get(label) || []).concat(files(dir, '', [])));
for (const label of [...groups.keys()].sort()) {
  const lines = groups.get(label).sort();
  console.log(label, lines.length, 'files', sha(lines.join('\n')).slice(0, 16));
}
const STATE = /^node_modules\/(\.package-lock\.json|\.yarn-integrity|\.modules\.yaml|\.pnpm\/lock\.yaml|\.pnpm-workspace-state.*|\.cache)$/;
const isPackage = p => manifest(p) && /(^|\/)node_modules(\/@[^/]+)?$/.test(path.dirname(p));
(function stray(dir) {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir).sort()) {
    const p = dir + '/' + name, stat = fs.lstatSync(p);
    if (STATE.test(p) || name === '.bin' || stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) { if (!isPackage(p)) stray(p); continue; }
    console.log('in no package:', p, sha(fs.readFileSync(p)));
  }
})('node_modules');
"""

#: Runs in both images: require() every production dependency; prints one line each.
REQUIRE_CHECK = (
    "for (const d of process.argv.slice(1)) { try { require(d); console.log(d, 'ok') } "
    "catch (e) { console.log(d, 'fails:', e.code || e.name) } }"
)


def _relative(workdir: str, path: str) -> str:
    if workdir and (path == workdir or path.startswith(workdir.rstrip("/") + "/")):
        return posixpath.relpath(path, workdir)
    return path


def _package_json(facts: StageFacts, context: Path | None) -> dict | None:
    if context is None:
        return None
    try:
        data = json.loads((context / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def static_output(facts: StageFacts, package: dict | None) -> tuple[str, int | None] | None:
    """``(output directory, port)`` when the image only serves built static files."""
    argv = list(facts.entry or [])
    if facts.entry is None:
        return None
    # `npm start` / `npm run serve`: look the script up in package.json
    if argv[:1] in (["npm"], ["yarn"], ["pnpm"]) and package:
        script_name = argv[2] if len(argv) > 2 and argv[1] == "run" else (argv[1] if len(argv) > 1 else "start")
        script = (package.get("scripts") or {}).get(script_name)
        if not script:
            return None
        try:
            argv = shlex.split(script)
        except ValueError:
            return None
    if argv[:1] == ["npx"]:
        argv = [a for a in argv[1:] if a not in ("-y", "--yes")]
    if not argv or argv[0] not in STATIC_SERVERS:
        return None
    server = argv[0]
    args = argv[1:]
    if server == "vite":
        if not args or args[0] != "preview":
            return None
        args = args[1:]
    port_flags = STATIC_SERVERS[server]
    directory, port, skip = None, None, False
    for index, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg in port_flags and index + 1 < len(args):
            value = args[index + 1].rsplit(":", 1)[-1]
            port = int(value) if value.isdigit() else None
            skip = True
        elif arg.startswith("--port="):
            value = arg.split("=", 1)[1]
            port = int(value) if value.isdigit() else None
        elif arg in ("-c", "--config", "-a", "--address", "--host"):
            skip = True
        elif not arg.startswith("-") and directory is None:
            directory = arg
    if server == "vite":
        directory = directory or "dist"
    if directory is None:
        return None
    if server == "serve" and port is None:
        port = 3000
    if server == "http-server" and port is None:
        port = 8080
    if server == "vite" and port is None:
        port = 4173
    return directory, port


def _static_plan(facts: StageFacts, name: str, project: str, static: tuple[str, int | None]) -> Plan:
    directory, port = static
    output = directory if directory.startswith("/") else posixpath.normpath(posixpath.join(facts.final_workdir, directory))
    build_text = build_stage_text(facts, [], [], name)
    exposed = [i for i in facts.carried if i.keyword in ("EXPOSE", "LABEL", "HEALTHCHECK", "STOPSIGNAL")]
    result = Plan(
        ecosystem="node-static", build_base=facts.base, runtime_base=STATIC_SERVER_IMAGE, build_name=name,
        build_text=build_text, artifacts=[Artifact(output, STATIC_ROOT, "the built static files")],
        carried=exposed, workdir=STATIC_ROOT, package_manager="none",
    )
    result.runtime_tail = [f'CMD ["httpd", "-f", "-v", "-p", "{port or 8080}", "-h", "{STATIC_ROOT}"]']
    result.explanation.append(
        f"build stage ({facts.base}): the original install and build; runtime: BusyBox httpd serves {output} "
        f"on port {port or 8080} (the image served it with {facts.entry[0] if facts.entry else 'a Node server'})"
    )
    result.allowed_differences = ["*"]  # the runtime serves the output only: no sources, no node_modules
    return result
