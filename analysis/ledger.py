"""The append-only forecast ledger, ``data/forecasts.csv``: a cited number never changes.

Each row is a snapshot ``ID@AS_OF`` (``ID@AS_OFrN`` when the same day is forecast again). Rows are
only ever appended, atomically and under the data folder's lock; old bytes are never rewritten.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

from analysis import dataset as ds
from analysis.errors import DataError, Problem
from analysis.schema import LEDGER_COLUMNS
from analysis.storage import append_bytes_atomically, locked, read_text
from analysis.tables import format_row

NAMES = [c.name for c in LEDGER_COLUMNS]


def ledger_path(root: Path) -> Path:
    return Path(root) / ds.LEDGER_FILE


def read_ledger(root: Path) -> list[dict]:
    path = ledger_path(root)
    if not path.exists() or not path.read_bytes().strip():
        return []
    rows = list(csv.DictReader(io.StringIO(read_text(path))))
    if rows and list(rows[0]) != NAMES:
        raise DataError([Problem(str(path), 1, "ledger header differs", ",".join(NAMES))])
    return rows


def _same(row: dict, record: dict) -> bool:
    return (int(row["version"]) == record["version"] and row["as_of"] == record["as_of"]
            and row["evidence_sha256"] == record["evidence_sha256"]
            and abs(float(row["probability"]) - record["probability"]) < 5e-7)


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


def append(root: Path, records: list[dict], versions: dict, now: dt.datetime) -> list[dict]:
    """Append a row for each record whose forecast differs from its latest ledger row."""
    path = ledger_path(root)
    with locked(root):
        rows = read_ledger(root)
        latest = latest_by_prediction(rows)
        taken = {r["snapshot"] for r in rows}
        new_rows = []
        for record in sorted(records, key=lambda r: r["id"]):
            previous = latest.get(record["id"])
            if previous is not None and _same(previous, record):
                record["snapshot"] = previous["snapshot"]
                continue
            snap = snapshot_id(taken, record["id"], record["as_of"])
            taken.add(snap)
            record["snapshot"] = snap
            q = record["quantity"]
            new_rows.append({
                "snapshot": snap, "prediction": record["id"], "version": record["version"], "as_of": record["as_of"],
                "probability": f"{record['probability']:.6f}", "mcse": f"{record['probability_mcse']:.6f}",
                "quantity": q["name"], "median": f"{q['median']:.6g}", "lo90": f"{q['lo90']:.6g}",
                "hi90": f"{q['hi90']:.6g}", "evidence_count": record["evidence_count"],
                "evidence_sha256": record["evidence_sha256"], "family": record["model"]["family"],
                "versions": json.dumps(versions, sort_keys=True, separators=(",", ":")),
                "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            })
        if new_rows:
            header = b"" if rows or (path.exists() and path.read_bytes().strip()) else format_row(NAMES)
            append_bytes_atomically(path, header + b"".join(format_row([str(r[n]) for n in NAMES]) for r in new_rows))
        return new_rows


def resolve_snapshot(root: Path, snapshot: str) -> dict:
    matches = [r for r in read_ledger(root) if r["snapshot"] == snapshot]
    if len(matches) != 1:
        raise DataError([Problem(str(ledger_path(root)), 1, f"snapshot '{snapshot}' matches {len(matches)} rows",
                                 "exactly one ledger row")])
    return matches[0]
