"""DC113: npm, yarn and pnpm caches left in the layer."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
    ToolCall,
    append_to_run,
    cache_dirs,
    display_path,
    mounts_cache,
    removes_cache,
    run_env,
    stake,
    tool_calls,
    wrapper_prefix,
)
from decruft.audit.rule import Applicability, Fix, Severity, rule

_FILLS = {
    "npm": frozenset({"install", "ci"}),
    "yarn": frozenset({"install", "add", "global add"}),
    "pnpm": frozenset({"install", "add", "fetch"}),
}
# Other places the caches live (removing or mounting any one counts): npm's content store,
# yarn 1 as a non-root user, yarn 2+, pnpm with PNPM_HOME=/pnpm.
_EXTRA_DIRS = {
    "npm": ("/root/.npm/_cacache",),
    "yarn": ("/root/.cache/yarn", "/root/.yarn/berry/cache"),
    "pnpm": ("/pnpm/store", "/root/.cache/pnpm"),
}
_STAKES = {"npm": "npm_cache", "yarn": "yarn_cache", "pnpm": "pnpm_store"}
_CLEANUP = {"npm": "npm cache clean --force", "yarn": "yarn cache clean", "pnpm": None}


@rule(
    code="DC113",
    name="js-cache-left",
    severity=Severity.WARNING,
    summary="npm, yarn or pnpm install leaves the package cache in the layer",
    why="""
Every JavaScript package manager keeps a second copy of what it installs: npm in
~/.npm/_cacache (compressed tarballs), Yarn 1 in /usr/local/share/.cache/yarn
(root) or ~/.cache/yarn (extracted packages, often as large as node_modules),
pnpm in its content-addressed store.  After the install the cache is dead weight
in the image.  Accepted: `npm cache clean --force`, `yarn cache clean`,
`pnpm store prune` or a removal of the cache directory later in the same RUN, and
a cache mount on the cache directory (the better choice: the next build reuses it).

pnpm hard-links node_modules to its store when both are on the same filesystem,
so the store costs less than its size; it still holds metadata and packages that
no project uses, and `pnpm store prune` right after an install removes little: a
cache mount (`--mount=type=cache,id=pnpm,target=/pnpm/store` with
`ENV PNPM_HOME=/pnpm`) is the fix there, so pnpm findings carry no automatic edit.
hadolint's DL3060 covers `yarn install` only; it has no npm or pnpm rule.
""",
    bad="""
RUN npm ci
RUN yarn install --frozen-lockfile
""",
    good="""
RUN npm ci && npm cache clean --force
RUN yarn install --frozen-lockfile && yarn cache clean
""",
    fix="append `npm cache clean --force` / `yarn cache clean` to the RUN",
    applicability=Applicability.SAFE,
    hadolint=("DL3060",),
)
def check(context: RuleContext):
    for step in context.runs():
        instruction = step.instruction
        script = instruction.shell
        calls = tool_calls(script, "npm", "yarn", "pnpm")
        if not calls:
            continue
        env = None
        for tool in ("npm", "yarn", "pnpm"):
            filling = [call for call in calls if call.tool == tool and call.verb in _FILLS[tool]]
            if not filling:
                continue
            last = filling[-1]
            if _cleaned(tool, calls, last):
                continue
            if env is None:
                env = run_env(context, instruction)
            scope = {**env, **_inline_env(last)}
            dirs = [*_flag_dirs(tool, last), *cache_dirs(context, instruction, tool, scope), *_EXTRA_DIRS[tool]]
            if any(mounts_cache(context, instruction, path) for path in dirs):
                continue
            if any(removes_cache(script, [path], after=last.command.index, env=scope) for path in dirs):
                continue
            fix = None
            cleanup = _CLEANUP[tool]
            if cleanup is not None:
                cleanup = wrapper_prefix(last.command) + cleanup
                edit = append_to_run(instruction, cleanup)
                fix = Fix(f"append `{cleanup}`", Applicability.SAFE, [edit]) if edit else None
                advice = f"; append `{cleanup}` or use a cache mount"
            else:
                advice = f"; use a cache mount (`--mount=type=cache,target={dirs[0]}`)"
            verb = last.verb if last.verb_word is not None else "(install)"
            yield context.report(
                "DC113",
                last.command.span,
                f"`{tool} {verb}` leaves its package cache in "
                f"{display_path(context, instruction, dirs[0])}{advice}",
                instruction=instruction,
                stake=stake(_STAKES[tool]),
                fix=fix,
            )


def _cleaned(tool: str, calls: list[ToolCall], last: ToolCall) -> bool:
    for other in calls:
        if other.tool != tool or other.command.index <= last.command.index:
            continue
        operands = other.operands()
        if tool == "npm" and other.verb == "cache" and operands[:1] in (["clean"], ["clear"], ["rm"]):
            if other.has_flag("--force", "-f"):
                return True
        if tool == "yarn" and other.verb == "cache" and operands[:1] == ["clean"]:
            return True
        if tool == "pnpm" and other.verb == "store" and operands[:1] == ["prune"]:
            return True
    return False


def _inline_env(call: ToolCall) -> dict[str, str]:
    values = {}
    for assignment in call.command.assignments:
        key, _, value = assignment.partition("=")
        values[key] = value.strip("'\"")
    return values


_DIR_FLAGS = {"npm": "--cache", "yarn": "--cache-folder", "pnpm": "--store-dir"}


def _flag_dirs(tool: str, call: ToolCall) -> list[str]:
    """A cache directory given on the command line (``npm ci --cache /tmp/npm``)."""
    value = call.command.word_after(_DIR_FLAGS[tool])
    return [value.rstrip("/")] if value else []
