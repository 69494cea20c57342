"""Problems in user data, reported as ``FILE:LINE: what is wrong (what was expected)``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place in one data file."""

    file: str
    line: int
    message: str
    expected: str = ""

    def __str__(self) -> str:
        tail = f" (expected {self.expected})" if self.expected else ""
        return f"{self.file}:{self.line}: {self.message}{tail}"


class DataError(Exception):
    """Raised with every problem found, so a user can fix them all in one pass."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class ModelError(Exception):
    """A model could not produce a trustworthy forecast (e.g. it did not converge)."""


def display_path(path: Path, root: Path | None = None) -> str:
    """A short path for messages: relative to ``root``'s parent when possible."""
    path = Path(path)
    if root is not None:
        try:
            return str(path.resolve().relative_to(Path(root).resolve().parent))
        except ValueError:
            pass
    return str(path)
