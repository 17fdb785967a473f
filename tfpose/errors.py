"""Errors a user can act on: each names the file (and field) that is wrong.

The CLI prints these as one line and exits with status 2 instead of a traceback.
"""

from __future__ import annotations


class TfposeError(Exception):
    """Base class of errors caused by user input (files, flags), not by bugs."""


class DataError(TfposeError, ValueError):
    """A data file is missing, unreadable or not of the expected structure."""

    def __init__(self, path, problem: str, field: str | None = None):
        self.path = str(path)
        self.field = field
        self.problem = problem
        where = f"{self.path}: field '{field}'" if field else self.path
        super().__init__(f"{where}: {problem}")


def first_line(error: BaseException, limit: int = 300) -> str:
    """The line of a library's exception worth showing a user: the first that says ``error:``
    (converters print stacks of notes before it), else the first non-empty one, else the
    exception's type; cut to ``limit`` characters."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    line = (errors or lines or [type(error).__name__])[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."
