"""The append-only forecast ledger, ``data/forecasts.csv``: a cited number never changes.

Each row is a snapshot ``ID@AS_OF`` (``ID@AS_OFrN`` when the same day is forecast again). Rows are only
ever appended, atomically and under the data folder's lock; old bytes are never rewritten. Which
forecasts deserve a new row is the caller's decision, taken under the same lock.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from analysis.contract.errors import DataError, Problem
from analysis.contract.layout import Layout
from analysis.contract.schema import LEDGER_COLUMNS, names
from analysis.files.storage import append_csv_rows, locked, read_text

NAMES = names(LEDGER_COLUMNS)
SNAPSHOT_RE = re.compile(r"^([A-Z]+-[0-9]+)@([0-9]{4}-[0-9]{2}-[0-9]{2})(r[0-9]+)?$")


def read_ledger(root: Path) -> list[dict]:
    path = Layout.of(root).ledger
    if not path.exists():
        return []
    text = read_text(path, str(path), root)
    if not text.strip():
        return []
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and list(rows[0]) != NAMES:
        raise DataError([Problem(str(path), 1, "ledger header differs", ",".join(NAMES))])
    return rows


def snapshot_id(existing: set[str], prediction_id: str, as_of: str) -> str:
    base = f"{prediction_id}@{as_of}"
    if base not in existing:
        return base
    n = 2
    while f"{base}r{n}" in existing:
        n += 1
    return f"{base}r{n}"


def latest_by_prediction(rows: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for row in rows:
        out[row["prediction"]] = row
    return out


def append_rows(root: Path, rows: list[dict]) -> list[dict]:
    """Append complete rows (snapshot ids already allocated with ``snapshot_id``) under the data folder's
    lock. A row whose id is already in the ledger is not written twice. Returns the rows written."""
    with locked(root):
        taken = {r["snapshot"] for r in read_ledger(root)}
        fresh = [row for row in rows if row["snapshot"] not in taken]
        append_csv_rows(Layout.of(root).ledger, NAMES, [[row[n] for n in NAMES] for row in fresh], root)
        return fresh


def resolve_snapshot(root: Path, snapshot: str) -> dict:
    matches = [r for r in read_ledger(root) if r["snapshot"] == snapshot]
    if len(matches) != 1:
        raise DataError([Problem(str(Layout.of(root).ledger), 1, f"snapshot '{snapshot}' matches {len(matches)} rows",
                                 "exactly one ledger row")])
    return matches[0]


def row_problems(root: Path) -> list[Problem]:
    """Ledger rows whose snapshot id is not ``ID@YYYY-MM-DD[rN]`` naming the row's own prediction and as-of
    date: a snapshot id becomes a file name and an address, so nothing else may pass."""
    path = Layout.of(root).ledger
    out = []
    try:
        rows = read_ledger(root)
    except DataError as err:
        return err.problems
    for line, row in enumerate(rows, start=2):
        m = SNAPSHOT_RE.match(row.get("snapshot") or "")
        if not m or m.group(1) != row.get("prediction") or m.group(2) != row.get("as_of"):
            from analysis.contract.errors import quote

            out.append(Problem(f"{Path(root).name}/{path.name}", line, f"snapshot id {quote(row.get('snapshot'))} is "
                               "malformed", "ID@AS_OF (or ID@AS_OFrN) naming the row's prediction and as_of"))
    return out
