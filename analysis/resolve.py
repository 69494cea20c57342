"""``forecast resolve``: append a resolution, validated against the whole data set first."""

from __future__ import annotations

from pathlib import Path

from analysis import dataset as ds
from analysis.add import validate_after_append
from analysis.errors import DataError, Problem
from analysis.schema import RESOLUTION_COLUMNS, URL_RE
from analysis.storage import append_bytes_atomically, locked
from analysis.tables import format_row


def add_resolution(root: Path, fields: dict) -> None:
    root = Path(root)
    if fields.get("source_url") and not URL_RE.match(fields["source_url"]):
        raise DataError([Problem("--url", 1, f"'{fields['source_url']}' is not an http(s) URL", "https://...")])
    path = root / ds.RESOLUTIONS_FILE
    with locked(root):
        data = ds.load(root)
        data.raise_for_problems()
        if fields["prediction"] not in data.predictions:
            raise DataError([Problem("PREDICTION", 1, f"unknown prediction id '{fields['prediction']}'",
                                     "an id from `forecast list`")])
        row = {c.name: "" for c in RESOLUTION_COLUMNS}
        row.update(fields)
        row["logged_on"] = ds.today().isoformat()
        addition = format_row([row[c.name] for c in RESOLUTION_COLUMNS])
        if not path.exists() or not path.read_bytes().strip():
            addition = format_row([c.name for c in RESOLUTION_COLUMNS]) + addition
        validate_after_append(root, path, addition)
        append_bytes_atomically(path, addition)
