"""decruft: make Docker images smaller and their builds faster, and prove it.

The top-level names are imported lazily so that `decruft inspect` (which does not
need the Dockerfile parser) starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "DecruftError",
    "Dockerfile",
    "DockerfileSyntaxError",
    "Instruction",
    "__version__",
    "parse",
]

if TYPE_CHECKING:
    from decruft.dockerfile import Dockerfile, Instruction, parse
    from decruft.errors import DecruftError, DockerfileSyntaxError

_LAZY = {
    "Dockerfile": "decruft.dockerfile",
    "Instruction": "decruft.dockerfile",
    "parse": "decruft.dockerfile",
    "DecruftError": "decruft.errors",
    "DockerfileSyntaxError": "decruft.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'decruft' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
