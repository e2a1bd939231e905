"""DC131: a package-manager step that could reuse its cache with a BuildKit cache mount."""

from __future__ import annotations

from decruft.audit.context import RuleContext, data_table
from decruft.audit.facts import (
    ToolCall,
    cache_mount_specs,
    insert_after_word,
    insert_run_flags,
    mounts_cache,
    remove_word,
    removes_cache,
    run_env,
    run_variable,
    tool_calls,
    truthy,
    user_at,
)
from decruft.audit.rule import Applicability, Edit, Fix, Severity, Stake, rule
from decruft.shell import Word

# Flags that turn a tool's cache off: with the mount they only slow the build down.
# tool -> (flags, replacement word or None to delete the flag)
_OFF_FLAGS = {
    "pip": (("--no-cache-dir", "--no-cache"), None),
    "uv": (("--no-cache", "-n"), None),
    "poetry": (("--no-cache",), None),
    # apk: keep fetching a fresh index, into the mount (Docker's documented form)
    "apk": (("--no-cache",), "--update-cache"),
}
_OFF_ENV = {"pip": "PIP_NO_CACHE_DIR", "uv": "UV_NO_CACHE"}
_DOCKER_CLEAN_MARKERS = ("docker-clean", "Keep-Downloaded-Packages")


@rule(
    code="DC131",
    name="cache-mount-opportunity",
    severity=Severity.INFO,
    summary="a package-manager step could reuse its download cache with RUN --mount=type=cache",
    why="""
Every time a package-manager step re-runs (any change above it, or a cold CI
builder with a registry cache), it downloads every package again.  A BuildKit
cache mount (`RUN --mount=type=cache,target=<the tool's cache>`) keeps the tool's
cache on the builder between builds, outside the image: the step re-runs but
fetches only what changed, and the cache never reaches a layer, so the
`--no-cache-dir` / `rm -rf` / `clean all` dance is no longer needed for size.

The suggested targets come from decruft's table (data/cache_mounts.toml): apt,
apk, dnf/yum/microdnf/tdnf, zypper, pip, uv, poetry, pipenv, conda, npm, yarn,
pnpm, go, cargo, maven, gradle, gem, bundler and composer, with `sharing=locked`
for the system package managers that cannot share a cache between concurrent
builds.  Only directories the RUN does not mount yet are suggested; steps running
as a non-root USER without a known HOME get no home-directory suggestion (the
mount would need the user's uid).  For apt the Debian/Ubuntu images' docker-clean
hook must go for the archive cache to fill; the finding says how.  Cache mounts
need BuildKit (the default builder since Docker 23); hadolint has no such check.
""",
    bad="""
RUN pip install --no-cache-dir -r requirements.txt
""",
    good="""
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
""",
    fix="insert the --mount flags after RUN (and drop the tool's no-cache flag); "
    "safe when the Dockerfile already uses BuildKit features, else unsafe (the classic builder rejects --mount)",
    applicability=Applicability.SAFE,
    category="build-time",
    # With the mount the cache never reaches a layer: no-cache flags and cache removals
    # on the same RUN would only empty the mount on every build.
    supersedes=("DC102", "DC104", "DC105", "DC110", "DC111", "DC113"),
)
def check(context: RuleContext):
    table = data_table("cache_mounts.toml")["tools"]
    docker_clean_handled = None
    for step in context.runs():
        instruction = step.instruction
        script = instruction.shell
        by_tool: dict[str, list[ToolCall]] = {}
        for call in tool_calls(script):
            entry = table.get(call.tool)
            if entry is None or call.verb is None:
                continue
            verbs = entry["verbs"]
            if "*" in verbs or call.verb in verbs:
                by_tool.setdefault(call.tool, []).append(call)
        if not by_tool:
            continue
        env = run_env(context, instruction)
        user = user_at(context, instruction)
        home = env.get("HOME")
        flags: list[str] = []
        paths: set[str] = set()
        edits: list[Edit] = []
        notes: list[str] = []
        tools: list[str] = []
        for tool, calls in by_tool.items():
            variable = _OFF_ENV.get(tool)
            if variable and any(truthy(run_variable(context, instruction, call.command, variable)) for call in calls):
                continue  # the cache is switched off on purpose for this step
            off_edits = _off_flag_edits(context, tool, calls)
            if off_edits is None:
                continue
            added = []
            for path, spec in cache_mount_specs(context, instruction, tool, env):
                if spec.get("output") or not path.startswith("/"):
                    continue
                if spec.get("refreshed") and (
                    not _refreshes_and_uses(calls) or _later_step_reads(context, instruction, tool)
                ):
                    continue
                if path.startswith("/root/") and user is not None:
                    if not home:
                        continue
                    path = home.rstrip("/") + path[len("/root") :]
                if mounts_cache(context, instruction, path, home) or path in paths:
                    continue
                paths.add(path)
                flag = f"--mount=type=cache,target={path}"
                if spec.get("sharing"):
                    flag += f",sharing={spec['sharing']}"
                added.append(flag)
                if removes_cache(script, [path], home=home, env=env):
                    notes.append(f"this RUN deletes {path}; with the mount that empties the cache on every build: drop the removal")
            if not added:
                continue
            flags.extend(added)
            edits.extend(off_edits)
            for call in calls:
                shown = _display(call)
                if shown not in tools:
                    tools.append(shown)
            if off_edits and tool == "apk":
                notes.append(
                    "the fix makes each `apk add` fetch a fresh index into the mount (`--update-cache` "
                    "instead of `--no-cache`): the mount hides any index an earlier layer left"
                )
            elif off_edits:
                notes.append(
                    f"the fix drops `{_OFF_FLAGS[tool][0][0]}`: with the mount the cache no longer reaches the image"
                )
            entry = table[tool]
            cleanup = _cleanup_command(script, entry.get("cleanup", []), calls)
            if cleanup:
                notes.append(f"drop `{cleanup}` from this RUN: with the mount it would empty the cache on every build")
            note = entry.get("note", "")
            if tool == "apt":
                # said once per file: the hook is removed once, in an earlier RUN
                if docker_clean_handled is None:
                    docker_clean_handled = _docker_clean_handled(context)
                if docker_clean_handled:
                    note = ""
                docker_clean_handled = True
            if note:
                notes.append(note)
        if not flags:
            continue
        safe = context.uses_buildkit_syntax
        fix_edits = [insert_run_flags(instruction, *flags), *edits]
        fix = Fix(
            "insert " + " ".join(flags),
            Applicability.SAFE if safe else Applicability.UNSAFE,
            fix_edits,
        )
        if not safe:
            notes.append("cache mounts need BuildKit; add `# syntax=docker/dockerfile:1` to make that explicit")
        yield context.report(
            "DC131",
            instruction,
            f"{', '.join(f'`{name}`' for name in tools)} could reuse {'its' if len(tools) == 1 else 'their'} "
            f"download cache across builds: `RUN {' '.join(flags)} ...`",
            stake=Stake(rebuild="downloads every package again whenever this step re-runs"),
            fix=fix,
            stage_aware=False,
            notes=notes,
        )


def _refreshes_and_uses(calls: list[ToolCall]) -> bool:
    """`apt-get update` and an install in this RUN (see `refreshed` in the table)."""
    verbs = {call.verb for call in calls}
    return "update" in verbs and bool(verbs - {"update"})


def _display(call: ToolCall) -> str:
    if call.tool in ("maven", "gradle"):
        return call.program
    if call.program.startswith("python"):
        return f"{call.program} -m {call.tool} {call.verb}"
    return f"{call.program} {call.verb}"


def _off_flag_edits(context: RuleContext, tool: str, calls: list[ToolCall]) -> list[Edit] | None:
    """Edits that drop (or, for apk, replace) the no-cache flag; None when one cannot be edited."""
    spec = _OFF_FLAGS.get(tool)
    if spec is None:
        return []
    names, replacement = spec
    text = context.dockerfile.text
    edits: list[Edit] = []
    updated = False
    for call in calls:
        if tool == "apk":
            # The empty mount hides any index an earlier layer left in /var/cache/apk:
            # every add/upgrade must fetch one (Docker's documented `apk --update-cache add`).
            if call.verb == "update":
                updated = True
                continue
            if not updated and not call.has_flag(*names, "-U", "--update-cache", "--update"):
                edits.append(insert_after_word(call.verb_word, "--update-cache"))
                continue
        if not call.has_flag(*names):
            continue
        words = [word for word in call.command.words if _is_flag(word, names)]
        if not words:
            return None  # e.g. a grouped `-qn`: leave the step alone
        for word in words:
            edits.append(Edit(word.span, replacement) if replacement else remove_word(word, text))
    return edits


def _is_flag(word: Word, names: tuple[str, ...]) -> bool:
    return word.value in names or word.value.split("=", 1)[0] in names and word.value.startswith("--")


def _cleanup_command(script, cleanups: list[str], calls: list[ToolCall]) -> str | None:
    if not cleanups:
        return None
    first = calls[0].command.index
    for command in script.commands:
        if command.index <= first:
            continue
        argv = " ".join(command.argv)
        for cleanup in cleanups:
            if argv == cleanup or argv.startswith(cleanup + " "):
                return command.text
    return None


def _docker_clean_handled(context: RuleContext) -> bool:
    for instruction in context.dockerfile.instructions:
        if instruction.keyword != "RUN":
            continue
        texts = [instruction.args, *(heredoc.content for heredoc in instruction.heredocs)]
        if any(marker in text for text in texts for marker in _DOCKER_CLEAN_MARKERS):
            return True
    return False


def _later_step_reads(context: RuleContext, instruction, tool: str) -> bool:
    """A later RUN of the stage uses ``tool`` without refreshing: it needs what this RUN left.

    (A mount would hide the refreshed directory from the image, e.g. apt lists that a
    later `apt-get download` or `apt-get install` without update reads.)
    """
    stage = context.stage_of(instruction)
    if stage is None:
        return False
    for other in stage.instructions:
        if other.start_line <= instruction.start_line or other.keyword != "RUN" or other.shell is None:
            continue
        verbs = {call.verb for call in tool_calls(other.shell, tool)}
        if verbs and "update" not in verbs:
            return True
    return False
