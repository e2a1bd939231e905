"""The one error type decruft raises for a Dockerfile that BuildKit would reject."""

from __future__ import annotations


class DecruftError(Exception):
    """Base class for errors decruft reports to users (exit code 2 in the CLI)."""


class DockerfileSyntaxError(DecruftError):
    """A Dockerfile BuildKit would refuse, with the place it fails.

    ``line`` and ``column`` are 1-based; ``end_line`` is the last line of the
    offending instruction (equal to ``line`` for single-line problems).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int = 1,
        column: int = 1,
        end_line: int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.end_line = end_line if end_line is not None else line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file or '<stdin>'}:{self.line}:{self.column}"
        return f"{where}: {self.message}"
