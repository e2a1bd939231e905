"""Node (npm, yarn, pnpm): build with the dev dependencies, run with the production ones.

The build stage is the original (install, ``npm run build``...), followed by one step that
drops the dev dependencies from ``node_modules`` with the project's own package manager
(``npm prune --omit=dev``, ``yarn install --production``, ``pnpm prune --prod``). The runtime
stage is the slim image of the same family with the application directory as built (its build
output and production ``node_modules``).

A pure front-end build (the image only serves the built files with ``serve``, ``http-server``
or ``vite preview``) ends in a static web server instead: BusyBox ``httpd`` serving the output
directory on the same port, no Node at all.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from pathlib import Path

from decruft.audit.facts import parse_image_reference
from decruft.multistage.plan import (
    Artifact,
    ExtraCheck,
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


def plan(facts: StageFacts, context: Path | None = None) -> Plan:
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
    appended = user_for_setup(facts) + [f"RUN cd {shlex.quote(project)} && {PRUNE[manager]}"] if manager else []
    build_text = build_stage_text(facts, [], appended, name)
    result = Plan(
        ecosystem="node", build_base=facts.base, runtime_base=runtime, build_name=name,
        build_text=build_text, artifacts=app_artifacts(facts), carried=list(facts.carried),
        workdir=facts.final_workdir, package_manager=package_manager,
        allowed_differences=[_relative(facts.final_workdir, posixpath.join(project, "node_modules")) + "/*"],
    )
    result.explanation.append(
        f"build stage ({facts.base}): the original install and build, then `{PRUNE[manager]}` drops the dev dependencies"
        if manager else f"build stage ({facts.base}): the original steps (no dependency install)"
    )
    dependencies = sorted((package or {}).get("dependencies", {}))
    if dependencies:
        result.checks.append(ExtraCheck("node require", ["node", "-e", REQUIRE_CHECK, *dependencies], workdir=project))
    return result


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
