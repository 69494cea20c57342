"""``forecast review``: record that a chapter's record was searched and is complete through a date."""

from __future__ import annotations

from pathlib import Path

from analysis.commands.add import append_validated
from analysis.contract.errors import DataError, Problem, quote
from analysis.contract.layout import Layout
from analysis.contract.schema import COVERAGE_COLUMNS, names
from analysis.data import coverage
from analysis.data.dataset import Dataset, load, today
from analysis.files.storage import locked


def found_since_last_review(data: Dataset, chapter: str) -> str:
    """What a review found, when the reviewer does not say: the chapter's rows logged since its last review."""
    last = coverage.latest(data.reviews, chapter)
    rows = data.evidence[data.evidence["_file"].str.endswith(f"/{chapter}.csv")]
    if last is not None:
        rows = rows[rows["logged_on"].map(lambda d: d is not None and d >= last.reviewed_on)]
    ids = sorted(rows["id"])
    return f"{len(ids)} new row(s): {', '.join(ids)}" if ids else "nothing new"


def add_review(root: Path, chapter: str, fields: dict) -> dict:
    """Append one coverage row for ``chapter`` (validated with the whole data set); return it."""
    root = Path(root).absolute()
    with locked(root):
        data = load(root)
        data.raise_for_problems()
        if chapter not in data.chapters():
            raise DataError([Problem("CHAPTER", 0, f"unknown chapter {quote(chapter)}",
                                     "one of " + ", ".join(data.chapters()))])
        row = {c.name: "" for c in COVERAGE_COLUMNS}
        row.update({k: " ".join(str(v or "").split()) for k, v in fields.items()})
        row["stream"] = chapter
        row["reviewed_on"] = row["reviewed_on"] or today().isoformat()
        row["found"] = row["found"] or found_since_last_review(data, chapter)
        cols = names(COVERAGE_COLUMNS)
        append_validated(root, Layout.of(root).coverage, cols, [[row[c] for c in cols]])
    return row
