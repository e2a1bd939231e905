"""Dockerfile source, syntax tree and semantic model."""

from __future__ import annotations

from decruft.dockerfile.instructions import validate
from decruft.dockerfile.nodes import (
    Comment,
    Directive,
    Dockerfile,
    Flag,
    Heredoc,
    Instruction,
    Position,
    Span,
)
from decruft.dockerfile.parser import parse as parse_syntax

__all__ = [
    "Comment",
    "Directive",
    "Dockerfile",
    "Flag",
    "Heredoc",
    "Instruction",
    "Position",
    "Span",
    "parse",
    "parse_syntax",
]


def parse(source: str | bytes, path: str | None = None) -> Dockerfile:
    """Parse and validate a Dockerfile as BuildKit would.

    Raises :class:`decruft.errors.DockerfileSyntaxError` for anything BuildKit
    rejects; the result prints back byte for byte (``to_bytes()``).
    """
    dockerfile = parse_syntax(source, path)
    validate(dockerfile)
    return dockerfile
