"""Two small append-only stores that make the ledger explain itself.

``data/updates.csv`` logs each ``forecast update``: its as-of date and a hash of every input, so
``forecast update --check`` can tell, without fitting anything, whether the ledger is behind the data,
and a build can reproduce the committed forecasts at the committed as-of date.

``data/snapshot_notes.csv`` says why each ledger snapshot was taken (new evidence, a question edit, a
model change, time alone) and which evidence it used. Notes are written just before their snapshots;
a note whose snapshot never arrived (a kill in between) is ignored, and its id is never reused.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from analysis.contract.layout import Layout
from analysis.contract.schema import SNAPSHOT_NOTE_COLUMNS, UPDATE_COLUMNS, names
from analysis.files.storage import append_csv_rows, read_text


def _read(path: Path, root: Path) -> list[dict]:
    if not path.exists():
        return []
    text = read_text(path, str(path), root)
    return list(csv.DictReader(io.StringIO(text))) if text.strip() else []


def read_updates(root: Path) -> list[dict]:
    return _read(Layout.of(root).updates, root)


def last_update(root: Path) -> dict | None:
    rows = read_updates(root)
    return rows[-1] if rows else None


def append_update(root: Path, row: dict) -> None:
    cols = names(UPDATE_COLUMNS)
    append_csv_rows(Layout.of(root).updates, cols, [[row[c] for c in cols]], root)


def read_notes(root: Path) -> dict[str, dict]:
    """Notes by snapshot id (the last note wins if a killed run left one behind)."""
    return {row["snapshot"]: row for row in _read(Layout.of(root).snapshot_notes, root)}


def append_notes(root: Path, rows: list[dict]) -> None:
    cols = names(SNAPSHOT_NOTE_COLUMNS)
    append_csv_rows(Layout.of(root).snapshot_notes, cols, [[row.get(c, "") for c in cols] for row in rows], root)
