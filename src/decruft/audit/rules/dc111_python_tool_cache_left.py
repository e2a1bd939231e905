"""DC111: uv, poetry, pipenv and conda caches left in the layer."""

from __future__ import annotations

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
    ToolCall,
    append_to_run,
    cache_dirs,
    display_path,
    insert_after_word,
    mounts_cache,
    removes_cache,
    run_env,
    run_variable,
    stake,
    tool_calls,
    truthy,
    wrapper_prefix,
)
from decruft.audit.rule import Applicability, Edit, Fix, Severity, rule

_FILLS = {
    "uv": frozenset({"pip install", "pip sync", "sync", "tool install", "add"}),
    "poetry": frozenset({"install", "add", "update", "sync"}),
    "pipenv": frozenset({"install", "sync", "update"}),
    "conda": frozenset({"install", "create", "update", "env create", "env update"}),
}
_STAKES = {"uv": "uv_cache", "poetry": "poetry_cache", "pipenv": "pipenv_cache", "conda": "conda_cache"}


@rule(
    code="DC111",
    name="python-tool-cache-left",
    severity=Severity.WARNING,
    summary="uv, poetry, pipenv or conda install leaves its package cache in the layer",
    why="""
Python's other installers keep what they download, like pip does: uv in
~/.cache/uv, poetry in ~/.cache/pypoetry, pipenv in ~/.cache/pipenv (it points
pip's cache there too), conda/mamba/micromamba in <prefix>/pkgs (hundreds of MB
of tarballs and extracted packages).  In an image that cache is dead weight
unless it is left out:

- uv: `--no-cache` (`-n`), a truthy UV_NO_CACHE (ENV, ARG, inline), `uv cache
  clean`, or removing the cache directory (UV_CACHE_DIR) later in the same RUN;
- poetry: `--no-cache` (Poetry >= 1.2.1), `poetry cache clear`, or removing
  POETRY_CACHE_DIR (default ~/.cache/pypoetry) later in the same RUN;
- pipenv: removing ~/.cache/pipenv (PIPENV_CACHE_DIR) later in the same RUN, or
  a later `pipenv --clear`.  `pipenv install --clear` does *not* count: it
  empties the caches before resolving, then the install fills them again;
- conda, mamba, micromamba: `<tool> clean --all` (`-a`, as in `conda clean
  -afy`, or `-tp`/`-tipsy`: tarballs and unused packages) or removing the pkgs
  directory later in the same RUN;
- any of them: a cache mount on the cache directory.

hadolint has no equivalent (DL3042 is pip only and skips pipenv).
""",
    bad="""
RUN uv pip install --system -r requirements.txt
RUN conda install -y numpy
""",
    good="""
RUN uv pip install --system --no-cache -r requirements.txt
RUN conda install -y numpy && conda clean -afy
""",
    fix="uv: insert --no-cache; poetry: insert --no-cache (unsafe: Poetry >= 1.2.1); "
    "pipenv: append a removal of its cache; conda: append `<tool> clean --all --yes`",
    applicability=Applicability.SAFE,
)
def check(context: RuleContext):
    for step in context.runs():
        instruction = step.instruction
        script = instruction.shell
        calls = tool_calls(script, "uv", "poetry", "pipenv", "conda")
        if not calls:
            continue
        env = None
        for tool in ("uv", "poetry", "pipenv", "conda"):
            filling = [call for call in calls if call.tool == tool and call.verb in _FILLS[tool]]
            if tool in ("uv", "poetry"):
                filling = [call for call in filling if not call.has_flag("--no-cache", *(("-n",) if tool == "uv" else ()))]
            if tool == "uv":
                filling = [
                    call for call in filling
                    if not truthy(run_variable(context, instruction, call.command, "UV_NO_CACHE"))
                ]  # fmt: skip
            if not filling:
                continue
            if env is None:
                env = run_env(context, instruction)
            inline = _inline_env(filling[-1])
            scope = {**env, **inline} if inline else env
            dirs = cache_dirs(context, instruction, tool, scope)
            if tool == "conda":
                # the pkgs directory moves with the prefix; any mount or removal of a */pkgs counts
                if any(target.endswith("/pkgs") for target in context.cache_mount_targets(instruction)):
                    continue
            if all(mounts_cache(context, instruction, path) for path in dirs):
                continue
            if tool in ("uv", "poetry"):
                # flag-type fixes: every call needs its own --no-cache
                for call in filling:
                    if _cleaned(tool, calls, call, script, dirs, scope):
                        continue
                    yield _report(context, instruction, tool, call, dirs, _flag_fix(tool, call))
                continue
            last = filling[-1]
            if _cleaned(tool, calls, last, script, dirs, scope):
                continue
            yield _report(context, instruction, tool, last, dirs, _append_fix(instruction, tool, last, dirs))


def _inline_env(call: ToolCall) -> dict[str, str]:
    values = {}
    for assignment in call.command.assignments:
        key, _, value = assignment.partition("=")
        values[key] = value.strip("'\"")
    return values


def _cleaned(tool: str, calls: list[ToolCall], call: ToolCall, script, dirs: list[str], env) -> bool:
    after = call.command.index
    later = [other for other in calls if other.tool == tool and other.command.index > after]
    if tool == "uv" and any(other.verb == "cache" and other.operands()[:1] == ["clean"] for other in later):
        return True
    if tool == "poetry" and any(other.verb == "cache" and other.operands()[:1] == ["clear"] for other in later):
        return True
    if tool == "pipenv" and any(other.verb is None and other.has_flag("--clear") for other in later):
        return True
    if tool == "conda" and any(other.verb == "clean" and _cleans_all(other) for other in later):
        return True
    if tool == "conda":
        return any(
            target.rstrip("/*").rstrip("/").endswith("/pkgs")
            for command in script.commands
            if command.index > after and command.name == "rm"
            for target in command.positional
        ) or removes_cache(script, dirs, after=after, env=env)
    return removes_cache(script, dirs, after=after, env=env)


def _cleans_all(call: ToolCall) -> bool:
    """`clean --all`, or tarballs plus unused packages (the classic `conda clean -tipsy`)."""
    return call.has_flag("-a", "--all") or (
        call.has_flag("-t", "--tarballs") and call.has_flag("-p", "--packages")
    )


def _flag_fix(tool: str, call: ToolCall) -> Fix | None:
    if call.verb_word is None:
        return None
    edit = insert_after_word(call.verb_word, "--no-cache")
    if tool == "poetry":
        return Fix("insert --no-cache (needs Poetry >= 1.2.1)", Applicability.UNSAFE, [edit])
    return Fix("insert --no-cache", Applicability.SAFE, [edit])


def _append_fix(instruction, tool: str, call: ToolCall, dirs: list[str]) -> Fix | None:
    prefix = wrapper_prefix(call.command)
    if tool == "conda":
        cleanup = f"{prefix}{call.program} clean --all --yes"
    else:
        paths = " ".join(_shell_path(path) for path in dirs)
        cleanup = f"{prefix}rm -rf {paths}"
    edit: Edit | None = append_to_run(instruction, cleanup)
    if edit is None:
        return None
    return Fix(f"append `{cleanup}`", Applicability.SAFE, [edit])


def _shell_path(path: str) -> str:
    """Root's home written as ``~`` so the removal follows the user the step runs as."""
    return "~" + path[len("/root") :] if path.startswith("/root/") else path


def _report(context, instruction, tool: str, call: ToolCall, dirs: list[str], fix: Fix | None):
    where = " and ".join(display_path(context, instruction, path) for path in dirs)
    return context.report(
        "DC111",
        call.command.span,
        f"`{call.program} {call.verb}` leaves its package cache in {where}",
        instruction=instruction,
        stake=stake(_STAKES[tool]),
        fix=fix,
    )
