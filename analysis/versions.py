"""Question versions: the text of every version of every question, kept append-only in
``data/question_versions.csv``, so an edit without a ``version`` bump is caught and readers can see
how a question changed."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from analysis.errors import Problem
from analysis.schema import Column
from analysis.storage import append_bytes_atomically, locked, read_text
from analysis.tables import format_row

VERSIONS_FILE = "question_versions.csv"
VERSION_COLUMNS: tuple[Column, ...] = (
    Column("prediction", "string", True, "Prediction id."),
    Column("version", "integer", True, "The question's version."),
    Column("question", "string", True, "The question's text at that version."),
    Column("resolution_criteria", "string", True, "Its resolution criteria at that version."),
    Column("fine_print", "string", False, "Its fine print at that version."),
    Column("resolves_by", "date", True, "Its resolve-by date at that version."),
    Column("recorded_on", "date", True, "When this version was first recorded."),
)
TEXT_FIELDS = ("question", "resolution_criteria", "fine_print", "resolves_by")


def read_versions(root: Path) -> list[dict]:
    path = Path(root) / VERSIONS_FILE
    if not path.exists() or not path.read_bytes().strip():
        return []
    return list(csv.DictReader(io.StringIO(read_text(path))))


def version_problems(root: Path, predictions: dict) -> list[Problem]:
    """An edited question whose version was not bumped, or a version that went backwards."""
    recorded: dict[tuple[str, int], dict] = {}
    latest: dict[str, int] = {}
    for row in read_versions(root):
        key = (row["prediction"], int(row["version"]))
        recorded[key] = row
        latest[row["prediction"]] = max(latest.get(row["prediction"], 0), key[1])
    problems = []
    for p in predictions.values():
        row = recorded.get((p.id, p.version))
        if row is not None and any(row[f] != p.text_fields[f] for f in TEXT_FIELDS):
            changed = ", ".join(f for f in TEXT_FIELDS if row[f] != p.text_fields[f])
            problems.append(Problem(p.file, p.line_of("version"), f"{p.id}: {changed} changed but version is still "
                                    f"{p.version}", f"version: {latest[p.id] + 1} for an edited question"))
        elif row is None and p.version < latest.get(p.id, 0):
            problems.append(Problem(p.file, p.line_of("version"), f"{p.id}: version {p.version} is older than the "
                                    f"recorded {latest[p.id]}", "versions only go up"))
    return problems


def record_new_versions(root: Path, predictions: dict, today) -> int:
    """Append the text of every (prediction, version) not yet recorded. Returns how many."""
    path = Path(root) / VERSIONS_FILE
    with locked(root):
        known = {(r["prediction"], int(r["version"])) for r in read_versions(root)}
        rows = [[p.id, str(p.version), *(p.text_fields[f] for f in TEXT_FIELDS), today.isoformat()]
                for p in sorted(predictions.values(), key=lambda p: p.id) if (p.id, p.version) not in known]
        if rows:
            header = b"" if known or (path.exists() and path.read_bytes().strip()) else \
                format_row([c.name for c in VERSION_COLUMNS])
            append_bytes_atomically(path, header + b"".join(format_row(r) for r in rows))
    return len(rows)


def history_of(root: Path, prediction_id: str) -> list[dict]:
    return sorted((r for r in read_versions(root) if r["prediction"] == prediction_id), key=lambda r: int(r["version"]))
