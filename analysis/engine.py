"""Turning a prediction's evidence into a forecast: fit (through a content-hash cache), prior
sensitivity, as-of replay, and the export that the book, the ledger and other tools read."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import dataset as ds
from analysis.families import FAMILIES
from analysis.families.base import FitResult, SamplerSettings
from analysis.storage import atomic_write_bytes

WEAKER, STRONGER = 0.5, 2.0
PACKAGES = ("pymc", "pytensor", "nutpie", "arviz", "numpy", "scipy", "pandas")
CACHE_SCHEMA = 3  # bump when a family's maths changes, to invalidate every cached fit


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def generated_dir(data_root: Path) -> Path:
    return Path(data_root).resolve().parent / "_build" / "generated"


def cache_dir(data_root: Path) -> Path:
    return Path(data_root).resolve().parent / ".cache" / "fits"


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.ndarray, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def digest(payload) -> str:
    return hashlib.sha256(json.dumps(_jsonable(payload), sort_keys=True).encode()).hexdigest()


def seed_for(prediction_id: str, as_of: dt.date) -> int:
    """An explicit, stable seed per (prediction, as-of): no global RNG state anywhere."""
    return int(hashlib.sha256(f"{prediction_id}@{as_of}".encode()).hexdigest()[:8], 16)


EVIDENCE_FIELDS = ("id", "prediction", "observed_on", "entity", "event", "category", "count", "trials", "value",
                   "lr", "lr_sd")


def evidence_digest(rows: pd.DataFrame) -> str:
    """Hash of exactly the evidence a forecast used (the columns a model can read)."""
    records = [[_clean(r[c]) for c in EVIDENCE_FIELDS] for _, r in rows.sort_values("id").iterrows()]
    return digest(records)


def _clean(value):
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return _jsonable(value)


class FitCache:
    """Fits stored as JSON under a content-hash key, outside git: an unchanged input refits nothing."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder else None
        self.hits = self.misses = 0

    def get_or_fit(self, key_payload: dict, compute) -> dict:
        if self.folder is None:
            return compute()
        key = digest(key_payload)
        path = self.folder / key[:2] / f"{key}.json"
        if path.exists():
            self.hits += 1
            return json.loads(path.read_text())
        self.misses += 1
        result = compute()
        atomic_write_bytes(path, json.dumps(result, sort_keys=True).encode())
        return result


def fit_one(prediction, rows: pd.DataFrame, as_of: dt.date, *, sampler: SamplerSettings, cache: FitCache,
            prior: dict | None = None, sensitivity: bool = True) -> dict:
    """One forecast of ``prediction`` as of ``as_of`` from ``rows`` (already filtered to that date)."""
    module = FAMILIES[prediction.model.family]
    prior = prior or prediction.model.prior
    inputs = module.prepare(prediction, rows, as_of)
    seed = seed_for(prediction.id, as_of)
    label = f"{prediction.id} (as of {as_of})"
    key = {"schema": CACHE_SCHEMA, "family": module.NAME, "prior": prior, "inputs": inputs, "seed": seed,
           "sampler": asdict(sampler), "versions": package_versions(), "sensitivity": sensitivity}

    def compute() -> dict:
        stated = module.fit(inputs, prior, seed=seed, sampler=sampler, label=label)
        out = {"fit": _jsonable(stated.to_dict())}
        if sensitivity:
            weaker = module.fit(inputs, module.scale_prior(prior, WEAKER), seed=seed, sampler=sampler, label=label)
            stronger = module.fit(inputs, module.scale_prior(prior, STRONGER), seed=seed, sampler=sampler, label=label)
            out["sensitivity"] = {"weaker": weaker.probability, "stated": stated.probability,
                                  "stronger": stronger.probability}
        return out

    result = cache.get_or_fit(key, compute)
    result["inputs"] = _jsonable(inputs)
    return result


def replay_points(prediction, data: ds.Dataset, until: dt.date) -> list[tuple[dt.date, str | None]]:
    """The as-of steps of a prediction's history: its start, then one step per evidence row.

    Rows are added one at a time in (observed_on, id) order, so each step's change is that row's move.
    """
    rows = data.rows_for(prediction.id, until).sort_values(["observed_on", "id"])
    start = prediction.backtest_from if prediction.retrospective else None
    points: list[tuple[dt.date, str | None]] = []
    if start is not None:
        points.append((start, None))
    for _, row in rows.iterrows():
        if start is None or row["observed_on"] >= start:
            points.append((row["observed_on"], row["id"]))
    if not points:
        points.append((until, None))
    return points


def history(prediction, data: ds.Dataset, until: dt.date, *, sampler: SamplerSettings, cache: FitCache) -> list[dict]:
    """The as-of replay: the forecast after each evidence row, using only rows up to that one."""
    ordered = data.rows_for(prediction.id, until).sort_values(["observed_on", "id"])
    out, previous = [], None
    for as_of, row_id in replay_points(prediction, data, until):
        if row_id is None:
            used = ordered[ordered["observed_on"] < as_of] if prediction.retrospective else ordered.iloc[:0]
        else:
            position = list(ordered["id"]).index(row_id)
            used = ordered.iloc[: position + 1]
        fit = fit_one(prediction, used, as_of, sampler=sampler, cache=cache, sensitivity=False)["fit"]
        probability = fit["probability"]
        out.append({"as_of": as_of.isoformat(), "evidence_id": row_id, "probability": probability,
                    "move": None if previous is None else probability - previous,
                    "lo90": fit["quantity"]["lo90"], "hi90": fit["quantity"]["hi90"],
                    "median": fit["quantity"]["median"]})
        previous = probability
    return out


def forecast_cutoff(prediction, data: ds.Dataset) -> dt.date:
    """The as-of date of a prediction's headline forecast.

    Open questions: the data's as-of date. Resolved or retrospective ones: the day before the outcome
    was known (or resolves_by), so a backtest never sees its own answer.
    """
    resolution = data.resolution(prediction.id)
    if resolution is not None:
        return min(resolution["resolved_on"], prediction.resolves_by) - dt.timedelta(days=1)
    if prediction.retrospective:
        return prediction.resolves_by - dt.timedelta(days=1)
    return min(data.as_of, prediction.resolves_by)


def forecast_prediction(prediction, data: ds.Dataset, *, sampler: SamplerSettings, cache: FitCache) -> dict:
    """The full record for one prediction: headline fit, sensitivity, history and attribution."""
    cutoff = forecast_cutoff(prediction, data)
    rows = data.rows_for(prediction.id, cutoff)
    result = fit_one(prediction, rows, cutoff, sampler=sampler, cache=cache)
    fit = result["fit"]
    resolution = data.resolution(prediction.id)
    status = "open" if resolution is None else ("annulled" if resolution["outcome"] == "annulled" else "resolved")
    return {
        "id": prediction.id, "chapter": prediction.chapter, "question": prediction.question,
        "version": prediction.version, "resolves_by": prediction.resolves_by.isoformat(),
        "retrospective": prediction.retrospective, "status": status,
        "probability": fit["probability"], "probability_mcse": fit["mcse"], "quantity": fit["quantity"],
        "as_of": cutoff.isoformat(), "evidence_count": int(len(rows)), "evidence_sha256": evidence_digest(rows),
        "model": {"family": prediction.model.family, "prior": prediction.model.prior,
                  "settings": _jsonable(prediction.model.settings)},
        "diagnostics": {k: fit["diagnostics"][k] for k in ("rhat_max", "ess_bulk_min", "divergences", "exact", "method")},
        "sensitivity": result["sensitivity"],
        "history": history(prediction, data, cutoff, sampler=sampler, cache=cache),
        "resolution": None if resolution is None else {k: _jsonable(resolution[k]) for k in (
            "outcome", "resolved_on", "source_publisher", "source_title", "source_date", "source_url", "note")},
    }


def evidence_files_digest(root: Path) -> str:
    """sha256 over every evidence file's bytes (and name): what a reader can check against."""
    h = hashlib.sha256()
    for path in sorted((Path(root) / ds.EVIDENCE_DIR).glob("*.csv")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def current_path(data_root: Path) -> Path:
    return generated_dir(data_root) / "forecasts.json"


def write_current(data_root: Path, records: list[dict], generated_at: str, inputs_sha256: str = "") -> dict:
    payload = {"generated_at": generated_at, "evidence_sha256": evidence_files_digest(data_root),
               "inputs_sha256": inputs_sha256,
               "versions": package_versions(), "predictions": sorted(records, key=lambda r: r["id"])}
    atomic_write_bytes(current_path(data_root), json.dumps(payload, indent=1, sort_keys=True).encode())
    return payload


def read_current(data_root: Path) -> dict[str, dict]:
    path = current_path(data_root)
    if not path.exists():
        return {}
    return {p["id"]: p for p in json.loads(path.read_text())["predictions"]}
