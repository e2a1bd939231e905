"""Layers: the environment of a RUN, the paths COPY/ADD/RUN write and remove, bytes from the context.

Shared by DC120-DC152 (layer-waste and multi-stage rules); the filesystem is only touched when
``context.context_dir`` is set."""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import weakref
from dataclasses import dataclass

from decruft.audit.context import RuleContext
from decruft.audit.facts.commands import pattern_covers
from decruft.dockerfile.nodes import Instruction
from decruft.shell import ShellCommand, ShellScript


_LAYER_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
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

    def substitute(match: "re.Match[str]") -> str:
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
    joined = path if path.startswith("/") else posixpath.join(cwd or "/", path)
    normal = posixpath.normpath(joined)
    return "/" + normal.lstrip("/") if normal.startswith("/") else normal


_WORKDIRS: "weakref.WeakKeyDictionary[RuleContext, dict[int, str]]" = weakref.WeakKeyDictionary()


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
    if pattern_covers(pattern, path):
        return True
    if not _GLOB_CHARS & set(pattern):
        return False
    return any(pattern_covers(pattern, parent) for parent in _ancestors(path))


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


@dataclass(slots=True)
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
_FILE_LIKE = re.compile(r"\.[A-Za-z0-9]{1,8}$")


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
            path = posixpath.join(dest_abs, name) if into_dir and name else dest_abs
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
            written.append(Written(posixpath.join(dest_abs, base), False, instruction, how, source=source))
        else:
            path = posixpath.join(dest_abs, base) if into_dir else dest_abs
            written.append(Written(path, False, instruction, how, source=source))
    for heredoc in heredocs:
        path = posixpath.join(dest_abs, heredoc.name) if into_dir else dest_abs
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
        candidate = os.path.join(os.fspath(context.context_dir), stripped.lstrip("/"))
        if os.path.exists(candidate):
            return os.path.isdir(candidate)
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
                    output = posixpath.join(directory, output)
            _add_written(written, output, cwd, variables, False, instruction, "downloaded", command)
        elif name == "wget":
            output = short_option_value(command, "O", "--output-document")
            if output is None:
                url = _first_url(command)
                output = _url_basename(url) if url else None
                prefix = short_option_value(command, "P", "--directory-prefix")
                if output and prefix:
                    output = posixpath.join(prefix, output)
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
_CONTEXT_SCANS: "weakref.WeakKeyDictionary[RuleContext, list]" = weakref.WeakKeyDictionary()


def _context_entries(context: RuleContext) -> list | None:
    if context.context_dir is None:
        return None
    cached = _CONTEXT_SCANS.get(context)
    if cached is None:
        from decruft.context.scan import scan_context

        dockerfile = context.file if context.file and os.path.isfile(context.file) else None
        scan = scan_context(context.context_dir, dockerfile, keep_entries=True, measure_excluded=False)
        cached = [(entry.path, entry.kind, entry.size) for entry in scan.entries or ()]
        _CONTEXT_SCANS[context] = cached
    return cached


def _copy_glob_matches(pattern: str, path: str) -> bool:
    """BuildKit matches COPY/ADD source wildcards with Go's filepath.Match."""
    from decruft.context.dockerignore import go_path_match  # only when a COPY has wildcards

    try:
        return go_path_match(pattern, path)
    except ValueError:
        return False  # a malformed pattern: BuildKit fails the COPY, nothing is sent


def context_bytes(context: RuleContext, sources: list[str]) -> int | None:
    """Bytes of the build-context files ``sources`` select (after ``.dockerignore``).

    None when the context is unknown.  A directory source counts everything below it.
    """
    entries = _context_entries(context)
    if entries is None:
        return None
    matchers = []
    for source in sources:
        clean = posixpath.normpath("/" + source).lstrip("/")
        if clean in ("", "."):
            return sum(size for _, kind, size in entries if kind == "file")
        if _GLOB_CHARS & set(clean):
            matchers.append(lambda path, pattern=clean: any(
                _copy_glob_matches(pattern, prefix) for prefix in _prefixes(path)
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
