"""Small shell facts: apt commands, rm targets, inline variables, typical stakes."""

from __future__ import annotations

import fnmatch

from decruft.audit.context import RuleContext, data_table
from decruft.audit.rule import Stake
from decruft.dockerfile.nodes import Instruction
from decruft.shell import ShellCommand, ShellScript


APT_TOOLS = ("apt-get", "apt", "aptitude")
YUM_TOOLS = ("yum", "dnf", "microdnf", "tdnf")


def stake(name: str, note: str | None = None) -> Stake:
    """A typical-size stake from ``data/stakes.toml``."""
    entry = data_table("stakes.toml")[name]
    return Stake(bytes=int(entry["bytes"]), measured=False, note=note)


def rm_targets(command: ShellCommand) -> list[str]:
    """Paths an ``rm -r``-style command deletes (empty if it is not one)."""
    if command.name == "rm":
        return [arg for arg in command.positional]
    if command.name == "find" and "-delete" in command.args:
        # Only an unfiltered `find DIR -delete` (or `-mindepth 1 -delete`) empties DIR.
        predicates = [arg for arg in command.args[1:] if arg.startswith("-")]
        if set(predicates) <= {"-delete", "-mindepth", "-depth", "-xdev"}:
            return [arg for arg in command.args[:1] if not arg.startswith("-")]
    return []


def pattern_covers(pattern: str, path: str) -> bool:
    """Whether deleting ``pattern`` removes ``path`` or everything inside it."""
    pattern = pattern.rstrip("/")
    if pattern.endswith("/*"):
        pattern = pattern[:-2]  # `rm -rf dir/*` empties dir
    path = path.rstrip("/")
    if not pattern:
        return False
    return pattern == path or path.startswith(pattern + "/") or fnmatch.fnmatchcase(path, pattern)


def removes(script: ShellScript, path: str, after: int = -1) -> bool:
    """A command after index ``after`` deletes ``path`` (or its contents)."""
    return any(
        pattern_covers(target, path)
        for command in script.commands
        if command.index > after
        for target in rm_targets(command)
    )


def apt_commands(script: ShellScript, *subcommands: str) -> list[ShellCommand]:
    return script.find(*APT_TOOLS, subcommand=subcommands or None)


def env_value(context: RuleContext, instruction: Instruction, command: ShellCommand, name: str) -> str | None:
    """``name`` as the command sees it: inline ``VAR=x cmd``, ``export``, ENV or an in-scope ARG."""
    for assignment in command.assignments:
        key, _, value = assignment.partition("=")
        if key == name:
            return value.strip("'\"")
    for word in command.words:
        key, sep, value = word.value.partition("=")
        if sep and key == name:
            return value
    script = instruction.shell
    if script is not None:
        for earlier in script.commands:
            if earlier.index >= command.index:
                break
            if earlier.name == "export":
                for arg in earlier.args:
                    key, sep, value = arg.partition("=")
                    if sep and key == name:
                        return value
    return run_env(context, instruction).get(name)


def truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "false", "no", "off")


# ---------------------------------------------------------------------- RUN environment
def run_env(context: RuleContext, instruction: Instruction) -> dict[str, str]:
    """The environment a RUN step sees from the Dockerfile: ENV *and* in-scope ARG values.

    BuildKit exports build args to RUN's environment (ENV wins on a clash), so
    ``ARG PIP_NO_CACHE_DIR=1`` turns pip's cache off just like ENV does.
    """
    return context.model.scope_at(instruction).variables()


run_variable = env_value  # the name some rules use
