"""``forecast update``: fit every prediction (in parallel, through the cache), write the current
forecasts and append changed ones to the ledger. Nothing is written unless every fit converged."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from analysis import dataset as ds
from analysis import engine, ledger
from analysis.families.base import SamplerSettings
from analysis.scoring import score_record


def _structure(prediction) -> tuple:
    """Predictions sharing a compiled model run next to each other, so a worker compiles once."""
    s = prediction.model.settings
    return (prediction.model.family, s.get("form", ""), s.get("observation", ""), bool(s.get("pooled")))


def record_key(prediction, data: ds.Dataset, sampler: SamplerSettings) -> str:
    """Everything one prediction's full record depends on: its definition, the rows that name it, its
    resolution and the data's as-of date. Unchanged key, unchanged record: no need to replay it."""
    from dataclasses import asdict

    rows = data.rows_for(prediction.id)
    return engine.digest({"prediction": {k: v for k, v in asdict(prediction).items() if k not in ("file", "line", "lines")},
                          "rows": engine.evidence_digest(rows), "as_of": data.as_of,
                          "resolution": data.resolution(prediction.id), "sampler": asdict(sampler),
                          "schema": engine.CACHE_SCHEMA, "versions": engine.package_versions()})


def _worker(data: ds.Dataset, prediction_id: str, sampler: SamplerSettings, cache_folder: str | None) -> dict:
    cache = engine.FitCache(Path(cache_folder) if cache_folder else None)
    return engine.forecast_prediction(data.predictions[prediction_id], data, sampler=sampler, cache=cache)


def run_update(root: Path, *, jobs: int = 1, sampler: SamplerSettings | None = None, use_cache: bool = True,
               progress: bool = True, now: dt.datetime | None = None) -> dict:
    """Fit all predictions and write outputs; returns {records, new_ledger_rows, payload}."""
    from joblib import Parallel, delayed

    root = Path(root)
    data = ds.load_valid(root)
    sampler = sampler or SamplerSettings()
    cache_folder = str(engine.cache_dir(root)) if use_cache else None
    ordered = sorted(data.predictions.values(), key=lambda p: (_structure(p), p.id))
    previous = engine.read_current(root) if use_cache else {}
    keys = {p.id: record_key(p, data, sampler) for p in ordered}
    records = [previous[p.id] for p in ordered if previous.get(p.id, {}).get("record_key") == keys[p.id]]
    reused = {r["id"] for r in records}
    tasks = [delayed(_worker)(data, p.id, sampler, cache_folder) for p in ordered if p.id not in reused]
    if progress and reused:
        print(f"  {len(reused)} forecasts unchanged (same question, evidence and as-of date); fitting {len(tasks)}")
    with _progress(progress, len(tasks)) as advance:
        if jobs == 1:
            for task in tasks:
                function, args, kwargs = task
                records.append(function(*args, **kwargs))
                advance(records[-1]["id"])
        else:
            parallel = Parallel(n_jobs=jobs, return_as="generator_unordered", backend="loky")
            for record in parallel(tasks):
                records.append(record)
                advance(record["id"])
    for record in records:
        record["record_key"] = keys[record["id"]]
    now = now or dt.datetime.now(dt.timezone.utc)
    from analysis.versions import record_new_versions

    record_new_versions(root, data.predictions, ds.today())
    for record in records:
        scored = score_record(record)
        record["brier"] = None if scored is None else scored["brier"]
    versions = engine.package_versions()
    new_rows = ledger.append(root, records, versions, now)
    from analysis.fingerprint import inputs_digest

    payload = engine.write_current(root, records, now.strftime("%Y-%m-%dT%H:%M:%SZ"), inputs_digest(root))
    return {"records": records, "new_ledger_rows": new_rows, "payload": payload}


class _progress:
    """A rich progress bar on a terminal or in CI logs (one line per fit when not a TTY)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.done = enabled, total, 0

    def __enter__(self):
        if not self.enabled:
            return lambda _label: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("fitting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.description}"), disable=not os.isatty(2))
        self.bar.__enter__()
        self.task = self.bar.add_task("", total=self.total)

        def advance(label: str) -> None:
            self.done += 1
            self.bar.update(self.task, advance=1, description=label)
            if not os.isatty(2):
                print(f"  fitted {label} ({self.done}/{self.total})", flush=True)

        return advance

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.__exit__(*exc)
        return False


def movers(records: list[dict], previous: dict[str, dict], threshold: float) -> list[dict]:
    """Predictions whose probability moved more than ``threshold`` since their previous ledger row."""
    out = []
    for record in records:
        before = previous.get(record["id"])
        if before is None:
            continue
        delta = record["probability"] - float(before["probability"])
        if abs(delta) > threshold:
            behind = [h for h in record["history"] if h["as_of"] > before["as_of"] and h["evidence_id"]]
            out.append({"id": record["id"], "from": float(before["probability"]), "to": record["probability"],
                        "delta": delta, "evidence": [h["evidence_id"] for h in behind]})
    return out
