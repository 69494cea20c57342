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
from analysis.contract.layout import Layout
from analysis.contract.provenance import seed_from
from analysis.data.dataset import Dataset, load_valid
from analysis.files.storage import atomic_write_bytes
from analysis.forecast import backtest, engine, scoring
from analysis.forecast.record import jsonable

SCHEMA = 2  # bump when backtest.json gains or changes a field: an old file is then rebuilt
SPLIT = dt.date(2025, 1, 1)  # model choices are to be made on windows closed before it, scored on later ones


def templates_of(data: Dataset) -> list:
    """The templates, as the validated data set loaded them."""
    return data.templates


def freeze(root: Path, today_: dt.date) -> list[dict]:
    """Freeze every template not frozen yet: its id, the hash of its definition and today's date, appended to
    data/template_freeze.csv. From then on a changed rule must take a new id, and instances whose windows open
    after the freeze date are the prospective record."""
    from analysis.commands.add import append_validated
    from analysis.contract.schema import TEMPLATE_FREEZE_COLUMNS, names
    from analysis.data.templates import template_digest
    from analysis.files.storage import locked

    root = Path(root).absolute()
    with locked(root):
        data = load_valid(root)
        rows = [{"template": t.id, "sha256": template_digest(t), "frozen_on": today_.isoformat()}
                for t in data.templates if t.id not in data.frozen]
        if rows:
            cols = names(TEMPLATE_FREEZE_COLUMNS)
            append_validated(root, Layout.of(root).template_freeze, cols, [[r[c] for c in cols] for r in rows])
    return rows


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
    out["by_period"] = {name: scoring.scores(g, names, rng=rng, draws=1000)
                        for name, g in period_groups(frame).items() if len(g)}
    return out


def period_groups(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Instances by when their window ran against SPLIT: closed before it (where choices are to be made),
    opened on or after it (where they are scored), and the windows that straddle it."""
    start = frame["window_start"].map(dt.date.fromisoformat)
    end = frame["window_end"].map(dt.date.fromisoformat)
    return {"before": frame[end < SPLIT], "after": frame[start >= SPLIT],
            "straddling": frame[(start < SPLIT) & (end >= SPLIT)]}


def run(root: Path, *, jobs: int = 1, use_cache: bool = True, now: dt.datetime | None = None) -> dict:
    layout = Layout.of(root)
    digest = inputs_digest(root)
    if use_cache and layout.backtest.exists():
        try:
            old = json.loads(layout.backtest.read_text(encoding="utf-8"))
            if old.get("inputs_sha256") == digest and old.get("schema") == SCHEMA:
                return old
        except ValueError:
            pass  # a damaged file is rebuilt
    data = load_valid(root)
    templates = templates_of(data)
    cache = engine.FitCache(layout.fit_cache if use_cache else None)
    instances = backtest.run_backtest(data, templates, cache=cache, jobs=jobs)
    payload = {
        "generated_at": (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs_sha256": digest, "schema": SCHEMA, "split": SPLIT.isoformat(),
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
