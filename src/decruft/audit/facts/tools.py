"""Package-manager calls in a RUN body: which tool, which verb, which options (``ToolCall``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from decruft.audit.facts.commands import APT_TOOLS, YUM_TOOLS
from decruft.shell import ShellCommand, ShellScript, Word


# Shared by the package-manager rules (DC104-DC115, DC131): which tool a command
# runs, where its cache lives, and style-preserving edits that append a cleanup
# to a RUN or insert a flag.  Everything here works on the already parsed
# ``instruction.shell``; no re-parsing, no per-call regex compilation.


_PIP_NAME = re.compile(r"pip(?:[23](?:\.\d+)?)?")
_PYTHON_NAME = re.compile(r"python(?:[23](?:\.\d+)?)?")
HOME_ALIASES = ("~/", "$HOME/", "${HOME}/")

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


def tool_calls(script: ShellScript | None, *tools: str) -> Sequence[ToolCall]:
    """Every recognised call in ``script`` (only the given tools when named).

    Classified once per parsed script, and each selection kept with it: every
    package-manager rule asks, about 45 times per Dockerfile. Shared: do not modify.
    """
    if script is None:
        return ()
    derived = script.derived
    key = ("tool-calls", *tools)
    calls = derived.get(key)
    if calls is None:
        if tools:
            calls = tuple(call for call in tool_calls(script) if call.tool in tools)
        else:
            calls = tuple(call for call in map(classify, script.commands) if call is not None)
        derived[key] = calls
    return calls


