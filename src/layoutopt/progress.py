"""How a long run tells its caller what it is doing: messages, and regions done out of total."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Progress:
    """Silent by default; the command line shows a bar per pass over the regions."""

    def say(self, message: str) -> None:
        """A step of the run, in a line."""

    def programme(self, name: str) -> None:
        """A programme starts: its inputs, solves and outcome follow until the next."""

    @contextmanager
    def regions(self, label: str, total: int) -> Iterator[Callable[[], None]]:
        """A pass over ``total`` regions; the caller calls the yielded function as each
        region finishes (possibly from another thread)."""
        yield lambda: None
