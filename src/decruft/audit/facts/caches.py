"""Package-manager caches: where they live, whether a RUN removes or mounts them, the user and HOME."""

from __future__ import annotations

import re

from decruft.audit.context import RuleContext, data_table
from decruft.audit.facts.commands import pattern_covers, rm_targets, run_env
from decruft.audit.facts.tools import HOME_ALIASES
from decruft.dockerfile.nodes import Instruction
from decruft.shell import ShellScript


def canonical_home_path(path: str, home: str | None = None) -> str:
    """Map ``~/x``, ``$HOME/x``, ``/home/<user>/x`` (and ``home/x``) to ``/root/x``.

    Cache directories are compared in root's home; a step running as another user
    writes the same relative paths under its own home.
    """
    for alias in HOME_ALIASES:
        if path.startswith(alias):
            return "/root/" + path[len(alias) :]
    if path in ("~", "$HOME", "${HOME}"):
        return "/root"
    if home and home not in ("/", "/root") and (path == home or path.startswith(home.rstrip("/") + "/")):
        return "/root" + path[len(home.rstrip("/")) :]
    if path.startswith("/home/"):
        parts = path.split("/", 3)
        return "/root" + ("/" + parts[3] if len(parts) > 3 else "")
    return path


_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def expand_variables(text: str, env: dict[str, str] | None) -> str:
    """Substitute ``$NAME`` / ``${NAME}`` known in ``env`` (others are left as written)."""
    if not env or "$" not in text:
        return text

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    return _VARIABLE.sub(value, text)


def removes_cache(
    script: ShellScript,
    paths: list[str],
    after: int = -1,
    home: str | None = None,
    env: dict[str, str] | None = None,
) -> bool:
    """A removal after command ``after`` deletes every one of ``paths``.

    Home-relative (``~``, ``$HOME``, ``/home/<user>``) and ``$VARIABLE`` targets are
    resolved (variables from ``env``, e.g. ``rm -rf $POETRY_CACHE_DIR``).
    """
    wanted = [canonical_home_path(path, home) for path in paths]
    targets = [
        canonical_home_path(expand_variables(target, env), home)
        for command in script.commands
        if command.index > after
        for target in rm_targets(command)
    ]
    return all(any(pattern_covers(target, path) for target in targets) for path in wanted)


def mounts_cache(context: RuleContext, instruction: Instruction, path: str, home: str | None = None) -> bool:
    """A cache (or tmpfs) mount of this RUN covers ``path`` (compared in root's home)."""
    wanted = canonical_home_path(path, home)
    for target in context.cache_mount_targets(instruction):
        target = canonical_home_path(target, home)
        if target and (wanted == target or wanted.startswith(target + "/")):
            return True
    return False


def base_repository(reference: str) -> str:
    """``docker.io/library/ruby:3.3-slim@sha256:..`` -> ``ruby``."""
    name = reference.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0].lower()


def user_at(context: RuleContext, instruction: Instruction) -> str | None:
    """The USER in effect for ``instruction`` (None: root / not set), FROM chain included."""
    stage = context.stage_of(instruction)
    if stage is None:
        return None
    user = None
    for ancestor in context.model.final_chain(stage.label):
        for current in ancestor.instructions:
            if current is instruction:
                break
            if current.keyword == "USER" and current.words:
                user = current.words[0]
    if user is not None and user.split(":", 1)[0] in ("root", "0"):
        return None
    return user


# ---------------------------------------------------------------------- cache directories
def cache_dirs(context: RuleContext, instruction: Instruction, tool: str, env: dict[str, str] | None = None) -> list[str]:
    """Where ``tool`` keeps its cache for this RUN, from ``data/cache_mounts.toml``.

    An environment override (``PIP_CACHE_DIR``, ``GOMODCACHE``...) wins, then a
    base-image default (the ``rust`` image's CARGO_HOME...), then the default.
    Paths in a home directory are given in root's home (see `canonical_home_path`).
    """
    return [path for path, _ in cache_mount_specs(context, instruction, tool, env)]


def cache_mount_specs(
    context: RuleContext, instruction: Instruction, tool: str, env: dict[str, str] | None = None
) -> list[tuple[str, dict]]:
    """`cache_dirs` with each directory's table entry (``sharing``, ``output``...)."""
    entry = data_table("cache_mounts.toml")["tools"].get(tool)
    if entry is None:
        return []
    values = run_env(context, instruction) if env is None else env
    stage = context.stage_of(instruction)
    base = base_repository(stage.root_base()) if stage is not None else ""
    out = []
    for mount in entry["mounts"]:
        path = None
        for variable, suffix in mount.get("env", {}).items():
            value = values.get(variable)
            if value:
                path = value.rstrip("/") + suffix
                break
        if path is None:
            path = mount.get("bases", {}).get(base)
        if path is None:
            if mount.get("only_bases") and mount.get("bases"):
                continue
            path = mount["target"]
        out.append((path, mount))
    return out


def display_path(context: RuleContext, instruction: Instruction, path: str) -> str:
    """``/root/x`` as ``~/x`` when the step runs as another USER (its home is not /root)."""
    if path.startswith("/root/") and user_at(context, instruction) is not None:
        return "~" + path[len("/root") :]
    return path
