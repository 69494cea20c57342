"""The rule-generated, leak-free backtest: every instance of every template, forecast at fixed lead
times with only what was public before, scored against named baselines.

An instance is one unit (a roster entry, a roster group, or the window itself) and one window. It is
forecast as of ``window start - 1 - lead``: the rows used are those first public by then, the roster
entries those that had qualified by then, and a unit is in the question set only if nothing known by
then had already taken it out. The outcome is read from the logged evidence by the template's rule (an
event row dated in the window), and every instance lists the rows it used and the rows that resolved it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.data.dataset import Dataset
from analysis.data.predictions import Model, Prediction
from analysis.data.rosters import Roster
from analysis.data.templates import Template, window_label
from analysis.forecast import engine
from analysis.models import base
from analysis.models.protocol import SamplerSettings

BASELINES = ("half", "base_rate", "prior", "persistence")


@dataclass(frozen=True)
class Instance:
    id: str  # template/unit/window@lead
    template: str
    chapter: str
    unit: str
    window_start: str
    window_end: str
    lead_days: int
    as_of: str
    horizon_days: int
    question: str
    probability: float
    outcome: int
    evidence_ids: tuple[str, ...]  # rows the forecast used: all first public by as_of
    resolution_ids: tuple[str, ...]  # rows that resolved it YES (empty for NO)
    baselines: dict


# -- rows and units --------------------------------------------------------------------------------

def template_rows(data: Dataset, template: Template) -> pd.DataFrame:
    """Every row of the template's chapter that records the template's event (whatever it names)."""
    events = template.settings.get("events") or [template.settings["event"]]
    ev = data.evidence
    rows = ev[ev["_file"].str.endswith(f"/{template.chapter}.csv") & ev["event"].isin(events)]
    if template.date == "first_public":  # the questions count an event by its first public report
        rows = rows.assign(observed_on=rows["public_on"])
    return rows


def _matching(rows: pd.DataFrame, template: Template) -> pd.DataFrame:
    s = template.settings
    if s.get("category"):
        rows = rows[rows["category"] == s["category"]]
    if s.get("min_value") is not None:
        rows = rows[rows["value"].fillna(-np.inf) >= s["min_value"]]
    if s.get("entities"):
        rows = rows[rows["entity"].isin(s["entities"])]
    if template.kind == "calendar_arrivals":
        rows = rows[rows["count"].fillna(0) >= 1]
    return rows


def known(rows: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The rows a forecast as of ``as_of`` may use: first public on or before it."""
    return rows[rows["public_on"].map(lambda d: d is not None and d <= as_of)]


def in_window(rows: pd.DataFrame, window) -> pd.DataFrame:
    start, end = window
    return rows[rows["observed_on"].map(lambda d: d is not None and start <= d <= end)]


def units(template: Template, data: Dataset, rows: pd.DataFrame, as_of: dt.date) -> list[tuple[str, str, tuple]]:
    """(unit, group, member names) for each unit in the question set as of ``as_of``."""
    if not template.kind.startswith("roster_"):
        return [("all", "", ())]
    roster = data.rosters[template.roster]
    gone = set(known(rows, as_of)["entity"]) if template.kind == "roster_survival" else set()
    entries = [e for e in roster.known_by(as_of) if e.name not in gone]
    if template.level == "group":
        groups: dict[str, list[str]] = {}
        for e in entries:
            groups.setdefault(e.group, []).append(e.name)
        return [(g, g, tuple(sorted(names))) for g, names in sorted(groups.items())]
    return [(e.name, e.group, (e.name,)) for e in entries]


# -- forecasts -------------------------------------------------------------------------------------

def _prediction(template: Template, iid: str, question: str, window, as_of, settings: dict, prior: dict) -> Prediction:
    return Prediction(id=iid, chapter=template.chapter, question=question, resolution_criteria=template.rule,
                      resolution_source="the book's evidence record", published=as_of, resolves_by=window[1],
                      retrospective=False, model=Model(template.family, prior, settings), tags=("backtest",),
                      version=1)


def _pooled_prior(template: Template, data: Dataset, rows: pd.DataFrame, as_of: dt.date) -> dict:
    """A roster_rate prior: the template's prior plus the pooled rate of every roster entry known by
    ``as_of``, counted as one entry's worth of data."""
    roster, s = data.rosters[template.roster], template.settings
    entries = roster.known_by(as_of)
    counted = _matching(known(rows, as_of), template)
    events = exposure = 0.0
    for e in entries:
        start = max(s["window_start"], e.qualified_on)
        if start < as_of:
            exposure += base.years(start, as_of)
            mine = counted[(counted["entity"] == e.name)]
            events += float(((mine["observed_on"] >= start) & (mine["observed_on"] <= as_of)).sum())
    n = max(len(entries), 1)
    return {**template.prior, "alpha": template.prior["alpha"] + events / n,
            "beta": template.prior["beta"] + exposure / n}


def instance_forecast(template: Template, data: Dataset, rows: pd.DataFrame, unit, window, as_of, *,
                      sampler: SamplerSettings, cache: engine.FitCache, prior_only: bool = False) -> tuple[float, tuple]:
    """P(YES) for one instance, and the ids of the rows it used (all first public by ``as_of``)."""
    name, _group, members = unit
    settings = {**template.settings, "count_from": window[0]}
    prior = dict(template.prior)
    used = known(rows, as_of)
    view = data
    if template.kind == "roster_survival":
        settings.update({"roster": template.roster, "tracked": list(members), "min_events": 1})
    elif template.kind == "roster_rate":
        entry = data.rosters[template.roster].by_name()[name]
        settings.update({"entities": [name], "window_start": max(settings["window_start"], entry.qualified_on)})
        if not prior_only:
            prior = _pooled_prior(template, data, rows, as_of)
    if prior_only:
        used = used.iloc[:0]
        if template.kind == "roster_survival":
            view = replace(data, rosters={**data.rosters, template.roster: _empty(data.rosters[template.roster])})
    iid = f"{template.id}/{name}/{window_label(window)}"
    prediction = _prediction(template, iid, template.question, window, as_of, settings, prior)
    fit = engine.fit_one(prediction, used, as_of, view, sampler=sampler, cache=cache, sensitivity=False)["fit"]
    return float(fit["probability"]), tuple(sorted(used["id"]))


def _empty(roster: Roster) -> Roster:
    return replace(roster, entries=())


def outcome(template: Template, rows: pd.DataFrame, unit, window) -> tuple[int, tuple[str, ...]]:
    """The instance's outcome by the template's rule, and the rows that make it YES."""
    _name, _group, members = unit
    hits = in_window(_matching(rows, template), window)
    if template.kind.startswith("roster_"):
        hits = hits[hits["entity"].isin(members)]
    need = int(template.settings.get("min_events", 1) or 1) if template.kind.endswith("_rate") else 1
    count = int(hits["count"].fillna(1).sum()) if template.kind.endswith("_rate") else len(hits)
    return int(count >= need), tuple(sorted(hits["id"])) if count >= need else ()


# -- the run ---------------------------------------------------------------------------------------

def run_template(template: Template, data: Dataset, *, sampler: SamplerSettings, cache: engine.FitCache) -> list[Instance]:
    """Every instance of one template, with its forecast, outcome and the four baselines."""
    rows = template_rows(data, template)
    out: list[Instance] = []
    for window in template.windows:
        for lead in template.leads:
            as_of = window[0] - dt.timedelta(days=1 + lead)
            for unit in units(template, data, rows, as_of):
                probability, used = instance_forecast(template, data, rows, unit, window, as_of, sampler=sampler,
                                                      cache=cache)
                prior, _ = instance_forecast(template, data, rows, unit, window, as_of, sampler=sampler, cache=cache,
                                             prior_only=True)
                result, resolved = outcome(template, rows, unit, window)
                out.append(Instance(
                    id=f"{template.id}/{unit[0]}/{window_label(window)}@{lead}", template=template.id,
                    chapter=template.chapter, unit=unit[0], window_start=window[0].isoformat(),
                    window_end=window[1].isoformat(), lead_days=lead, as_of=as_of.isoformat(),
                    horizon_days=(window[1] - as_of).days, probability=probability, outcome=result,
                    question=template.question.format(unit=unit[0], group=unit[1], window=window_label(window)),
                    evidence_ids=used, resolution_ids=resolved, baselines={"half": 0.5, "prior": prior}))
    return _with_history_baselines(out)


def _with_history_baselines(instances: list[Instance]) -> list[Instance]:
    """Laplace's rule on the template's windows that had closed by the forecast date, and persistence:
    the unit's last closed window, held by Laplace's rule on that one outcome."""
    out = []
    for inst in instances:
        closed = [o for o in instances if o.lead_days == inst.lead_days and o.window_end <= inst.as_of]
        yes, n = sum(o.outcome for o in closed), len(closed)
        mine = sorted((o for o in closed if o.unit == inst.unit), key=lambda o: o.window_end)
        persistence = (mine[-1].outcome + 1) / 3 if mine else 0.5
        out.append(replace(inst, baselines={**inst.baselines, "base_rate": (yes + 1) / (n + 2),
                                            "persistence": persistence}))
    return out


def run_backtest(data: Dataset, templates: list[Template], *, sampler: SamplerSettings | None = None,
                 cache: engine.FitCache | None = None, jobs: int = 1) -> list[Instance]:
    """Every instance of every template (templates in parallel with joblib when ``jobs`` > 1)."""
    sampler = sampler or SamplerSettings()
    cache = cache or engine.FitCache(None)
    if jobs == 1:
        return [i for t in templates for i in run_template(t, data, sampler=sampler, cache=cache)]
    from joblib import Parallel, delayed

    folder = str(cache.folder) if cache.folder else None
    parts = Parallel(n_jobs=jobs)(delayed(_run_in_worker)(t, data, sampler, folder) for t in templates)
    return [i for part in parts for i in part]


def _run_in_worker(template, data, sampler, folder):
    return run_template(template, data, sampler=sampler, cache=engine.FitCache(folder))
