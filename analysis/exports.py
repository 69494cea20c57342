"""``forecast export``: the current forecasts as JSON or CSV, in one fixed shape."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from analysis import engine
from analysis.errors import DataError, Problem

EXPORT_KEYS = ("id", "chapter", "question", "resolves_by", "retrospective", "status", "probability",
               "probability_mcse", "quantity", "as_of", "evidence_count", "model", "diagnostics", "sensitivity",
               "snapshot", "resolution", "brier")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_payload(root: Path) -> dict:
    path = engine.current_path(root)
    if not path.exists():
        raise DataError([Problem(str(path), 1, "no forecasts yet", "run `forecast update` first")])
    payload = json.loads(path.read_text())
    predictions = []
    for record in payload["predictions"]:
        item = {k: record.get(k) for k in EXPORT_KEYS}
        item["model"] = {"family": record["model"]["family"], "prior": record["model"]["prior"]}
        item["diagnostics"] = {k: record["diagnostics"][k] for k in ("rhat_max", "ess_bulk_min", "divergences", "exact")}
        predictions.append(item)
    return {"generated_at": payload["generated_at"], "evidence_sha256": payload["evidence_sha256"],
            "predictions": predictions}


def neutralise(cell) -> str:
    """Stop spreadsheets from running a cell as a formula (CSV injection)."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_START) else text


def _flat(item: dict) -> dict:
    q, d, s = item["quantity"], item["diagnostics"], item["sensitivity"]
    res = item.get("resolution") or {}
    return {
        "id": item["id"], "chapter": item["chapter"], "question": item["question"], "resolves_by": item["resolves_by"],
        "retrospective": item["retrospective"], "status": item["status"], "probability": item["probability"],
        "probability_mcse": item["probability_mcse"], "quantity": q["name"], "quantity_median": q["median"],
        "quantity_lo90": q["lo90"], "quantity_hi90": q["hi90"], "as_of": item["as_of"],
        "evidence_count": item["evidence_count"], "family": item["model"]["family"],
        "rhat_max": d["rhat_max"], "ess_bulk_min": d["ess_bulk_min"], "divergences": d["divergences"],
        "exact": d["exact"], "sensitivity_weaker": s["weaker"], "sensitivity_stated": s["stated"],
        "sensitivity_stronger": s["stronger"], "snapshot": item.get("snapshot"),
        "resolution": res.get("outcome", ""), "brier": item.get("brier"),
    }


def export_text(root: Path, fmt: str) -> str:
    payload = export_payload(root)
    if fmt == "json":
        return json.dumps(payload, indent=2, sort_keys=True) + "\n"
    if fmt == "csv":
        rows = [_flat(p) for p in payload["predictions"]]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["id"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: neutralise("" if v is None else v) for k, v in row.items()})
        return buffer.getvalue()
    raise DataError([Problem("--format", 1, f"unknown format '{fmt}'", "json or csv")])
