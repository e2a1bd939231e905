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
    if command.name == "find" and ("-delete" in command.args or "-exec" in command.args):
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


def removal_commands(script: ShellScript) -> list[tuple[ShellCommand, str]]:
    return [(command, target) for command in script.commands for target in rm_targets(command)]


def apt_commands(script: ShellScript, *subcommands: str) -> list[ShellCommand]:
    return script.find(*APT_TOOLS, subcommand=subcommands or None)


def env_value(context: RuleContext, instruction: Instruction, command: ShellCommand, name: str) -> str | None:
    """``name`` as the command sees it: inline ``VAR=x cmd``, ``export``, or ENV."""
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
    return context.env(instruction).get(name)


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
    ``context.env`` (and so `env_value`) only returns ENV.
    """
    return context.model.scope_at(instruction).variables()


def run_variable(context: RuleContext, instruction: Instruction, command: ShellCommand, name: str) -> str | None:
    """`env_value`, falling back to an in-scope ARG value."""
    value = env_value(context, instruction, command, name)
    if value is None:
        value = run_env(context, instruction).get(name)
    return value


def display_path(context: RuleContext, instruction: Instruction, path: str) -> str:
    """``/root/x`` as ``~/x`` when the step runs as another USER (its home is not /root)."""
    if path.startswith("/root/") and user_at(context, instruction) is not None:
        return "~" + path[len("/root") :]
    return path
