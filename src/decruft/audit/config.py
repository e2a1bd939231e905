"""Audit configuration: ``[tool.decruft]`` in pyproject.toml or ``.decruft.toml``.

Keys: ``select`` and ``ignore`` (rule codes or prefixes such as ``DC1``),
``severity`` (a table of code -> error|warning|info), ``fail-on``
(error|warning|info|never), ``external-image-registry`` (a mirror of the
official images DC153 copies binaries from, e.g. ``mirror.example.com``).  The nearest file wins, searching from the
Dockerfile's directory upwards to the repository root.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from decruft.audit.rule import Severity, code_selected
from decruft.errors import DecruftError

FAIL_LEVELS = ("error", "warning", "info", "never")


class ConfigError(DecruftError):
    pass


@dataclass(slots=True)
class AuditConfig:
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    fail_on: str = "warning"
    source: str | None = None
    external_image_registry: str | None = None

    def enabled(self, code: str) -> bool:
        return code_selected(code, self.select, self.ignore)


# A directory's own answer: its config file, or _STOP at a repository root, or None (go up).
_STOP = Path("/")


def find_config(start: Path, cache: dict | None = None) -> Path | None:
    """The nearest config file from ``start`` up to the repository root.

    ``cache`` (directory -> its own answer, and resolved parents) lets a run over many
    Dockerfiles in sibling directories stat each parent directory once.
    """
    directory = _real_directory(os.fspath(start), cache)
    while True:
        found = cache.get(directory, ...) if cache is not None else ...
        if found is ...:
            found = _own_config(directory)
            if cache is not None:
                cache[directory] = found
        if found is _STOP:
            return None
        if found is not None:
            return found
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _real_directory(start: str, cache: dict | None) -> str:
    """``os.path.realpath``, reusing the parent's answer from ``cache``: a new sibling
    directory then costs one lstat instead of one per path component."""
    absolute = os.path.abspath(start)
    parent, name = os.path.split(absolute)
    # abspath folds `..` before symlinks are resolved, realpath after: only plain paths
    if cache is None or not name or ".." in start.split(os.sep) or os.path.islink(absolute):
        return os.path.realpath(start)
    key = ("realpath", parent)
    real_parent = cache.get(key)
    if real_parent is None:
        real_parent = cache[key] = os.path.realpath(parent)
    return os.path.join(real_parent, name)


def _own_config(directory: str) -> Path | None:
    for name in (".decruft.toml", "pyproject.toml"):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and _has_settings(Path(path)):
            return Path(path)
    return _STOP if os.path.exists(os.path.join(directory, ".git")) else None


def _has_settings(path: Path) -> bool:
    if path.name == ".decruft.toml":
        return True
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    return "decruft" in data.get("tool", {})


def load_config(path: Path | None) -> AuditConfig:
    if path is None:
        return AuditConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data if path.name == ".decruft.toml" else data.get("tool", {}).get("decruft", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.decruft] must be a table")
    return parse_config(table, str(path))


def parse_config(table: dict, source: str | None = None) -> AuditConfig:
    config = AuditConfig(source=source)
    known = {"select", "ignore", "severity", "fail-on", "fail_on", "external-image-registry"}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{source}: unknown decruft setting(s): {', '.join(sorted(unknown))}")
    if "select" in table:
        config.select = _codes(table["select"], "select", source)
    if "ignore" in table:
        config.ignore = _codes(table["ignore"], "ignore", source)
    severities = table.get("severity", {})
    if not isinstance(severities, dict):
        raise ConfigError(f"{source}: severity must be a table of rule code = error|warning|info")
    for code, level in severities.items():
        try:
            config.severity[code.upper()] = Severity(str(level).lower())
        except ValueError:
            raise ConfigError(f"{source}: severity of {code} must be error, warning or info") from None
    fail_on = table.get("fail-on", table.get("fail_on"))
    if fail_on is not None:
        if fail_on not in FAIL_LEVELS:
            raise ConfigError(f"{source}: fail-on must be one of {', '.join(FAIL_LEVELS)}")
        config.fail_on = fail_on
    registry = table.get("external-image-registry")
    if registry is not None:
        if not isinstance(registry, str) or not registry.strip("/ ") or " " in registry.strip():
            raise ConfigError(f"{source}: external-image-registry must be a registry host[/path], e.g. mirror.example.com")
        config.external_image_registry = registry.strip().rstrip("/")
    return config


def _codes(value, key: str, source: str | None) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{source}: {key} must be a list of rule codes")
    return [item.strip().upper() for item in value]
