"""``forecast export``: the current forecasts as JSON or CSV, in one fixed shape (see
``export.schema.json``), for the book's downloads, other tools and memos."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from analysis.contract.errors import DataError, Problem
from analysis.forecast.current import Current, require_current
from analysis.forecast.record import Forecast
from analysis.forecast.scoring import score_record

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_item(record: Forecast, snapshot: str) -> dict:
    """One prediction as the export publishes it."""
    scored = score_record(record)
    low, high = record.model_range
    return {
        "id": record.id, "chapter": record.chapter, "question": record.question, "version": record.version,
        "resolves_by": record.resolves_by, "retrospective": record.retrospective, "status": record.status,
        "probability": record.probability, "probability_mcse": record.probability_mcse,
        "quantity": {"name": record.quantity.name, "median": record.quantity.median, "lo90": record.quantity.lo90,
                     "hi90": record.quantity.hi90},
        "as_of": record.as_of, "evidence_count": record.evidence_count, "evidence_ids": list(record.evidence_ids),
        "model": {"family": record.model.family, "prior": record.model.prior},
        "diagnostics": {"rhat_max": record.diagnostics.rhat_max, "ess_bulk_min": record.diagnostics.ess_bulk_min,
                        "divergences": record.diagnostics.divergences, "exact": record.diagnostics.exact,
                        "method": record.diagnostics.method},
        "sensitivity": dict(record.sensitivity),
        "model_range": {"low": low, "high": high,
                        "alternatives": [{"label": a.label, "probability": a.probability} for a in record.alternatives]},
        "snapshot": snapshot or None,
        "resolution": None if record.resolution is None else {"outcome": record.resolution.outcome,
                                                              "resolved_on": record.resolution.resolved_on},
        "brier": None if scored is None else scored["brier"],
    }


INSTANCE_KEYS = ("id", "template", "chapter", "unit", "as_of", "window_start", "window_end", "lead_days",
                 "horizon_days", "question", "probability", "outcome", "evidence_ids", "resolution_ids", "baselines")


def backtest_object(backtest: dict | None) -> dict | None:
    """The backtest's instances, scores and rosters, as the export publishes them."""
    if not backtest:
        return None
    scores = backtest.get("scores") or {}
    return {"generated_at": backtest["generated_at"],
            "instances": [{k: i[k] for k in INSTANCE_KEYS} for i in backtest["instances"]],
            "scores": {"overall": scores.get("overall"), "by_template": scores.get("by_template"),
                       "by_chapter": scores.get("by_chapter"), "by_lead": scores.get("by_lead")},
            "rosters": backtest["rosters"], "templates": backtest.get("templates", [])}


def export_payload(current: Current, backtest: dict | None = None) -> dict:
    payload = {"generated_at": current.generated_at, "as_of": current.as_of, "inputs_sha256": current.inputs_sha256,
               "predictions": [export_item(current.records[pid], current.snapshots.get(pid, ""))
                               for pid in sorted(current.records)]}
    if backtest:
        payload["backtest"] = backtest_object(backtest)
    return payload


def neutralise(cell) -> str:
    """Stop spreadsheets from running a cell as a formula (CSV injection)."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_START) else text


def flat(item: dict) -> dict:
    """One export item as a CSV row."""
    q, d, s, r = item["quantity"], item["diagnostics"], item["sensitivity"], item["model_range"]
    return {
        "id": item["id"], "chapter": item["chapter"], "question": item["question"], "version": item["version"],
        "resolves_by": item["resolves_by"], "retrospective": item["retrospective"], "status": item["status"],
        "probability": item["probability"], "probability_mcse": item["probability_mcse"], "quantity": q["name"],
        "quantity_median": q["median"], "quantity_lo90": q["lo90"], "quantity_hi90": q["hi90"],
        "as_of": item["as_of"], "evidence_count": item["evidence_count"], "family": item["model"]["family"],
        "rhat_max": d["rhat_max"], "ess_bulk_min": d["ess_bulk_min"], "divergences": d["divergences"],
        "exact": d["exact"], "sensitivity_weaker": s["weaker"], "sensitivity_stated": s["stated"],
        "sensitivity_stronger": s["stronger"], "model_range_low": r["low"], "model_range_high": r["high"],
        "snapshot": item["snapshot"], "resolution": (item["resolution"] or {}).get("outcome", ""),
        "brier": item["brier"],
    }


def csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["id"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue()


def export_text(root: Path, fmt: str) -> str:
    from analysis.commands.backtest import read

    payload = export_payload(require_current(root), read(root))
    if fmt == "json":
        return json.dumps(payload, indent=2, sort_keys=True) + "\n"
    if fmt == "csv":
        return csv_text([flat(p) for p in payload["predictions"]])
    raise DataError([Problem("--format", 0, f"unknown format '{fmt}'", "json or csv")])
