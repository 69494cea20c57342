"""Problems in user data, reported as ``FILE:LINE: what is wrong (what was expected)``."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

QUOTE_LIMIT = 60


def printable(text: str) -> str:
    """Show control, format and line-separator characters as escapes, so a hostile value can neither
    break a message across lines nor send terminal escape sequences."""
    return "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") or ch == " "
                   else ch.encode("unicode_escape", "backslashreplace").decode("ascii") for ch in str(text))


def quote(value, limit: int = QUOTE_LIMIT) -> str:
    """User content as it may appear in a message: escaped, and cut to ``limit`` characters with an
    ellipsis, so an error can never echo a whole line of someone's file into a public log."""
    text = printable("" if value is None else str(value))
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one place in one data file (``line`` 0: the file as a whole)."""

    file: str
    line: int
    message: str
    expected: str = ""

    def __str__(self) -> str:
        tail = f" (expected {self.expected})" if self.expected else ""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return printable(f"{where}: {self.message}{tail}")


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
            return str(path.absolute().relative_to(Path(root).absolute().parent))
        except ValueError:
            pass
    return str(path)
