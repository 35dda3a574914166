"""Errors a user can act on.

Every error that reaches the command line is a :class:`LayoutoptError`: its text says
what is wrong and how to fix it, and the command prints it without a traceback.
Input problems are gathered into one :class:`InputError` so that a user sees all of
them at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class LayoutoptError(Exception):
    """An error caused by the user's input or setup, with a message that says the fix."""


class ScenarioError(LayoutoptError):
    """The scenario file is missing, unreadable or has wrong or unknown keys."""


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one place of an input table."""

    file: str
    layer: str = ""
    row: str = ""
    column: str = ""
    message: str = ""
    fix: str = ""
    value: str = ""  # the offending cell as found, where one cell is at fault

    def line(self) -> str:
        where = self.file + (f" [{self.layer}]" if self.layer else "")
        if self.row:
            where += f" {self.row}"
        if self.column:
            where += f", column {self.column}"
        text = f"{where}: {self.message}"
        if self.value:
            text += f" (found {self.value})"
        return f"{text} (fix: {self.fix})" if self.fix else text


class InputError(LayoutoptError):
    """One or more problems in the input data, reported together."""

    def __init__(self, problems: Iterable[Problem], *, context: str = "") -> None:
        self.problems = list(problems)
        self.context = context
        super().__init__(self.report())

    def report(self) -> str:
        head = f"{len(self.problems)} problem(s) in the input data"
        if self.context:
            head += f" of {self.context}"
        return "\n".join([head + ":", *("  " + p.line() for p in self.problems)])
