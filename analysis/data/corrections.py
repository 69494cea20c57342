"""Corrections, ``data/corrections.csv``: a logged fix to one cell of an evidence row or a resolution.

Evidence rows and resolutions are never rewritten. When one turns out to be wrong (an earlier first
report is found, the page read was a copy rather than the original), a correction names the row, the
column, the value it replaces and why; the loader applies corrections in file order, so the record shows
both what was logged and what was fixed, and when.
"""

from __future__ import annotations

import pandas as pd

from analysis.contract.errors import Problem, quote
from analysis.contract.schema import CHECKS, EVIDENCE_COLUMNS, RESOLUTION_COLUMNS, checks_for
from analysis.data import evidence as ev

KEYS = {"evidence": "id", "resolutions": "prediction"}  # how each store names its rows
COLUMNS = {"evidence": {c.name: c for c in EVIDENCE_COLUMNS}, "resolutions": {c.name: c for c in RESOLUTION_COLUMNS}}
FIXED = ("logged_on",)  # with each store's key: a row's identity and its logging date are never corrected


def _cell_problems(spec, value: str) -> list[tuple[str, str]]:
    if value == "":
        return [("is empty", f"a value: {spec.description}")] if spec.required else []
    return [(message, expected) for name in checks_for(spec)
            for predicate, message, expected in [CHECKS[name]] if not predicate(value)]


def apply(tables: dict[str, pd.DataFrame], corrections: pd.DataFrame) -> tuple[dict, list[Problem], dict]:
    """The stores (raw strings) with every correction applied, the problems found, and the corrections
    applied by row (for the book to show)."""
    out = {name: frame.copy() for name, frame in tables.items()}
    problems: list[Problem] = []
    applied: dict[str, list[dict]] = {}
    for row in map(ev.row_dict, (r for _, r in corrections.iterrows())):
        where = (row["_file"], row[ev.LINE])
        table, key, column = row["table"], row["row"], row["column"]
        frame = out[table]
        matches = frame.index[frame[KEYS[table]] == key] if len(frame) else []
        if len(matches) == 0:
            problems.append(Problem(*where, f"no {table} row {quote(key)}", f"a {KEYS[table]} in the {table} store"))
            continue
        spec = COLUMNS[table].get(column)
        fixed = (KEYS[table], *FIXED)
        if spec is None or column in fixed:
            problems.append(Problem(*where, f"column {quote(column)} cannot be corrected",
                                    "one of " + ", ".join(c for c in COLUMNS[table] if c not in fixed)))
            continue
        index = matches[-1]
        current = frame.at[index, column]
        if current != (row["old"] or ""):
            problems.append(Problem(*where, f"old value {quote(row['old'])} does not match {key}'s {column} "
                                    f"{quote(current)}", "the cell's value before this correction"))
            continue
        found = _cell_problems(spec, row["new"] or "")
        problems += [Problem(*where, f"new {column} {quote(row['new'])} {message}", expected)
                     for message, expected in found]
        if found:
            continue
        frame.at[index, column] = row["new"] or ""
        applied.setdefault(key, []).append({k: row[k] for k in ("column", "old", "new", "reason", "logged_on")})
    return out, problems, applied
