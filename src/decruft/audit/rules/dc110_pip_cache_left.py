"""DC110: pip's download and wheel cache left in the layer."""

from __future__ import annotations

import re

from decruft.audit.context import RuleContext
from decruft.audit.facts import (
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
)
from decruft.audit.rule import Applicability, Fix, Severity, rule

_FILLS = ("install", "wheel", "download")
# optparse accepts unambiguous prefixes, so `--no-cache` is `--no-cache-dir` to pip.
_NO_CACHE_FLAGS = ("--no-cache-dir", "--no-cache")
_BOOTSTRAP = frozenset({"pip", "setuptools", "wheel"})
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9._-]+")
# pip.conf / `pip config set` turning the cache off for every later pip call.
_CONFIG_OFF = re.compile(
    r"no[-_]cache[-_]dir['\"]?\s*(?:=|\s)\s*['\"]?(?:true|1|yes|on)\b", re.IGNORECASE
)


@rule(
    code="DC110",
    name="pip-cache-left",
    severity=Severity.WARNING,
    summary="pip install without --no-cache-dir leaves pip's cache in the layer",
    why="""
pip keeps every downloaded file and every wheel it builds in ~/.cache/pip (often
tens of MB, hundreds with scientific packages).  In an image that cache is never
used again but ships with the layer.  `pip install --no-cache-dir` (also for
`pip wheel` and `pip download`) avoids it; so do a truthy PIP_NO_CACHE_DIR (ENV, ARG,
inline `PIP_NO_CACHE_DIR=1 pip ...` or `export`), `no-cache-dir = true` in a
pip.conf written by the Dockerfile, `pip cache purge` or removing ~/.cache/pip
(PIP_CACHE_DIR) later in the same RUN, and a cache mount on ~/.cache/pip (or
~/.cache).

Covers `pip`, `pip3`, `pip3.12`, any path to them and `python -m pip`.  A step
whose only packages are pip, setuptools and wheel (`pip install -U pip`) caches
just those wheels (about 3 MB): it is reported at info level.  Differences from
hadolint's DL3042: it also checks `pip wheel`/`pip download` and pip called by
path (`/usr/local/bin/pip`), accepts the cache cleanups above and a pip.conf, and
its stage handling is decruft's (a build stage copied from narrowly is info,
never built stages are skipped); `uv` is DC111's.
""",
    bad="""
RUN pip install -r requirements.txt
""",
    good="""
RUN pip install --no-cache-dir -r requirements.txt
""",
    fix="insert --no-cache-dir after `install`",
    applicability=Applicability.SAFE,
    hadolint=("DL3042",),
)
def check(context: RuleContext):
    configured = None
    for step in context.runs():
        instruction = step.instruction
        script = instruction.shell
        pip_calls = tool_calls(script, "pip")
        calls = [call for call in pip_calls if call.verb in _FILLS and not call.has_flag(*_NO_CACHE_FLAGS)]
        if not calls:
            continue
        if configured is None:
            configured = _configured_off(context)
        if configured:
            return
        env = None
        for call in calls:
            if truthy(run_variable(context, instruction, call.command, "PIP_NO_CACHE_DIR")):
                continue
            if env is None:
                env = run_env(context, instruction)
            dirs = cache_dirs(context, instruction, "pip", env)
            if any(mounts_cache(context, instruction, path) for path in dirs):
                continue
            if removes_cache(script, dirs, after=call.command.index, env=env) or any(
                _purges(other) for other in pip_calls if other.command.index > call.command.index
            ):
                continue
            bootstrap = _only_bootstrap(call)
            yield context.report(
                "DC110",
                call.command.span,
                f"`{_display(call)}` without --no-cache-dir leaves pip's cache in "
                f"{display_path(context, instruction, dirs[0])}",
                instruction=instruction,
                severity=Severity.INFO if bootstrap else None,
                stake=stake("pip_bootstrap" if bootstrap else "pip_cache"),
                fix=Fix("insert --no-cache-dir", Applicability.SAFE, [insert_after_word(call.verb_word, "--no-cache-dir")]),
            )


def _only_bootstrap(call) -> bool:
    if call.verb != "install" or call.has_flag("-r", "--requirement", "-e", "--editable"):
        return False
    names = []
    for operand in call.operands():
        match = _REQUIREMENT_NAME.match(operand)
        if match is None:
            return False
        names.append(match.group(0).lower())
    return bool(names) and set(names) <= _BOOTSTRAP


def _purges(call) -> bool:
    return call.verb == "cache" and call.operands()[:1] == ["purge"]


def _display(call) -> str:
    if call.program.startswith("python"):
        return f"{call.program} -m pip {call.verb}"
    return f"{call.program} {call.verb}"


def _configured_off(context: RuleContext) -> bool:
    for instruction in context.dockerfile.instructions:
        if instruction.keyword != "RUN":
            continue
        if _CONFIG_OFF.search(instruction.args) or any(_CONFIG_OFF.search(h.content) for h in instruction.heredocs):
            return True
    return False
