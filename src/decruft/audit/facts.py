"""Shell facts several rules share: what a RUN body installs, removes or caches."""

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


def _covers(pattern: str, path: str) -> bool:
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
        _covers(target, path)
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


# ---------------------------------------------------------------------- package managers
# Shared by the package-manager rules (DC104-DC115, DC131): which tool a command
# runs, where its cache lives, and style-preserving edits that append a cleanup
# to a RUN or insert a flag.  Everything here works on the already parsed
# ``instruction.shell``; no re-parsing, no per-call regex compilation.

import re  # noqa: E402
import weakref  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from decruft.audit.rule import Edit  # noqa: E402
from decruft.dockerfile.nodes import Span  # noqa: E402
from decruft.shell import Word  # noqa: E402

_PIP_NAME = re.compile(r"pip(?:[23](?:\.\d+)?)?")
_PYTHON_NAME = re.compile(r"python(?:[23](?:\.\d+)?)?")
_HOME_ALIASES = ("~/", "$HOME/", "${HOME}/")

# Options that take a separate value, per tool (so the value is not taken for a verb or a package).
_VALUE_OPTIONS = {
    "apt": frozenset({"-o", "-c", "-t", "--option", "--config-file", "--target-release"}),
    "apk": frozenset({"-X", "--repository", "-p", "--root", "--arch", "--cache-dir", "--keys-dir",
                      "--repositories-file", "-t", "--virtual"}),
    "rpm": frozenset({"-c", "--config", "--installroot", "--releasever", "--enablerepo",
                      "--disablerepo", "--repo", "--repoid", "-x", "--exclude", "--setopt",
                      "--forcearch", "--downloaddir", "--destdir", "-R", "--randomwait", "-d",
                      "--debuglevel", "-e", "--errorlevel", "--rpmverbosity", "--color"}),
    "zypper": frozenset({"-R", "--root", "-c", "--config", "--reposd-dir", "--cache-dir",
                         "--raw-cache-dir", "--solv-cache-dir", "--pkg-cache-dir", "-r", "--repo"}),
    "pip": frozenset({"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t",
                      "--target", "--prefix", "--root", "-i", "--index-url", "--extra-index-url",
                      "-f", "--find-links", "--platform", "--python-version", "--implementation",
                      "--abi", "--cache-dir", "--trusted-host", "--log", "--proxy", "--timeout",
                      "--retries", "--progress-bar", "--src", "--upgrade-strategy", "-w",
                      "--wheel-dir", "-d", "--dest", "--only-binary", "--no-binary", "--config-settings",
                      "-C", "--global-option", "--report", "--python", "--exists-action",
                      "--keyring-provider", "--cert", "--client-cert", "--use-feature", "--use-deprecated"}),
    "npm": frozenset({"--omit", "--include", "--registry", "--cache", "--prefix", "--loglevel",
                      "--workspace", "-w", "--userconfig", "--globalconfig", "--install-strategy",
                      "--tag", "--only", "--also", "--before", "--install-links", "--scope", "-C"}),
    "yarn": frozenset({"--cwd", "--cache-folder", "--modules-folder", "--network-timeout", "--mutex",
                       "--registry", "--global-folder", "--link-folder", "--otp", "--network-concurrency"}),
    "pnpm": frozenset({"--dir", "-C", "--filter", "-F", "--store-dir", "--reporter", "--loglevel",
                       "--registry", "--workspace-concurrency", "--virtual-store-dir"}),
    "cargo": frozenset({"--target-dir", "--manifest-path", "-p", "--package", "--features", "-F",
                        "--target", "-j", "--jobs", "--bin", "--example", "--profile", "--root",
                        "--color", "-Z", "--config", "--version", "--git", "--branch", "--tag",
                        "--rev", "--path", "--index", "--registry"}),
    "conda": frozenset({"-n", "--name", "-p", "--prefix", "-c", "--channel", "-f", "--file",
                        "--override-channels", "-r", "--root-prefix"}),
    "gem": frozenset({"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "-s", "--source",
                      "--platform", "-g", "--file", "-P", "--trust-policy"}),
}
_NO_VALUE: frozenset[str] = frozenset()

_RPM_VERBS = frozenset({
    "install", "update", "upgrade", "groupinstall", "reinstall", "downgrade", "makecache",
    "builddep", "distro-sync", "localinstall", "localupdate", "group", "module", "swap",
    "clean", "remove", "erase", "autoremove", "check-update", "list", "info", "search",
    "repolist", "config-manager", "install-n", "upgrade-minimal", "update-minimal",
})  # fmt: skip
_ZYPPER_ALIASES = {"in": "install", "up": "update", "dup": "dist-upgrade", "ref": "refresh",
                   "cc": "clean", "rm": "remove", "si": "source-install", "ar": "addrepo"}
_NPM_ALIASES = {"i": "install", "in": "install", "ins": "install", "inst": "install",
                "insta": "install", "instal": "install", "isnt": "install", "isntal": "install",
                "isntall": "install", "add": "install", "clean-install": "ci", "ic": "ci",
                "install-clean": "ci", "isntall-clean": "ci"}
_PNPM_ALIASES = {"i": "install", "add": "add", "install": "install"}
_CONDA_TOOLS = frozenset({"conda", "mamba", "micromamba"})
_RPM_TOOLS = frozenset(YUM_TOOLS)
_INFO_ONLY = frozenset({"-v", "--version", "-h", "--help", "-V", "version", "help"})


@dataclass(slots=True, eq=False)
class ToolCall:
    """A package-manager or build-tool command found in a RUN body.

    ``tool`` is the key used in ``data/cache_mounts.toml`` (``apt``, ``dnf``, ``pip``,
    ``conda``, ``go``...); ``program`` the command as called (``pip3``, ``mamba``,
    ``python3`` for ``python3 -m pip``); ``verb`` the normalised subcommand
    (``install``, ``pip install`` for uv, ``mod download`` for go, ``env create``);
    ``verb_word`` the last word of the verb, where a flag can be inserted;
    ``rest`` the arguments after the verb.
    """

    tool: str
    program: str
    verb: str | None
    command: ShellCommand
    verb_word: Word | None
    rest: list[str]

    def has_flag(self, *names: str) -> bool:
        return self.command.has_flag(*names)

    def operands(self) -> list[str]:
        """Arguments after the verb that are not options nor option values."""
        skip = _VALUE_OPTIONS.get(_OPTION_FAMILY.get(self.tool, self.tool), _NO_VALUE)
        out: list[str] = []
        pending = False
        for arg in self.rest:
            if pending:
                pending = False
                continue
            if arg.startswith("-") and arg != "-":
                pending = arg in skip
                continue
            out.append(arg)
        return out


_OPTION_FAMILY = {"dnf": "rpm", "yum": "rpm", "microdnf": "rpm", "tdnf": "rpm", "bundle": "gem"}


def argv_words(command: ShellCommand) -> list[Word]:
    """``command.words`` without leading wrappers (``sudo -u x``, ``env A=1``...), like ``argv``."""
    words = command.words
    return words[len(words) - len(command.argv) :]


def wrapper_prefix(command: ShellCommand) -> str:
    """``sudo ``/``doas `` (with their options) when the command runs under one, else ``""``."""
    words = command.words
    inner = len(words) - len(command.argv)
    if inner <= 0 or _basename(words[0].value) not in ("sudo", "doas"):
        return ""
    return " ".join(word.text for word in words[:inner]) + " "


def _basename(value: str) -> str:
    return value.rsplit("/", 1)[-1]


def _verb_at(values: list[str], start: int, skip: frozenset[str]) -> int | None:
    """Index of the first operand at or after ``start`` (options and their values skipped)."""
    index = start
    while index < len(values):
        value = values[index]
        if value.startswith("-") and value != "-":
            index += 2 if value in skip else 1
            continue
        return index
    return None


def classify(command: ShellCommand) -> ToolCall | None:
    """Recognise a package manager / build tool invocation (None for anything else)."""
    words = argv_words(command)
    if not words:
        return None
    values = [word.value for word in words]
    name = _basename(values[0])
    tool = None
    verb_index: int | None = None
    verb: str | None = None
    last = None  # index of the verb's last word
    if name in APT_TOOLS:
        tool = "apt"
    elif name == "apk":
        tool = "apk"
    elif name in _RPM_TOOLS:
        tool = name
        verb_index = _verb_at(values, 1, _VALUE_OPTIONS["rpm"])
        if verb_index is not None and values[verb_index] not in _RPM_VERBS:
            following = _verb_at(values, verb_index + 1, _VALUE_OPTIONS["rpm"])
            verb_index = following if following is not None and values[following] in _RPM_VERBS else verb_index
        if verb_index is not None:
            verb = values[verb_index]
            if verb in ("group", "module") and verb_index + 1 < len(values):
                verb = f"{verb} {values[verb_index + 1]}"
                last = verb_index + 1
    elif name == "zypper":
        tool = "zypper"
        verb_index = _verb_at(values, 1, _VALUE_OPTIONS["zypper"])
        if verb_index is not None:
            verb = _ZYPPER_ALIASES.get(values[verb_index], values[verb_index])
    elif _PIP_NAME.fullmatch(name):
        tool = "pip"
    elif _PYTHON_NAME.fullmatch(name) and "-m" in values[1:4]:
        module_at = values.index("-m", 1) + 1
        if module_at < len(values) and values[module_at] in ("pip", "pip3", "uv"):
            tool = "pip" if values[module_at] != "uv" else "uv"
            verb_index = _verb_at(values, module_at + 1, _VALUE_OPTIONS.get(tool, _NO_VALUE))
    elif name == "uv":
        tool = "uv"
    elif name in ("poetry", "pipenv", "pnpm", "gem", "composer", "go"):
        tool = name
    elif name in _CONDA_TOOLS:
        tool = "conda"
    elif name == "npm":
        tool = "npm"
    elif name == "yarn":
        tool = "yarn"
    elif name == "cargo":
        tool = "cargo"
    elif name in ("mvn", "mvnw"):
        tool = "maven"
    elif name in ("gradle", "gradlew"):
        tool = "gradle"
    elif name in ("bundle", "bundler"):
        tool = "bundle"
    if tool is None:
        return None
    if verb is None:
        family = _OPTION_FAMILY.get(tool, tool)
        if verb_index is None:
            verb_index = _verb_at(values, 1, _VALUE_OPTIONS.get(family, _NO_VALUE))
        if tool == "cargo":
            while verb_index is not None and values[verb_index].startswith("+"):
                verb_index = _verb_at(values, verb_index + 1, _VALUE_OPTIONS["cargo"])
        verb = values[verb_index] if verb_index is not None else None
        if verb is not None:
            two = verb_index + 1 < len(values) and not values[verb_index + 1].startswith("-")
            if tool == "uv" and verb in ("pip", "tool", "python") and two:
                verb, last = f"{verb} {values[verb_index + 1]}", verb_index + 1
            elif tool == "conda" and verb == "env" and two:
                verb, last = f"env {values[verb_index + 1]}", verb_index + 1
            elif tool == "go" and verb == "mod" and two:
                verb, last = f"mod {values[verb_index + 1]}", verb_index + 1
            elif tool == "yarn" and verb == "global" and two:
                verb, last = f"global {values[verb_index + 1]}", verb_index + 1
            elif tool == "npm":
                verb = _NPM_ALIASES.get(verb, verb)
            elif tool == "pnpm":
                verb = _PNPM_ALIASES.get(verb, verb)
        if tool in ("maven", "gradle"):
            # Any goal or task builds; only version/help queries do not.
            verb = None if set(values[1:]) <= _INFO_ONLY and len(values) > 1 else "build"
            verb_index = None
        elif verb is None and tool in ("yarn", "bundle") and not (set(values[1:]) & _INFO_ONLY):
            verb = "install"  # bare `yarn` / `bundle` install
    if last is None:
        last = verb_index
    verb_word = words[last] if last is not None and tool not in ("maven", "gradle") else None
    rest = values[last + 1 :] if last is not None else values[1:]
    return ToolCall(tool, name, verb, command, verb_word, rest)


_CALLS: "weakref.WeakKeyDictionary[ShellScript, list[ToolCall]]" = weakref.WeakKeyDictionary()


def tool_calls(script: ShellScript | None, *tools: str) -> list[ToolCall]:
    """Every recognised call in ``script`` (only the given tools when named).

    Classified once per parsed script (every package-manager rule asks).
    """
    if script is None:
        return []
    calls = _CALLS.get(script)
    if calls is None:
        calls = [call for call in map(classify, script.commands) if call is not None]
        _CALLS[script] = calls
    if not tools:
        return list(calls)
    return [call for call in calls if call.tool in tools]


# ---------------------------------------------------------------------- home and paths
def canonical_home_path(path: str, home: str | None = None) -> str:
    """Map ``~/x``, ``$HOME/x``, ``/home/<user>/x`` (and ``home/x``) to ``/root/x``.

    Cache directories are compared in root's home; a step running as another user
    writes the same relative paths under its own home.
    """
    for alias in _HOME_ALIASES:
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
    return all(any(_covers(target, path) for target in targets) for path in wanted)


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


# ---------------------------------------------------------------------- edits
def insert_after_word(word: Word, text: str) -> Edit:
    """Insert `` text`` right after ``word`` (e.g. a flag after ``install``)."""
    return Edit(Span(word.span.end, word.span.end), " " + text)


def insert_run_flags(instruction: Instruction, *flags: str) -> Edit:
    """Insert flags (``--mount=...``) right after the RUN keyword."""
    end = instruction.keyword_span.end
    return Edit(Span(end, end), "".join(" " + flag for flag in flags))


def remove_word(word: Word, text: str) -> Edit:
    """Delete ``word`` and the whitespace before it (``text`` is ``Dockerfile.text``)."""
    start = word.span.start
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return Edit(Span(start, word.span.end), "")


def append_to_run(instruction: Instruction, command_text: str) -> Edit | None:
    """An edit appending ``command_text`` as the last command of a RUN, in the file's style.

    One-liners get `` && cmd``; continued RUNs get a new line matching the last
    one (leading ``&&`` or trailing ``&& \\``, same indentation, the file's escape
    character and line ending); heredoc bodies get a new line before the
    terminator.  None when the body cannot be extended safely (syntax the shell
    parser could not read, a trailing comment, a dangling operator).
    """
    script = instruction.shell
    if script is None or not script.complete or not script.commands:
        return None
    text = instruction.dockerfile.text
    if script.origin == "heredoc":
        heredoc = instruction.heredocs[0]
        body = text[heredoc.body.start : heredoc.body.end]
        if not body.endswith("\n"):
            return None
        newline = "\r\n" if body.endswith("\r\n") else "\n"
        last = body[: -len(newline)].rsplit("\n", 1)[-1]
        if last.rstrip().endswith("\\"):
            return None
        indent = last[: len(last) - len(last.lstrip(" \t"))]
        return Edit(Span(heredoc.body.end, heredoc.body.end), f"{indent}{command_text}{newline}")
    args_span = instruction.args_span
    end = args_span.end
    last_command_end = script.commands[-1].span.end
    tail = text[last_command_end:end]
    if "#" in tail:
        return None
    stripped = instruction.args.rstrip()
    if stripped.endswith(("&&", "||", "|", "&", "\\")):
        return None
    if stripped.endswith(";"):
        return Edit(Span(end, end), f" {command_text}")
    dockerfile = instruction.dockerfile
    first_line = dockerfile.position(args_span.start).line
    last_line = dockerfile.position(max(end - 1, args_span.start)).line
    if last_line == first_line:
        return Edit(Span(end, end), f" && {command_text}")
    escape = dockerfile.escape
    line = dockerfile.line_text(last_line)
    previous = dockerfile.line_text(last_line - 1).rstrip()
    before_line = text[: dockerfile.line_starts[last_line - 1]]
    newline = "\r\n" if before_line.endswith("\r\n") else "\n"
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    body = line.lstrip(" \t")
    if not previous.endswith(escape):
        return Edit(Span(end, end), f" && {command_text}")
    before_escape = previous[: -len(escape)]
    gap = _trailing_space(before_escape) or " "  # what the file puts before the escape
    for operator in ("&&", "||", ";"):
        if body.startswith(operator):  # leading style: `\n  && next`
            rest = body[len(operator) :]
            after = rest[: len(rest) - len(rest.lstrip(" \t"))] or " "
            joiner = "&&" if operator == "||" else operator
            return Edit(Span(end, end), f"{gap}{escape}{newline}{indent}{joiner}{after}{command_text}")
    stripped = before_escape.rstrip()
    for operator in ("&&", "||", ";"):
        if stripped.endswith(operator):  # trailing style: `cmd && \n  next`
            before = _trailing_space(stripped[: -len(operator)])
            joiner = "&&" if operator == "||" else operator
            return Edit(Span(end, end), f"{before}{joiner}{gap}{escape}{newline}{indent}{command_text}")
    return Edit(Span(end, end), f" && {command_text}")


def _trailing_space(text: str) -> str:
    return text[len(text.rstrip(" \t")) :]


# ---------------------------------------------------------------------- RUN environment
def run_env(context: RuleContext, instruction: Instruction) -> dict[str, str]:
    """The environment a RUN step sees from the Dockerfile: ENV *and* in-scope ARG values.

    BuildKit exports build args to RUN's environment (ENV wins on a clash), so
    ``ARG PIP_NO_CACHE_DIR=1`` turns pip's cache off just like ENV does.
    """
    return context.model.scope_at(instruction).variables()


run_variable = env_value  # the name some rules use


def display_path(context: RuleContext, instruction: Instruction, path: str) -> str:
    """``/root/x`` as ``~/x`` when the step runs as another USER (its home is not /root)."""
    if path.startswith("/root/") and user_at(context, instruction) is not None:
        return "~" + path[len("/root") :]
    return path


# ---------------------------------------------------------------------- layers: paths written and removed
# Shared by DC120-DC152 (layer-waste and multi-stage rules).  Kept import-light:
# the filesystem is only touched when ``context.context_dir`` is set.

import os as _os  # noqa: E402
import posixpath as _posixpath  # noqa: E402
import re as _re  # noqa: E402
import weakref as _weakref  # noqa: E402
from dataclasses import dataclass as _dataclass  # noqa: E402

_LAYER_VARIABLE = _re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_GLOB_CHARS = frozenset("*?[")
# Directories many layers write into: a removal *inside* one of them is not evidence that it
# removes what an earlier COPY or extraction put there (only an exact or covering removal is).
SHARED_DIRS = frozenset(
    {
        "/", "/bin", "/etc", "/home", "/lib", "/opt", "/root", "/sbin", "/srv", "/tmp", "/usr",
        "/usr/bin", "/usr/lib", "/usr/local", "/usr/local/bin", "/usr/local/lib", "/usr/sbin",
        "/usr/share", "/usr/src", "/var", "/var/cache", "/var/lib", "/var/tmp",
    }
)  # fmt: skip


def stage_chain_instructions(context: RuleContext, stage) -> list[Instruction]:
    """Every instruction whose layers sit below (or in) ``stage``: its FROM chain, in order."""
    chain = context.model.final_chain(stage.label)
    return [instruction for ancestor in chain for instruction in ancestor.instructions]


def expand_simple(text: str, variables) -> str | None:
    """A shell word as a path: ``$NAME``/``${NAME}`` from ``variables``, ``~`` as HOME
    (``/root`` unless ENV sets HOME), double quotes dropped.  None when it cannot tell."""
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    if "'" in text:
        return None
    if '"' in text:
        text = text.replace('"', "")
    if text == "~" or text.startswith("~/"):
        home = variables.get("HOME") or "/root"
        text = home + text[1:]
    if "$" not in text:
        return text
    missing = False

    def substitute(match: "_re.Match[str]") -> str:
        nonlocal missing
        value = variables.get(match.group(1) or match.group(2))
        if value is None:
            missing = True
            return ""
        return value

    result = _LAYER_VARIABLE.sub(substitute, text)
    if missing or "$" in result or "`" in result:
        return None
    return result


def absolute(path: str, cwd: str) -> str:
    """``path`` resolved against ``cwd`` and normalised (globs kept as written)."""
    joined = path if path.startswith("/") else _posixpath.join(cwd or "/", path)
    normal = _posixpath.normpath(joined)
    return "/" + normal.lstrip("/") if normal.startswith("/") else normal


_WORKDIRS: "_weakref.WeakKeyDictionary[RuleContext, dict[int, str]]" = _weakref.WeakKeyDictionary()


def workdir_at(context: RuleContext, instruction: Instruction) -> str:
    """The working directory ``instruction`` runs in (WORKDIRs of its FROM chain; base: ``/``).

    Computed once per context for every instruction (one pass over the stages).
    """
    table = _WORKDIRS.get(context)
    if table is None:
        table = {}
        final: dict[int, str] = {}
        for stage in context.model.stages:
            cwd = final.get(stage.parent.index, "/") if stage.parent is not None else "/"
            for current in stage.instructions:
                table[id(current)] = cwd
                if current.keyword == "WORKDIR" and current.words:
                    raw = " ".join(current.words)
                    cwd = absolute(context.model.expand(current, raw) if "$" in raw else raw, cwd)
            final[stage.index] = cwd
        _WORKDIRS[context] = table
    return table.get(id(instruction), "/")


class LazyVariables:
    """ARG and ENV values at an instruction, computed only when a ``$`` needs them."""

    __slots__ = ("_context", "_instruction", "_values")

    def __init__(self, context: RuleContext, instruction: Instruction) -> None:
        self._context = context
        self._instruction = instruction
        self._values: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._values is None:
            self._values = self._context.model.scope_at(self._instruction).variables()
        return self._values

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._load().get(key, default)

    def __getitem__(self, key: str) -> str:
        return self._load()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._load()


def glob_covers(pattern: str, path: str) -> bool:
    """Deleting ``pattern`` (a path or shell glob) removes ``path`` (or an ancestor of it)."""
    if _covers(pattern, path):
        return True
    if not _GLOB_CHARS & set(pattern):
        return False
    return any(_covers(pattern, parent) for parent in _ancestors(path))


def _ancestors(path: str) -> list[str]:
    parts = path.rstrip("/").split("/")
    return ["/".join(parts[:end]) for end in range(2, len(parts))]


def overlaps(target: str, written: str, tree: bool) -> bool:
    """Whether an operation on ``target`` reaches bytes written at ``written``.

    ``tree`` says ``written`` is a directory tree: then a ``target`` strictly inside it counts
    too, unless ``written`` is a shared system directory (see ``SHARED_DIRS``).
    """
    if glob_covers(target, written):
        return True
    if _GLOB_CHARS & set(written) and fnmatch.fnmatchcase(target, written):
        return True  # a removal of one file a `COPY *.tar /opt/` wrote
    if not tree or written in SHARED_DIRS:
        return False
    base = written.rstrip("/")
    return target.startswith(base + "/")


@_dataclass(slots=True)
class Written:
    """A path an earlier layer wrote: a file or (``tree``) a directory and what is below it."""

    path: str
    tree: bool
    instruction: Instruction
    how: str  # "copied", "added", "downloaded", "cloned", "extracted"
    command: ShellCommand | None = None
    source: str | None = None  # the COPY/ADD source that produced it


_ARCHIVE_SUFFIXES = (
    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz", ".tar.zst",
    ".tzst", ".tar.lz", ".tar.lzma", ".tlz",
)  # fmt: skip
_FILE_LIKE = _re.compile(r"\.[A-Za-z0-9]{1,8}$")


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def is_git_source(source: str) -> bool:
    lowered = source.lower()
    return lowered.startswith("git@") or lowered.startswith("git://") or (
        is_url(source) and (lowered.split("#", 1)[0].endswith(".git") or "#" in source)
    )


def is_tar_archive(name: str) -> bool:
    """A name ADD would auto-extract when local (BuildKit decides by content; this by suffix)."""
    return name.lower().endswith(_ARCHIVE_SUFFIXES)


def copy_sources(context: RuleContext, instruction: Instruction) -> list[str]:
    """COPY/ADD sources after ARG/ENV expansion (heredoc sources excluded)."""
    words = context.model.expanded_words(instruction) if _needs_expansion(instruction) else instruction.words
    sources = list(words[:-1])
    heredoc_names = {f"<<{heredoc.name}" for heredoc in instruction.heredocs}
    return [source for source in sources if not source.startswith("<<") and source not in heredoc_names]


def _needs_expansion(instruction: Instruction) -> bool:
    return any("$" in word for word in instruction.words)


def copy_destination(context: RuleContext, instruction: Instruction) -> str | None:
    words = instruction.words
    if len(words) < 2:
        return None
    dest = context.model.expand(instruction, words[-1]) if "$" in words[-1] else words[-1]
    return dest


def copy_writes(context: RuleContext, instruction: Instruction) -> list[Written]:
    """What a COPY/ADD writes, as absolute paths in the image."""
    if instruction.keyword not in ("COPY", "ADD"):
        return []
    dest = copy_destination(context, instruction)
    if dest is None:
        return []
    cwd = workdir_at(context, instruction)
    into_dir = dest.endswith("/") or dest in (".", "..") or dest.endswith("/.")
    dest_abs = absolute(dest, cwd)
    sources = copy_sources(context, instruction)
    heredocs = instruction.heredocs
    if len(sources) + len(heredocs) > 1:
        into_dir = True
    is_add = instruction.keyword == "ADD"
    from_stage = instruction.flag_value("from") is not None
    written: list[Written] = []
    for source in sources:
        if is_add and is_git_source(source):
            written.append(Written(dest_abs, True, instruction, "added", source=source))
            continue
        if is_add and is_url(source):
            name = source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            path = _posixpath.join(dest_abs, name) if into_dir and name else dest_abs
            written.append(Written(path, False, instruction, "added", source=source))
            continue
        base = source.rstrip("/").rsplit("/", 1)[-1]
        if is_add and not from_stage and is_tar_archive(base) and _unpacks(instruction):
            written.append(Written(dest_abs, True, instruction, "extracted", source=source))
            continue
        how = "added" if is_add else "copied"
        directory = _looks_like_directory(context, instruction, source)
        if directory:
            written.append(Written(dest_abs, True, instruction, how, source=source))
        elif _GLOB_CHARS & set(base):  # a pattern of files: recorded as a pattern
            written.append(Written(_posixpath.join(dest_abs, base), False, instruction, how, source=source))
        else:
            path = _posixpath.join(dest_abs, base) if into_dir else dest_abs
            written.append(Written(path, False, instruction, how, source=source))
    for heredoc in heredocs:
        path = _posixpath.join(dest_abs, heredoc.name) if into_dir else dest_abs
        how = "added" if is_add else "copied"
        written.append(Written(path, False, instruction, how, source=f"<<{heredoc.name}"))
    return written


def _unpacks(instruction: Instruction) -> bool:
    value = instruction.flag_value("unpack")
    return value is None or value.lower() == "true"


_FILE_NAMES = frozenset(
    {"Gemfile", "Pipfile", "Makefile", "Dockerfile", "Procfile", "Rakefile", "Brewfile",
     "Justfile", "Vagrantfile", "Caddyfile", "Jenkinsfile", "LICENSE", "README", "VERSION",
     "gradlew", "mvnw", "entrypoint", "docker-entrypoint", "manage", "run", "start"}
)  # fmt: skip


def _looks_like_directory(context: RuleContext, instruction: Instruction, source: str) -> bool:
    """Whether a COPY source is a directory (its contents land in the destination)."""
    stripped = source.rstrip("/")
    if source.endswith("/") or stripped in ("", ".", "..") or stripped.endswith("/."):
        return True
    if context.context_dir is not None and instruction.flag_value("from") is None:
        candidate = _os.path.join(_os.fspath(context.context_dir), stripped.lstrip("/"))
        if _os.path.exists(candidate):
            return _os.path.isdir(candidate)
    name = stripped.rsplit("/", 1)[-1]
    if name in _FILE_NAMES or name.endswith("file") or name.startswith("."):
        return False
    return not _FILE_LIKE.search(name)


# -- what a RUN writes (downloads, clones, extractions) ------------------------------------------
_CURL_OUTPUT = ("-o", "--output")
_WGET_OUTPUT = ("-O", "--output-document")
_GIT_CLONE_VALUE_OPTIONS = frozenset(
    {"-b", "--branch", "--depth", "-c", "--config", "-o", "--origin", "--reference", "-j",
     "--jobs", "--separate-git-dir", "--template", "-u", "--upload-pack", "--shallow-since",
     "--shallow-exclude", "--filter", "--reference-if-able", "--server-option"}
)  # fmt: skip


def short_option_value(command: ShellCommand, letter: str, *long_names: str) -> str | None:
    """Value of ``-o X``, ``-o X`` inside a group (``-fsSLo X``), ``-oX`` or ``--output=X``."""
    args = command.args
    for position, arg in enumerate(args):
        if arg == "--":
            break
        for name in long_names:
            if arg == name and position + 1 < len(args):
                return args[position + 1]
            if arg.startswith(name + "="):
                return arg[len(name) + 1 :]
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 1:
            letters = arg[1:]
            index = letters.find(letter)
            if index < 0:
                continue
            rest = letters[index + 1 :]
            if rest:
                return rest
            if position + 1 < len(args):
                return args[position + 1]
    return None


def _url_basename(url: str) -> str | None:
    name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name or None


def _first_url(command: ShellCommand) -> str | None:
    for arg in command.args:
        if "://" in arg:
            return arg
    return None


def run_writes(
    context: RuleContext, instruction: Instruction, script: ShellScript | None = None
) -> list[Written]:
    """Paths a RUN creates by downloading, cloning or extracting (files and directory trees)."""
    script = script if script is not None else instruction.shell
    if script is None:
        return []
    variables = LazyVariables(context, instruction)
    written: list[Written] = []
    for command, cwd in commands_with_cwd(context, instruction, script, variables):
        name = command.name
        if name == "curl":
            output = short_option_value(command, "o", "--output")
            if output is None and command.has_flag("-O", "--remote-name"):
                url = _first_url(command)
                output = _url_basename(url) if url else None
                directory = command.word_after("--output-dir")
                if output and directory:
                    output = _posixpath.join(directory, output)
            _add_written(written, output, cwd, variables, False, instruction, "downloaded", command)
        elif name == "wget":
            output = short_option_value(command, "O", "--output-document")
            if output is None:
                url = _first_url(command)
                output = _url_basename(url) if url else None
                prefix = short_option_value(command, "P", "--directory-prefix")
                if output and prefix:
                    output = _posixpath.join(prefix, output)
            _add_written(written, output, cwd, variables, False, instruction, "downloaded", command)
        elif name == "git" and command.subcommand == "clone":
            _add_written(written, _clone_dir(command), cwd, variables, True, instruction, "cloned", command)
        elif name == "tar" and _tar_extracts(command):
            directory = short_option_value(command, "C", "--directory")
            if directory:
                _add_written(written, directory, cwd, variables, True, instruction, "extracted", command)
        elif name == "unzip":
            directory = command.word_after("-d")
            if directory:
                _add_written(written, directory, cwd, variables, True, instruction, "extracted", command)
    return written


def _add_written(written, output, cwd, variables, tree, instruction, how, command) -> None:
    if not output or output == "-" or output.startswith("/dev/"):
        return
    expanded = expand_simple(output, variables)
    if expanded is None or not expanded:
        return
    path = absolute(expanded, cwd)
    if tree and path in SHARED_DIRS:
        return
    written.append(Written(path, tree, instruction, how, command))


def _clone_dir(command: ShellCommand) -> str | None:
    args = command.args
    positional: list[str] = []
    skip = False
    for arg in args[1:]:  # after "clone"
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            if arg in _GIT_CLONE_VALUE_OPTIONS:
                skip = True
            continue
        positional.append(arg)
    if not positional:
        return None
    if len(positional) >= 2:
        return positional[1]
    name = positional[0].rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name[:-4] if name.endswith(".git") else name or None


def _tar_extracts(command: ShellCommand) -> bool:
    for arg in command.args:
        if arg in ("--extract", "--get", "-x"):
            return True
        if arg.startswith("-") and not arg.startswith("--") and "x" in arg:
            return True
    first = command.args[0] if command.args else ""
    return not first.startswith("-") and "x" in first  # old style: tar xzf file


def commands_with_cwd(
    context: RuleContext,
    instruction: Instruction,
    script: ShellScript,
    variables: dict[str, str] | None = None,
):
    """Each command of a RUN with the directory it runs in (following plain ``cd DIR``)."""
    cwd = workdir_at(context, instruction)
    if variables is None:
        variables = LazyVariables(context, instruction)
    for command in script.commands:
        yield command, cwd
        if command.name in ("cd", "pushd") and not command.in_pipeline:
            target = command.positional[0] if command.positional else variables.get("HOME", "/root")
            expanded = expand_simple(target, variables)
            cwd = absolute(expanded, cwd) if expanded else cwd


def removed_paths(
    context: RuleContext, instruction: Instruction, script: ShellScript | None = None
) -> list[tuple[ShellCommand, list[str]]]:
    """The ``rm`` commands of a RUN with the absolute paths (or globs) each one deletes."""
    script = script if script is not None else instruction.shell
    if script is None:
        return []
    variables = LazyVariables(context, instruction)
    found = []
    for command, cwd in commands_with_cwd(context, instruction, script, variables):
        if command.name != "rm":
            continue
        paths = []
        for target in command.positional:
            expanded = expand_simple(target, variables)
            if expanded:
                paths.append(absolute(expanded, cwd))
        if paths:
            found.append((command, paths))
    return found


# -- the build context: what a COPY sends -------------------------------------------------------
_CONTEXT_SCANS: "_weakref.WeakKeyDictionary[RuleContext, list]" = _weakref.WeakKeyDictionary()


def _context_entries(context: RuleContext) -> list | None:
    if context.context_dir is None:
        return None
    cached = _CONTEXT_SCANS.get(context)
    if cached is None:
        from decruft.context.scan import scan_context

        dockerfile = context.file if context.file and _os.path.isfile(context.file) else None
        scan = scan_context(context.context_dir, dockerfile, keep_entries=True, measure_excluded=False)
        cached = [(entry.path, entry.kind, entry.size) for entry in scan.entries or ()]
        _CONTEXT_SCANS[context] = cached
    return cached


def _glob_regex(pattern: str) -> "_re.Pattern[str]":
    out = []
    index = 0
    while index < len(pattern):
        ch = pattern[index]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                out.append(_re.escape(ch))
            else:
                body = pattern[index + 1 : end]
                if body.startswith("^"):
                    body = "^" + body[1:].replace("\\", "\\\\")
                out.append("[" + body.replace("\\", "\\\\") + "]")
                index = end
        elif ch == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(_re.escape(pattern[index]))
        else:
            out.append(_re.escape(ch))
        index += 1
    return _re.compile("".join(out))


def context_bytes(context: RuleContext, sources: list[str]) -> int | None:
    """Bytes of the build-context files ``sources`` select (after ``.dockerignore``).

    None when the context is unknown.  A directory source counts everything below it.
    """
    entries = _context_entries(context)
    if entries is None:
        return None
    matchers = []
    for source in sources:
        clean = _posixpath.normpath("/" + source).lstrip("/")
        if clean in ("", "."):
            return sum(size for _, kind, size in entries if kind == "file")
        if _GLOB_CHARS & set(clean):
            regex = _glob_regex(clean)
            matchers.append(lambda path, regex=regex: any(
                regex.fullmatch(prefix) for prefix in _prefixes(path)
            ))
        else:
            matchers.append(lambda path, clean=clean: path == clean or path.startswith(clean + "/"))
    return sum(
        size for path, kind, size in entries if kind == "file" and any(match(path) for match in matchers)
    )


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]


def copied_bytes(context: RuleContext, instruction: Instruction) -> int | None:
    """Measured size of what a COPY/ADD takes from the build context (None: unknown)."""
    if instruction.keyword not in ("COPY", "ADD") or instruction.flag_value("from") is not None:
        return None
    sources = [source for source in copy_sources(context, instruction) if not is_url(source)]
    if not sources:
        return None
    return context_bytes(context, sources)


# -- package managers and dependency installs ---------------------------------------------------
_PACKAGE_VALUE_OPTIONS = frozenset(
    {"-o", "-t", "--target-release", "--default-release", "-c", "--config-file", "--virtual",
     "--repository", "-X", "--root", "-p", "--setopt", "--enablerepo", "--disablerepo",
     "--installroot", "--releasever", "-r", "--repo", "--exclude", "-x"}
)  # fmt: skip
_INSTALL_VERBS = {
    "apt-get": ("install",), "apt": ("install",), "aptitude": ("install",),
    "apk": ("add",), "yum": ("install", "groupinstall"), "dnf": ("install", "groupinstall"),
    "microdnf": ("install",), "tdnf": ("install",), "zypper": ("install", "in"),
}  # fmt: skip


def package_install(command: ShellCommand) -> tuple[str, list[str]] | None:
    """``(manager, packages)`` for an OS package install (apt/apk/yum/dnf/zypper), else None.

    Version pins are dropped (``gcc=4:12.2`` -> ``gcc``); groups (``dnf groupinstall``,
    ``dnf group install``) come back as ``@Group Name``.
    """
    argv = command.argv
    manager = argv[0].rsplit("/", 1)[-1] if argv else ""
    verbs = _INSTALL_VERBS.get(manager)
    if verbs is None:
        return None
    packages: list[str] = []
    verb_seen = False
    group = False
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
            continue
        if arg.startswith("-"):
            skip = arg in _PACKAGE_VALUE_OPTIONS
            continue
        if not verb_seen:
            if arg == "group" and manager in ("dnf", "yum"):
                group = True
                continue
            if arg not in verbs:
                return None
            verb_seen = True
            group = group or arg == "groupinstall"
            continue
        if group:
            packages.append("@" + arg)
            continue
        name = _re.split(r"[=<>]", arg, maxsplit=1)[0]
        if name:
            packages.append(name)
    return (manager, packages) if verb_seen else None


@_dataclass(slots=True)
class DependencyInstall:
    """A command that installs dependencies (or builds while fetching them).

    ``manifests`` are the files the step reads from the build context (globs allowed);
    empty when the step does not depend on the context (``pip install gunicorn``,
    ``apt-get install curl``): such a step can simply move above a broad COPY.
    ``kind`` is "deps" (an install), "build" (a compile that also fetches dependencies:
    ``cargo build``, ``go build``, ``mvn package``) or "os" (a system package install).
    Installing built artifacts (``pip install dist/*.whl``) is not a dependency install.
    """

    command: ShellCommand
    ecosystem: str
    tool: str
    kind: str
    manifests: tuple[str, ...]


_DEP_PYTHON_NAME = _re.compile(r"python(?:\d+(?:\.\d+)?)?\Z")
_DEP_PIP_NAME = _re.compile(r"pip(?:\d+(?:\.\d+)?)?\Z")
_R_INSTALL = _re.compile(
    r"install\.packages|remotes::|devtools::|renv::restore|BiocManager::install|pak::|install_deps"
)
PYTHON_PROJECT = ("pyproject.toml", "setup.py", "setup.cfg")
NODE_MANIFESTS = {
    "npm": ("package.json", "package-lock.json", "npm-shrinkwrap.json"),
    "yarn": ("package.json", "yarn.lock", ".yarnrc.yml", ".yarn/releases"),
    "pnpm": ("package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml"),
    "bun": ("package.json", "bun.lockb", "bun.lock"),
}
GRADLE_MANIFESTS = (
    "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts",
    "gradle.properties", "gradle/", "gradlew",
)  # fmt: skip
_MVN_DEPS_GOALS = ("dependency:go-offline", "dependency:resolve", "dependency:resolve-plugins")
_MVN_BUILD_GOALS = frozenset({"package", "install", "verify", "compile", "test", "deploy"})
_GRADLE_BUILD_TASKS = frozenset(
    {"build", "assemble", "bootJar", "shadowJar", "jar", "installDist", "war", "bootWar", "classes"}
)  # fmt: skip
_NPM_INSTALL = frozenset({"ci", "install", "i", "isntall", "add"})


_DEP_TOOLS = frozenset(
    {"uv", "poetry", "pipenv", "conda", "mamba", "micromamba", "npm", "pnpm", "bun", "yarn", "go",
     "bundle", "bundler", "composer", "mvn", "mvnw", "gradle", "gradlew", "cargo", "dotnet", "mix",
     "Rscript", "R", "install2.r", "installGithub.r"}
) | frozenset(_INSTALL_VERBS)  # fmt: skip


def dependency_install(command: ShellCommand) -> DependencyInstall | None:
    """What dependency install (if any) ``command`` runs; see :class:`DependencyInstall`."""
    argv = command.argv
    if not argv:
        return None
    name = argv[0].rsplit("/", 1)[-1]
    if name not in _DEP_TOOLS and not name.startswith(("pip", "python")):
        return None
    args = argv[1:]
    sub = next((arg for arg in args if not arg.startswith("-")), None)
    if _DEP_PIP_NAME.match(name):
        return _pip(command, args, "pip")
    if _DEP_PYTHON_NAME.match(name) and args[:2] == ["-m", "pip"]:
        return _pip(command, args[2:], "pip")
    if name == "uv":
        if sub == "sync":
            return DependencyInstall(command, "python", "uv", "deps", ("pyproject.toml", "uv.lock"))
        if sub == "pip":
            rest = args[args.index("pip") + 1 :]
            if rest[:1] == ["sync"]:
                files = tuple(_basename_of(arg) for arg in rest[1:] if not arg.startswith("-"))
                return DependencyInstall(command, "python", "uv", "deps", files or ("requirements.txt",))
            return _pip(command, rest, "uv")
        return None
    if name == "poetry" and sub == "install":
        return DependencyInstall(command, "python", "poetry", "deps", ("pyproject.toml", "poetry.lock"))
    if name == "pipenv" and sub in ("install", "sync"):
        return DependencyInstall(command, "python", "pipenv", "deps", ("Pipfile", "Pipfile.lock"))
    if name in ("conda", "mamba", "micromamba"):
        return _conda(command, args)
    if name in ("npm", "pnpm", "bun", "yarn"):
        return _node(command, name, args)
    if name == "go":
        return _go(command, args)
    if name in ("bundle", "bundler") and sub in ("install", None):
        return DependencyInstall(command, "ruby", "bundler", "deps", ("Gemfile", "Gemfile.lock"))
    if name == "composer" and sub in ("install", "update"):
        return DependencyInstall(command, "php", "composer", "deps", ("composer.json", "composer.lock"))
    if name in ("mvn", "mvnw"):
        return _maven(command, args)
    if name in ("gradle", "gradlew"):
        return _gradle(command, args)
    if name == "cargo":
        if sub == "fetch" or args[:2] == ["chef", "cook"]:
            manifests = ("recipe.json",) if sub == "chef" else ("Cargo.toml", "Cargo.lock")
            return DependencyInstall(command, "rust", "cargo", "deps", manifests)
        if sub == "build" or (sub == "install" and "--path" in args):
            return DependencyInstall(command, "rust", "cargo", "build", ("Cargo.toml", "Cargo.lock"))
        return None
    if name == "dotnet":
        manifests = ("*.csproj", "*.sln", "NuGet.config")
        if sub == "restore":
            return DependencyInstall(command, "dotnet", "dotnet", "deps", manifests)
        if sub in ("build", "publish"):
            return DependencyInstall(command, "dotnet", "dotnet", "build", manifests)
        return None
    if name == "mix" and sub == "deps.get":
        return DependencyInstall(command, "elixir", "mix", "deps", ("mix.exs", "mix.lock"))
    if name in ("Rscript", "R"):
        return _r(command, args)
    if name in ("install2.r", "installGithub.r"):
        return DependencyInstall(command, "r", name, "deps", ())
    packages = package_install(command)
    if packages is not None:
        return DependencyInstall(command, "os", packages[0], "os", ())
    return None


def _basename_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _manifest_name(path: str) -> str:
    """A manifest as the context names it: relative paths kept, image paths by file name."""
    return _basename_of(path) if path.startswith("/") else _posixpath.normpath(path)


def _pip(command: ShellCommand, args: list[str], tool: str) -> DependencyInstall | None:
    if not args or args[0] != "install":
        return None
    manifests: list[str] = []
    rest = args[1:]
    skip = False
    for position, arg in enumerate(rest):
        if skip:
            skip = False
            continue
        for flag in ("-r", "--requirement", "-c", "--constraint"):
            if arg == flag and position + 1 < len(rest):
                manifests.append(_manifest_name(rest[position + 1]))
                skip = True
            elif arg.startswith(flag + "=") or (
                flag in ("-r", "-c") and arg.startswith(flag) and len(arg) > 2
            ):
                manifests.append(_manifest_name(arg.split("=", 1)[-1] if "=" in arg else arg[2:]))
        if skip or arg.startswith("-"):
            continue
        if arg.endswith((".whl", ".tar.gz", ".zip")) or "*" in arg:
            return None  # installs built artifacts (wheels, sdists), not dependencies
        if arg in (".", "./") or arg.startswith(("./", "/", "../", ".[")):
            manifests.extend(PYTHON_PROJECT)
    return DependencyInstall(command, "python", tool, "deps", tuple(dict.fromkeys(manifests)))


def _conda(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    words = [arg for arg in args if not arg.startswith("-")]
    if not words:
        return None
    if words[:2] in (["env", "create"], ["env", "update"]) or words[0] in ("install", "create", "update"):
        files = [_basename_of(value) for value in _values_of(args, ("-f", "--file"))]
        if words[:1] == ["env"] and not files:
            files = ["environment.yml"]
        return DependencyInstall(command, "conda", command.name, "deps", tuple(files))
    return None


def _values_of(args: list[str], names: tuple[str, ...]) -> list[str]:
    values = []
    for position, arg in enumerate(args):
        for name in names:
            if arg == name and position + 1 < len(args):
                values.append(args[position + 1])
            elif arg.startswith(name + "="):
                values.append(arg[len(name) + 1 :])
    return values


def _node(command: ShellCommand, tool: str, args: list[str]) -> DependencyInstall | None:
    sub = command.subcommand
    positional = [arg for arg in args if not arg.startswith("-")]
    if tool == "yarn":
        if sub in (None, "install"):
            return DependencyInstall(command, "node", "yarn", "deps", NODE_MANIFESTS["yarn"])
        if sub == "add" or positional[:2] == ["global", "add"]:
            return DependencyInstall(command, "node", "yarn", "deps", ())
        return None
    if tool == "pnpm" and sub == "fetch":
        return DependencyInstall(command, "node", "pnpm", "deps", ("pnpm-lock.yaml",))
    if sub not in _NPM_INSTALL:
        return None
    packages = positional[1:]
    if sub == "add" or packages or command.has_flag("-g", "--global"):
        return DependencyInstall(command, "node", tool, "deps", ())
    return DependencyInstall(command, "node", tool, "deps", NODE_MANIFESTS[tool])


def _go(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    positional = [arg for arg in args if not arg.startswith("-")]
    if positional[:2] == ["mod", "download"]:
        return DependencyInstall(command, "go", "go", "deps", ("go.mod", "go.sum"))
    if positional[:1] in (["build"], ["install"], ["test"]):
        if positional[:1] == ["install"] and any("@" in arg for arg in positional[1:]):
            return DependencyInstall(command, "go", "go", "deps", ())
        return DependencyInstall(command, "go", "go", "build", ("go.mod", "go.sum"))
    return None


def _maven(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    goals = [arg for arg in args if not arg.startswith("-")]
    if any(goal.startswith(_MVN_DEPS_GOALS) or goal.endswith(_MVN_DEPS_GOALS) for goal in goals):
        return DependencyInstall(command, "java", "maven", "deps", ("pom.xml",))
    if any(goal in _MVN_BUILD_GOALS or goal.endswith(":repackage") for goal in goals):
        return DependencyInstall(command, "java", "maven", "build", ("pom.xml",))
    return None


def _gradle(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    tasks = [arg.lstrip(":") for arg in args if not arg.startswith("-")]
    if "dependencies" in tasks or "--refresh-dependencies" in args and not tasks:
        return DependencyInstall(command, "java", "gradle", "deps", GRADLE_MANIFESTS)
    if any(task.rsplit(":", 1)[-1] in _GRADLE_BUILD_TASKS for task in tasks):
        return DependencyInstall(command, "java", "gradle", "build", GRADLE_MANIFESTS)
    return None


def _r(command: ShellCommand, args: list[str]) -> DependencyInstall | None:
    if command.name == "R" and args[:2] == ["CMD", "INSTALL"]:
        return DependencyInstall(command, "r", "R CMD INSTALL", "deps", ("DESCRIPTION",))
    code = " ".join(args)
    if not _R_INSTALL.search(code):
        return None
    if "renv::restore" in code:
        manifests: tuple[str, ...] = ("renv.lock",)
    elif "install_deps" in code or "install_local" in code or "devtools::install(" in code:
        manifests = ("DESCRIPTION",)
    else:
        manifests = ()
    return DependencyInstall(command, "r", command.name, "deps", manifests)


_SMALL_FILE = _re.compile(
    r"\.(txt|sh|bash|json|toml|lock|cfg|ini|ya?ml|conf|py|rb|js|env|properties|xml|md)$",
    _re.IGNORECASE,
)
SMALL_BYTES = 100_000  # below this a measured duplicate or leftover is only worth a hint


def likely_small_file(written: Written) -> bool:
    """A single copied file whose name says manifest, config or script (not an archive)."""
    return not written.tree and bool(written.source) and bool(_SMALL_FILE.search(written.source or ""))


# -- image references and families (data/base_images.toml) -------------------------------------
@_dataclass(slots=True, frozen=True)
class ImageReference:
    """``[registry/]repository[:tag][@digest]`` split; ``repository`` without ``library/``."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None
    text: str  # the reference as given

    @property
    def name_part(self) -> str:
        """The reference without tag and digest, as written (registry and namespace kept)."""
        end = len(self.text)
        if self.digest is not None:
            end = self.text.index("@")
        head = self.text[:end]
        if self.tag is not None:
            head = head[: head.rindex(":")]
        return head


def parse_image_reference(text: str) -> ImageReference:
    reference, _, digest = text.partition("@")
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    tag = None
    if colon > slash:
        reference, tag = reference[:colon], reference[colon + 1 :]
    registry = None
    first, sep, rest = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, reference = first, rest
    repository = reference.lower()
    for prefix in ("docker/library/", "library/"):
        if repository.startswith(prefix):
            repository = repository[len(prefix) :]
            break
    return ImageReference(registry, repository, tag or None, digest or None, text)


def image_family(reference: ImageReference) -> tuple[str, dict] | None:
    """``(name, table)`` of the base_images.toml family the repository belongs to."""
    families = data_table("base_images.toml").get("families", {})
    for name, family in families.items():
        if reference.repository in family.get("repositories", ()):
            return name, family
    return None


def tag_is_slim(tag: str | None, family: dict) -> bool:
    """The tag already names a slimmer (or non-Debian) variant: nothing to suggest."""
    markers = tuple(family.get("slim_markers", ())) + tuple(
        data_table("base_images.toml").get("skip_markers", ())
    )
    if not tag or not markers:
        return False
    return any(part.startswith(markers) for part in tag.lower().split("-"))
