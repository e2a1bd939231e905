"""Finding and reading Dockerfiles the way users point at them."""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from decruft.errors import DecruftError

DOCKERFILE_PATTERNS = ("Dockerfile", "*.Dockerfile", "Dockerfile.*", "Containerfile", "*.dockerfile")
# Files that look like Dockerfiles by name but are not.
_NOT_DOCKERFILES = ("*.dockerignore", "*.orig", "*.rej", "*.bak", "*.swp", "*~")
MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024
_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".hg"})
# One regular expression each (fnmatch compiles and caches a pattern per call: a tree of
# 10,000 files took 110,000 calls).
_DOCKERFILE_NAME = re.compile("|".join(map(fnmatch.translate, DOCKERFILE_PATTERNS)))
_NOT_DOCKERFILE_NAME = re.compile("|".join(map(fnmatch.translate, _NOT_DOCKERFILES)))


class InputError(DecruftError):
    """A path the user gave that cannot be read as a Dockerfile."""


@dataclass(slots=True)
class SourceFile:
    path: str  # as shown to the user ("-" for stdin)
    data: bytes
    context: Path | None  # default build context: the Dockerfile's directory


def is_dockerfile_name(name: str) -> bool:
    return _DOCKERFILE_NAME.match(name) is not None and _NOT_DOCKERFILE_NAME.match(name) is None


def find_dockerfiles(directory: Path, recursive: bool = True) -> list[Path]:
    return [Path(path) for path in _dockerfile_paths(os.fspath(directory), recursive)]


def _dockerfile_paths(directory: str, recursive: bool) -> list[str]:
    """Paths as os.path.join makes them (a tree of 2,000 projects: no Path object per file)."""
    found: list[str] = []
    for root, dirs, files in os.walk(directory, onerror=None, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        found.extend(os.path.join(root, name) for name in sorted(files) if is_dockerfile_name(name))
        if not recursive:
            break
    return [path[2:] for path in found] if directory == "." else found  # as Path shows them


def read_source(path: str) -> SourceFile:
    """Read one Dockerfile; raises InputError with a clear message."""
    if path == "-":
        return SourceFile("-", sys.stdin.buffer.read(), None)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_DOCKERFILE_BYTES:
                raise InputError(
                    f"{path}: {size} bytes is too large for a Dockerfile (limit {MAX_DOCKERFILE_BYTES})"
                )
            data = handle.read()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}: binary file (NUL bytes), not a Dockerfile")
    return SourceFile(path, data, Path(path).parent)


def expand_inputs(paths: list[str]) -> tuple[list[str], list[str]]:
    """Dockerfile paths for the given files/directories, and errors for the rest."""
    files: list[str] = []
    errors: list[str] = []
    for path in paths:
        if path == "-":
            files.append(path)
            continue
        if os.path.isdir(path):
            found = _dockerfile_paths(os.fspath(Path(path)), True)
            if not found:
                errors.append(f"{path}: no Dockerfile found (looked for {', '.join(DOCKERFILE_PATTERNS)})")
            files.extend(found)
        elif os.path.lexists(path):
            files.append(path)
        else:
            errors.append(f"{path}: no such file or directory")
    return files, errors
