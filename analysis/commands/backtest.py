"""``forecast backtest``: generate every instance of every template, forecast each at its lead times
with only what was public before, score against the baselines, and write ``backtest.json``.

Cached (fits go through the content-hash fit cache; an unchanged input set returns at once), parallel
(templates across joblib workers) and written atomically, so a kill leaves the old file or the new one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.commands.update import inputs_digest
from analysis.contract.errors import DataError, Problem
from analysis.contract.layout import Layout
from analysis.contract.provenance import seed_from
from analysis.data.dataset import Dataset, load_valid
from analysis.data.templates import load_templates
from analysis.files.storage import atomic_write_bytes, refusal
from analysis.forecast import backtest, engine, scoring
from analysis.forecast.record import jsonable

TEMPLATES_FILE = "templates.yaml"


def templates_of(data: Dataset) -> list:
    path = data.root / TEMPLATES_FILE
    reason = refusal(path, data.root)
    if reason:
        raise DataError([Problem(data.shown(path), 0, reason)])
    templates, problems = load_templates(path, data.shown(path), data.root, data.rosters)
    if problems:
        raise DataError(problems)
    return templates


def summarise(instances: list[backtest.Instance]) -> dict:
    """Scores for the whole set and per template, chapter and lead, plus the reliability bins."""
    frame = pd.DataFrame([{**asdict(i), **i.baselines} for i in instances])
    if frame.empty:
        return {}
    rng = np.random.default_rng(seed_from(sorted(frame["id"])))
    names = backtest.BASELINES
    out = {"overall": scoring.scores(frame, names, rng=rng),
           "by_template": {t: scoring.scores(g, names, rng=rng, draws=0) for t, g in frame.groupby("template")},
           "by_chapter": {c: scoring.scores(g, names, rng=rng, draws=200) for c, g in frame.groupby("chapter")},
           "by_lead": {str(k): scoring.scores(g, names, rng=rng, draws=200) for k, g in frame.groupby("lead_days")},
           "reliability": scoring.reliability_bins(frame["probability"], frame["outcome"]),
           "reliability_by_chapter": {c: scoring.reliability_bins(g["probability"], g["outcome"], bins=5)
                                      for c, g in frame.groupby("chapter")},
           "discrimination": {"yes": frame.loc[frame["outcome"] == 1, "probability"].tolist(),
                              "no": frame.loc[frame["outcome"] == 0, "probability"].tolist()}}
    return out


def run(root: Path, *, jobs: int = 1, use_cache: bool = True, now: dt.datetime | None = None) -> dict:
    layout = Layout.of(root)
    digest = inputs_digest(root)
    if use_cache and layout.backtest.exists():
        try:
            old = json.loads(layout.backtest.read_text(encoding="utf-8"))
            if old.get("inputs_sha256") == digest:
                return old
        except ValueError:
            pass  # a damaged file is rebuilt
    data = load_valid(root)
    templates = templates_of(data)
    cache = engine.FitCache(layout.fit_cache if use_cache else None)
    instances = backtest.run_backtest(data, templates, cache=cache, jobs=jobs)
    payload = {
        "generated_at": (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs_sha256": digest,
        "instances": [jsonable(asdict(i)) for i in instances],
        "scores": summarise(instances),
        "templates": [{"id": t.id, "chapter": t.chapter, "kind": t.kind, "rule": t.rule, "question": t.question,
                       "family": t.family, "prior": t.prior, "settings": jsonable(t.settings),
                       "windows": [[a.isoformat(), b.isoformat()] for a, b in t.windows], "leads": list(t.leads),
                       "roster": t.roster} for t in templates],
        "rosters": [{"name": r.name, "chapter": r.chapter, "unit": r.unit, "rule": r.rule, "source": r.source,
                     "frozen_on": r.frozen_on.isoformat(), "entries": len(r.entries),
                     "excluded": [{"name": n, "reason": why} for n, why in r.excluded]}
                    for r in sorted(data.rosters.values(), key=lambda r: r.name)],
    }
    atomic_write_bytes(layout.backtest, json.dumps(jsonable(payload), indent=1, sort_keys=True).encode())
    return payload


def read(root: Path) -> dict | None:
    path = Layout.of(root).backtest
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    except ValueError:
        return None
