"""Turning a prediction's evidence into a forecast: one fit (through a content-hash cache), the prior
sensitivity and model range, the as-of replay, and the frozen record the rest of the book reads.

As-of semantics: a forecast "as of D" uses only the rows that were public on or before D (their
``first_public`` date), and time-dependent families are evaluated at D, because time passing without
the event is evidence. Seeds come from a fit's own inputs, never from a date or global state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd

from analysis.contract.provenance import digest, model_code_digest, package_versions, seed_from
from analysis.data.dataset import Dataset
from analysis.data.evidence import row_dict
from analysis.forecast.record import Alternative, Forecast, ModelSpec, Resolution, Step, jsonable
from analysis.models import FAMILIES
from analysis.models.protocol import Diagnostics, FitResult, Quantity, SamplerSettings
from analysis.files.storage import atomic_write_bytes

WEAKER, STRONGER = 0.5, 2.0
CACHE_SCHEMA = 4  # bump when the cache entry's shape changes


def model_spec(prediction) -> ModelSpec:
    """The model as the ledger sees it: a change of family, family version, prior or settings is a
    model change and earns a snapshot that says so."""
    fam = FAMILIES[prediction.model.family]
    prior, settings = jsonable(prediction.model.prior), jsonable(prediction.model.settings)
    return ModelSpec(fam.name, prior, settings,
                     digest({"family": fam.name, "version": fam.version, "prior": prior, "settings": settings}))


def evidence_digest(rows: pd.DataFrame) -> str:
    """Hash of exactly the evidence rows a forecast used: the columns its family can read, plus dates. (A
    later review date moves a forecast as time does, and is noted as such, not as new evidence.)"""
    columns = ("id", "prediction", "observed_on", "public_on", "entity", "event", "category", "count", "trials",
               "value", "lr")
    records = [[row_dict(r).get(c) for c in columns if c in r] for _, r in rows.sort_values("id").iterrows()]
    return digest(records)


def review_limit(prediction, data: Dataset, cutoff: dt.date) -> dt.date | None:
    """The reviewed-through date that limits a forecast as of ``cutoff``: the chapter's coverage date when it
    is earlier than the cutoff and the model reads time as evidence; None when the record is complete to
    the cutoff (a retrospective question, or a review that reaches the as-of date)."""
    if not FAMILIES[prediction.model.family].reads_time:
        return None
    reviewed = data.reviewed_through(prediction.chapter)
    return reviewed if reviewed and reviewed < cutoff else None


class FitCache:
    """Fits stored as JSON under a content-hash key, outside git: an unchanged input refits nothing.

    Each entry carries its key and a checksum of its result; an entry that is truncated, corrupt or
    for another key is never trusted: it is refitted and replaced."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder else None
        self.hits = self.misses = self.corrupt = 0

    @staticmethod
    def _checksum(result: dict) -> str:
        return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()

    def _read(self, path: Path, key: str) -> dict | None:
        try:
            entry = json.loads(path.read_bytes())
            if entry["key"] == key and entry["sha256"] == self._checksum(entry["result"]):
                return entry["result"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.corrupt += 1
        return None

    def get_or_fit(self, key_payload: dict, compute) -> dict:
        if self.folder is None:
            return compute()
        key = digest(key_payload)
        path = self.folder / key[:2] / f"{key}.json"
        if path.exists():
            cached = self._read(path, key)
            if cached is not None:
                self.hits += 1
                return cached
        self.misses += 1
        result = jsonable(compute())
        entry = {"key": key, "sha256": self._checksum(result), "result": result}
        atomic_write_bytes(path, json.dumps(entry, sort_keys=True).encode())
        return result


def fit_one(prediction, rows: pd.DataFrame, as_of: dt.date, data: Dataset, *, sampler: SamplerSettings,
            cache: FitCache, prior: dict | None = None, settings: dict | None = None,
            sensitivity: bool = True) -> dict:
    """One forecast of ``prediction`` as of ``as_of`` from ``rows`` (already filtered to that date)."""
    fam = FAMILIES[prediction.model.family]
    if settings is not None:
        prediction = replace(prediction, model=replace(prediction.model, settings=settings))
    prior = prior or prediction.model.prior
    inputs = fam.prepare(prediction, rows, as_of, data)
    what = {"family": fam.name, "version": fam.version, "prior": prior, "inputs": inputs, "sampler": asdict(sampler)}
    seed = seed_from(what)
    label = f"{prediction.id} (as of {as_of})"
    key = {**what, "schema": CACHE_SCHEMA, "seed": seed, "code": model_code_digest(), "versions": package_versions(),
           "sensitivity": sensitivity}

    def compute() -> dict:
        stated = fam.fit(inputs, prior, seed=seed, sampler=sampler, label=label)
        out = {"fit": stated.to_dict()}
        if sensitivity:
            weaker = fam.fit(inputs, fam.scale_prior(prior, WEAKER), seed=seed, sampler=sampler, label=label)
            stronger = fam.fit(inputs, fam.scale_prior(prior, STRONGER), seed=seed, sampler=sampler, label=label)
            out["sensitivity"] = {"weaker": weaker.probability, "stated": stated.probability,
                                  "stronger": stronger.probability}
        return out

    return cache.get_or_fit(key, compute)


def fit_result(payload: dict) -> FitResult:
    fit = payload["fit"]
    return FitResult(fit["probability"], fit["mcse"], Quantity(**fit["quantity"]), Diagnostics(**fit["diagnostics"]),
                     fit.get("extra") or {})


def replay_points(prediction, data: Dataset, start: dt.date | None, until: dt.date) -> list[tuple[dt.date, str | None]]:
    """The as-of steps of a prediction's history: its start, then one step per evidence row, each on the
    day the row became public. Rows are added one at a time in (public date, id) order, so each step's
    change is that row's move."""
    rows = data.rows_for(prediction.id, until).sort_values(["public_on", "id"])
    points: list[tuple[dt.date, str | None]] = [(start, None)] if start is not None else []
    for _, row in rows.iterrows():
        if start is None or row["public_on"] > start:
            points.append((row["public_on"], row["id"]))
    return points or [(until, None)]


def history(prediction, data: Dataset, start: dt.date | None, until: dt.date, *, sampler: SamplerSettings,
            cache: FitCache) -> tuple[Step, ...]:
    """The as-of replay: the forecast after each evidence row, using only rows public by then."""
    ordered = data.rows_for(prediction.id, until).sort_values(["public_on", "id"])
    ids = list(ordered["id"])
    out, previous = [], None
    for as_of, row_id in replay_points(prediction, data, start, until):
        used = ordered.iloc[: ids.index(row_id) + 1] if row_id else ordered[ordered["public_on"] <= as_of]
        fit = fit_one(prediction, used, as_of, data, sampler=sampler, cache=cache, sensitivity=False)["fit"]
        probability = fit["probability"]
        out.append(Step(as_of.isoformat(), row_id, probability, None if previous is None else probability - previous,
                        fit["quantity"]["median"], fit["quantity"]["lo90"], fit["quantity"]["hi90"]))
        previous = probability
    return tuple(out)


def forecast_cutoff(prediction, data: Dataset, as_of: dt.date) -> dt.date:
    """The as-of date of a prediction's headline forecast.

    Open questions: the update's as-of date (never past resolves_by). Retrospective questions: the day
    before their window opens (``backtest_from``), the fixed lead time they are scored at. Resolved live
    questions: the day before the outcome was known."""
    if prediction.retrospective:
        return prediction.backtest_from - dt.timedelta(days=1)
    resolution = data.resolution(prediction.id)
    if resolution is not None:
        return min(resolution["resolved_on"], prediction.resolves_by, as_of + dt.timedelta(days=1)) \
            - dt.timedelta(days=1)
    return min(as_of, prediction.resolves_by)


def history_span(prediction, data: Dataset, cutoff: dt.date) -> tuple[dt.date | None, dt.date]:
    """Where a prediction's chart starts and ends: a retrospective question's chart runs from its
    window's opening to the day before its outcome was known."""
    if not prediction.retrospective:
        return None, cutoff
    resolution = data.resolution(prediction.id)
    end = min(resolution["resolved_on"], prediction.resolves_by) if resolution else prediction.resolves_by
    return cutoff, end - dt.timedelta(days=1)


def record_key(prediction, data: Dataset, as_of: dt.date, sampler: SamplerSettings) -> str:
    """Everything one prediction's full record depends on: its definition, the rows that name it, its
    resolution, the as-of date and the model code. Unchanged key, unchanged record, byte for byte."""
    definition = {k: v for k, v in asdict(prediction).items() if k not in ("file", "line", "lines")}
    cutoff = forecast_cutoff(prediction, data, as_of)
    return digest({"prediction": definition, "rows": evidence_digest(data.rows_for(prediction.id)),
                   "as_of": cutoff, "resolution": data.resolution(prediction.id),
                   "review_limit": review_limit(prediction, data, cutoff),
                   "extra": FAMILIES[prediction.model.family].context_digest(prediction, data),
                   "sampler": asdict(sampler), "schema": CACHE_SCHEMA, "code": model_code_digest(),
                   "versions": package_versions()})


def _resolution(data: Dataset, prediction_id: str) -> Resolution | None:
    found = data.resolution(prediction_id)
    if found is None:
        return None
    return Resolution(**{k: "" if found[k] is None else jsonable(found[k]) for k in (
        "outcome", "resolved_on", "source_publisher", "source_title", "source_date", "source_url", "note")})


def alternatives(prediction, rows, cutoff, data, *, sampler, cache) -> tuple[Alternative, ...]:
    """The forecast under each structural alternative the family declares (the model range)."""
    fam = FAMILIES[prediction.model.family]
    out = []
    for label, (prior, settings) in fam.alternatives(prediction).items():
        fit = fit_one(prediction, rows, cutoff, data, sampler=sampler, cache=cache, prior=prior, settings=settings,
                      sensitivity=False)["fit"]
        out.append(Alternative(label, fit["probability"]))
    return tuple(out)


def forecast_prediction(prediction, data: Dataset, as_of: dt.date, *, sampler: SamplerSettings,
                        cache: FitCache) -> Forecast:
    """The full record for one prediction: headline fit, sensitivity, model range and history."""
    cutoff = forecast_cutoff(prediction, data, as_of)
    rows = data.rows_for(prediction.id, cutoff)
    result = fit_one(prediction, rows, cutoff, data, sampler=sampler, cache=cache)
    fit = fit_result(result)
    resolution = _resolution(data, prediction.id)
    status = "open" if resolution is None else ("annulled" if resolution.outcome == "annulled" else "resolved")
    start, end = history_span(prediction, data, cutoff)
    fam = FAMILIES[prediction.model.family]
    progress = fam.progress(prediction, fam.prepare(prediction, rows, cutoff, data))
    limit = review_limit(prediction, data, cutoff)
    late = [i for i, d in zip(rows["id"], rows["public_on"]) if limit is not None and d > limit]
    reviewed = data.reviewed_through(prediction.chapter)
    return Forecast(
        id=prediction.id, chapter=prediction.chapter, question=prediction.question, version=prediction.version,
        resolves_by=prediction.resolves_by.isoformat(), retrospective=prediction.retrospective, status=status,
        probability=fit.probability, probability_mcse=fit.mcse, quantity=fit.quantity, as_of=cutoff.isoformat(),
        evidence_ids=tuple(sorted(rows["id"])), evidence_sha256=evidence_digest(rows),
        model=model_spec(prediction),
        diagnostics=fit.diagnostics, sensitivity=result["sensitivity"],
        alternatives=alternatives(prediction, rows, cutoff, data, sampler=sampler, cache=cache),
        history=history(prediction, data, start, end, sampler=sampler, cache=cache), resolution=resolution,
        key=record_key(prediction, data, as_of, sampler),
        reviewed_through=reviewed.isoformat() if reviewed else "", unreviewed=tuple(sorted(late)),
        progress=tuple(int(x) for x in progress) if progress else None)
