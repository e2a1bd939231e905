"""Tools installed by a RUN where an official image ships the binary (data/external_binaries.toml),
and the edit that takes the file with ``COPY --from=<image>`` instead (DC153, ``fix --multistage``).

An install is replaced only when it can be cut out of its RUN cleanly: the whole RUN, one
operand of a ``pip``/``apt-get install`` that installs other things too, or a run of commands
joined by ``&&`` (or piped into the installer) at the top level of the script.  Anything else
is reported with the reason and left to the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from decruft.audit.context import data_table
from decruft.audit.facts.commands import rm_targets
from decruft.audit.facts.edits import remove_word
from decruft.audit.facts.tools import ToolCall, argv_words, classify, tool_calls
from decruft.audit.rule import Edit
from decruft.dockerfile.nodes import Instruction, Span
from decruft.shell import ShellCommand, ShellScript, Word

#: The PATH of the official base images when the Dockerfile sets none.
DEFAULT_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
_PIP_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(.*)$")
_EXACT_VERSION = re.compile(r"^\s*==\s*(\d+(?:\.\d+)*)\s*$")
_PIP_PLACEMENT = ("--target", "-t", "--prefix", "--root")  # the binary would land elsewhere
_OTHER_INSTALLS = ("-r", "--requirement", "-e", "--editable")  # pip installs more than its operands
_APT_HOUSEKEEPING = frozenset({"update", "clean", "autoclean"})
_PYTHON_MODULE = r"\bpython[0-9.]*\s+-m\s+{module}\b"


@dataclass(frozen=True, slots=True)
class OfficialImage:
    """One tool of the table: the image and the files it ships."""

    tool: str
    image: str
    mirror_path: str
    tag: str
    default_tag: str
    paths: tuple[str, ...]
    destination: str
    docs: str

    def reference(self, version: str | None, registry: str | None = None) -> str:
        """``ghcr.io/astral-sh/uv:0.13.9``; under ``registry`` when a mirror is configured."""
        tag = self.tag.format(version=version) if version and self.tag else self.default_tag
        name = f"{registry.rstrip('/')}/{self.mirror_path}" if registry else self.image
        return f"{name}:{tag}" if tag else name


@dataclass(slots=True)
class BinaryInstall:
    """An install of ``image.tool`` in a RUN, and how to take it from the image instead."""

    image: OfficialImage
    instruction: Instruction
    how: str  # the install as written, for messages
    version: str | None
    destination: str | None  # where the COPY puts the files; None: unknown (by hand)
    commands: list[ShellCommand] = field(default_factory=list)  # the commands the install is
    operand: Word | None = None  # the one operand to drop when the command installs more
    stake: str | None = None  # stakes.toml entry
    caveat: str = ""
    blocker: str | None = None  # why it cannot be replaced automatically
    module: str | None = None  # a Python module the pip install also provides
    companions: tuple[str, ...] = ()

    def copy_line(self, registry: str | None = None) -> str:
        paths = " ".join(self.image.paths)
        return f"COPY --from={self.image.reference(self.version, registry)} {paths} {self.destination}"


@lru_cache(maxsize=1)
def official_images() -> dict[str, tuple[OfficialImage, list[dict]]]:
    """Tool name -> (its image, its install descriptions) from data/external_binaries.toml."""
    table = data_table("external_binaries.toml")
    images = {}
    for tool, entry in table.items():
        image = OfficialImage(
            tool, entry["image"], entry["mirror_path"], entry.get("tag", ""), entry.get("default_tag", ""),
            tuple(entry["paths"]), entry.get("destination", ""), entry.get("docs", ""),
        )
        images[tool] = (image, list(entry.get("installs", [])))
    return images


# ---------------------------------------------------------------------------- finding installs
def binary_installs(instruction: Instruction, env: dict[str, str], user: str | None) -> list[BinaryInstall]:
    """Every install in the RUN ``instruction`` that an official image replaces.

    ``env`` is the ENV in effect (PATH, HOME, installer variables); ``user`` the USER (None: root).
    """
    script = instruction.shell
    if instruction.keyword != "RUN" or script is None:
        return []
    package_calls = _package_install_calls(script)
    found: list[BinaryInstall] = []
    for image, installs in official_images().values():
        for install in installs:
            kind = install["kind"]
            if kind in _PACKAGE_TOOLS:
                found += _package_installs(image, install, instruction, package_calls.get(kind, ()), env, kind)
            elif kind == "script" and _may_run_installer(script, install):
                found += _script_installs(image, install, instruction, script, env, user)
    return found


def may_install_binary(instruction: Instruction) -> bool:
    """A cheap test that `binary_installs` can find nothing here (most RUNs), so callers skip
    working out the step's ENV and USER."""
    script = instruction.shell
    if instruction.keyword != "RUN" or script is None:
        return False
    names = _replaced_packages()
    for tool, calls in _package_install_calls(script).items():
        if any(_package_name(tool, operand) in names[tool] for _, call in calls for operand in call.operands()):
            return True
    return any(install["kind"] == "script" and _may_run_installer(script, install)
               for _, installs in official_images().values() for install in installs)


def _package_install_calls(script: ShellScript) -> dict[str, list[tuple[ShellCommand, ToolCall]]]:
    """pip/apt install commands of the script by tool (`tool_calls` classifies once per script)."""
    calls: dict[str, list[tuple[ShellCommand, ToolCall]]] = {}
    for call in tool_calls(script, *_PACKAGE_TOOLS):
        if call.verb == "install":
            calls.setdefault(call.tool, []).append((call.command, call))
    return calls


@lru_cache(maxsize=1)
def _replaced_packages() -> dict[str, frozenset[str]]:
    """pip/apt package names some table entry replaces."""
    names: dict[str, set[str]] = {tool: set() for tool in _PACKAGE_TOOLS}
    for _, installs in official_images().values():
        for install in installs:
            if install["kind"] == "pip":
                names["pip"].add(_normalise(install["package"]))
            elif install["kind"] == "apt":
                names["apt"].update(install["packages"])
    return {tool: frozenset(found) for tool, found in names.items()}


def _package_name(tool: str, operand: str) -> str:
    if tool == "pip":
        match = _PIP_REQUIREMENT.match(operand)
        return _normalise(match.group(1)) if match else ""
    return operand.partition("=")[0].split("/", 1)[0]


def _may_run_installer(script: ShellScript, install: dict) -> bool:
    # The installer's URL is a literal word, or its setup file is named.
    return "://" in script.source or any(name in script.source for name in install.get("setup_files", ()))


def _package_installs(image, install: dict, instruction, calls, env: dict[str, str], tool: str):
    """``pip install``/``apt-get install`` of the package: the copy goes to a directory on PATH."""
    read_operand = _PACKAGE_TOOLS[tool]
    for command, call in calls:
        operands = call.operands()
        for operand in operands:
            matched = read_operand(operand, install)
            if matched is None:
                continue
            version, unconstrained = matched
            # The command installs something else too (`pip install -r requirements.txt uv`): drop the word only.
            sole = operands == [operand] and not command.has_flag(*_OTHER_INSTALLS)
            found = BinaryInstall(
                image, instruction, _install_text(command, operand), version, image.destination,
                [command], None if sole else _operand_word(command, operand), install.get("stake"),
                install.get("caveat", ""), module=install.get("module"),
            )
            if tool == "pip" and command.has_flag(*_PIP_PLACEMENT):
                found.blocker = "the install puts the files under --target/--prefix/--root"
            found.blocker = found.blocker or _not_on_path(image.destination, env)
            if version is None and not unconstrained:
                found.caveat = _join(found.caveat, f"`{operand}` is not pinned to one version: the copy takes "
                                                   f"{image.reference(None)}")
            yield found


def _install_text(command: ShellCommand, operand: str) -> str:
    """``pip install uv==0.13.9`` / ``python3 -m pip install uv``: the command up to its verb, and the operand."""
    argv = command.argv
    verb = argv.index("install") if "install" in argv else 0
    return " ".join([*argv[: verb + 1], operand])


def _pip_operand(operand: str, install: dict) -> tuple[str | None, bool] | None:
    """``(pinned version or None, no version constraint at all)`` when ``operand`` is the package."""
    match = _PIP_REQUIREMENT.match(operand)
    if match is None or _normalise(match.group(1)) != _normalise(install["package"]):
        return None
    specifier = match.group(3)
    exact = _EXACT_VERSION.match(specifier) if specifier else None
    return (exact.group(1) if exact else None), not specifier


def _apt_operand(operand: str, install: dict) -> tuple[str | None, bool] | None:
    name, _, version = operand.partition("=")
    if name.split("/", 1)[0] not in install["packages"]:
        return None
    if not version:
        return None, True
    match = re.match(install.get("version_pattern", "(?!)"), version)
    return (match.group("version") if match else None), False


_PACKAGE_TOOLS = {"pip": _pip_operand, "apt": _apt_operand}


def _script_installs(image, install: dict, instruction, script: ShellScript, env: dict[str, str],
                     user: str | None):
    url = re.compile(install["url_pattern"])
    setup_files = tuple(install.get("setup_files", ()))
    interpreters = set(install.get("interpreters", ()))
    members: list[ShellCommand] = []
    version = None
    for command in script.commands:
        urls = [url.match(word.value) for word in command.words]
        hit = next((m for m in urls if m), None)
        if hit is not None:
            version = version or hit.groupdict().get("version")
        piped = command.operator == "|" and members and members[-1].index == command.index - 1
        if hit or any(name in command.text for name in setup_files) or (piped and command.name in interpreters):
            members.append(command)
    if not members:
        return
    runner = next((c for c in members if c.name in interpreters
                   and (c.operator == "|" or any(name in c.args for name in setup_files))), None)
    if runner is None:
        return  # only downloaded: not an install
    version_option = install.get("version_option")
    if version_option:
        version = runner.word_after(version_option) or version
    found = BinaryInstall(
        image, instruction, _shorten(_joined(members)), version, None, members,
        stake=install.get("stake"), caveat=install.get("caveat", ""),
        companions=tuple(install.get("companions", ())),
    )
    found.destination, found.blocker = _installer_destination(install, runner, env, user)
    if [c.index for c in members] != list(range(members[0].index, members[-1].index + 1)):
        found.blocker = found.blocker or "other commands run between the installer's steps"
    yield found


def _installer_destination(install: dict, runner: ShellCommand, env: dict[str, str],
                           user: str | None) -> tuple[str | None, str | None]:
    """Where the installer writes the binary: ``(destination, None)`` or ``(None, why not)``."""
    if "dir_option" in install:
        directory = runner.word_after(install["dir_option"])
        name = runner.word_after(install["file_option"])
        if not directory or not name:
            return None, f"the installer is run without {install['dir_option']} and {install['file_option']}"
        destination = directory.rstrip("/") + "/" + name
        return (None, "the destination is built from variables") if "$" in destination else (destination, None)
    variables = _inline_variables(runner)
    for name in install.get("dir_env", ()):
        value = variables.get(name, env.get(name))
        if value:
            return (None, f"${name} is built from variables") if "$" in value else (value.rstrip("/") + "/", None)
    home = env.get("HOME") or ("/root" if user is None else None)
    if home is None or "$" in home:
        return None, f"the installer writes under the home of USER {user}, which the Dockerfile does not name"
    return f"{home.rstrip('/')}/{install['home_dir']}/", None


def _inline_variables(command: ShellCommand) -> dict[str, str]:
    """``VAR=value`` before the command or after ``env``."""
    values: dict[str, str] = {}
    for text in [*command.assignments, *(w.value for w in command.words[: len(command.words) - len(command.argv)])]:
        key, sep, value = text.partition("=")
        if sep:
            values[key] = value.strip("'\"")
    return values


def _not_on_path(destination: str | None, env: dict[str, str]) -> str | None:
    if destination is None:
        return None
    directory = destination.rstrip("/") if destination.endswith("/") else destination.rsplit("/", 1)[0]
    path = env.get("PATH")
    entries = [p.rstrip("/") for p in path.split(":")] if path else list(DEFAULT_PATH)
    if directory in entries or "$PATH" in (path or "") and directory in DEFAULT_PATH:
        return None
    return f"{directory} is not on the PATH of this step"


def _operand_word(command: ShellCommand, operand: str) -> Word | None:
    return next((word for word in reversed(argv_words(command)) if word.value == operand), None)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


def _joined(commands: list[ShellCommand]) -> str:
    """The commands as one line, with the operators between them."""
    parts = [commands[0].text]
    for command in commands[1:]:
        parts.append(f" {command.operator} {command.text}")
    return "".join(parts)


def _shorten(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------- the edit
def later_blocker(install: BinaryInstall, later_text: str) -> str | None:
    """A later step relies on something only the install provided (``python -m uv``, the
    installer's ``env`` file)."""
    if install.module and re.search(_PYTHON_MODULE.format(module=re.escape(install.module)), later_text):
        return f"a later step runs `python -m {install.module}`, which needs the pip package"
    for companion in install.companions:
        if companion in later_text:
            return f"a later step uses {companion}, which the installer writes and the image does not have"
    return None


def replacement_edits(install: BinaryInstall, registry: str | None = None) -> tuple[list[Edit], str | None]:
    """The edits that replace the install by ``COPY --from``: ``(edits, None)``, or ``([], why not)``."""
    if install.blocker is not None:
        return [], install.blocker
    instruction = install.instruction
    script = instruction.shell
    if script is None or not script.complete:
        return [], "the RUN has shell syntax decruft cannot read"
    text = instruction.dockerfile.text
    line_start = instruction.span.start
    indent = text[line_start : instruction.keyword_span.start]
    if indent.strip(" \t"):
        return [], "the RUN does not start its line"
    copy_line = indent + install.copy_line(registry)
    if install.operand is not None:
        return [Edit(Span(line_start, line_start), copy_line + "\n"), remove_word(install.operand, text)], None
    commands = script.commands
    group = [c.index for c in install.commands]
    rest = [c for c in commands if c.index not in group]
    apt = install.commands[0].name in ("apt-get", "apt")
    if not rest or apt and all(_apt_housekeeping(c) for c in rest):
        # The RUN does nothing else (apt's update and list cleanup only served the install).
        source = instruction.source
        ending = "\r\n" if source.endswith("\r\n") else "\n" if source.endswith("\n") else ""
        if "#" in text[instruction.args_span.end : instruction.span.end].split("\n", 1)[0]:
            return [], "the RUN ends with a comment"
        return [Edit(Span(line_start, instruction.span.end), copy_line + ending)], None
    cut = _cut_span(instruction, script, group)
    if cut is None:
        return [], "the install is not a plain `&&` step of its RUN"
    return [Edit(Span(line_start, line_start), copy_line + "\n"), Edit(cut, "")], None


def _apt_housekeeping(command: ShellCommand) -> bool:
    """``apt-get update``/``clean`` or removing the package lists: only there for an install."""
    call = classify(command)
    if call is not None and call.tool == "apt":
        return call.verb in _APT_HOUSEKEEPING
    targets = rm_targets(command)
    return bool(targets) and all(target.startswith("/var/lib/apt/lists") for target in targets)


def _cut_span(instruction: Instruction, script: ShellScript, group: list[int]) -> Span | None:
    """The text to delete so that the commands ``group`` (consecutive) leave their ``&&`` chain."""
    if script.origin == "heredoc":
        return None
    commands = script.commands
    first, last = commands[group[0]], commands[group[-1]]
    if first.operator not in (None, "&&") or any(commands[i].operator not in ("&&", "|") for i in group[1:]):
        return None
    after = commands[last.index + 1] if last.index + 1 < len(commands) else None
    before = commands[first.index - 1] if first.index > 0 else None
    if after is not None and after.operator != "&&":
        return None
    text = instruction.dockerfile.text
    start = before.span.end if before is not None else instruction.args_span.start
    if not _only_separators(text[start : first.span.start], instruction):
        return None
    end = after.span.start if after is not None else instruction.args_span.end
    if not _only_separators(text[last.span.end : end], instruction):
        return None
    if after is not None:
        return Span(first.span.start, after.span.start)
    if before is None:
        return None  # the whole RUN: replaced, not cut
    return Span(before.span.end, last.span.end)


def _only_separators(gap: str, instruction: Instruction) -> bool:
    escape = re.escape(instruction.dockerfile.escape)
    return re.fullmatch(rf"(?:\s|&&|{escape}\r?\n)*", gap) is not None
