"""decruft: make Docker images smaller and their builds faster, and prove it."""

from __future__ import annotations

from decruft.dockerfile import Dockerfile, Instruction, parse
from decruft.errors import DecruftError, DockerfileSyntaxError

__version__ = "0.1.0"

__all__ = [
    "DecruftError",
    "Dockerfile",
    "DockerfileSyntaxError",
    "Instruction",
    "__version__",
    "parse",
]
