"""Question versions: the text of every version of every question, kept append-only in
``data/question_versions.csv``, so an edit without a ``version`` bump is caught and readers can see
how a question changed (and what a cited snapshot's question said)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from analysis.contract.errors import Problem
from analysis.contract.layout import Layout
from analysis.contract.schema import VERSION_COLUMNS, names
from analysis.files.storage import append_csv_rows, locked, read_text

TEXT_FIELDS = ("question", "resolution_criteria", "fine_print", "resolves_by")


def read_versions(root: Path) -> list[dict]:
    path = Layout.of(root).question_versions
    if not path.exists():
        return []
    text = read_text(path, str(path), root)
    return list(csv.DictReader(io.StringIO(text))) if text.strip() else []


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


def new_versions(root: Path, predictions: dict, today) -> list[list[str]]:
    """The rows ``record_new_versions`` would append: every (prediction, version) not yet recorded."""
    known = {(r["prediction"], int(r["version"])) for r in read_versions(root)}
    return [[p.id, str(p.version), *(p.text_fields[f] for f in TEXT_FIELDS), today.isoformat()]
            for p in sorted(predictions.values(), key=lambda p: p.id) if (p.id, p.version) not in known]


def record_new_versions(root: Path, predictions: dict, today) -> int:
    """Append the text of every (prediction, version) not yet recorded. Returns how many."""
    with locked(root):
        rows = new_versions(root, predictions, today)
        append_csv_rows(Layout.of(root).question_versions, names(VERSION_COLUMNS), rows, root)
    return len(rows)


def history_of(root: Path, prediction_id: str) -> list[dict]:
    return sorted((r for r in read_versions(root) if r["prediction"] == prediction_id), key=lambda r: int(r["version"]))


def text_at(root: Path, prediction_id: str, version: int) -> dict | None:
    """A question's wording at one version (what a snapshot of that version was a forecast of)."""
    return next((r for r in read_versions(root) if r["prediction"] == prediction_id and int(r["version"]) == version),
                None)
