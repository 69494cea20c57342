"""``forecast resolve``: append a resolution, validated against the whole data set first."""

from __future__ import annotations

from pathlib import Path

from analysis.commands.add import append_validated, check_url
from analysis.contract.errors import DataError, Problem, quote
from analysis.contract.layout import Layout
from analysis.contract.schema import RESOLUTION_COLUMNS, names
from analysis.data.dataset import load, today
from analysis.files.storage import locked


def add_resolution(root: Path, fields: dict) -> None:
    root = Path(root).absolute()
    check_url(fields.get("source_url", ""))
    with locked(root):
        data = load(root)
        data.raise_for_problems()
        if fields["prediction"] not in data.predictions:
            raise DataError([Problem("PREDICTION", 0, f"unknown prediction id {quote(fields['prediction'])}",
                                     "an id from `forecast list`")])
        row = {c.name: "" for c in RESOLUTION_COLUMNS}
        row.update(fields)
        row["logged_on"] = today().isoformat()
        cols = names(RESOLUTION_COLUMNS)
        append_validated(root, Layout.of(root).resolutions, cols, [[row[c] for c in cols]])
