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
