"""Time to event with right-censoring and per-entity start dates.

Entities are the rows with ``start_event`` (a sourced start date each). An entity's first row with
``event`` ends its time at risk; the rest are censored at the as-of date. Question form: at least
``min_events`` entities have the event dated in [count_from, resolves_by].

Exponential with a Gamma prior on the hazard is conjugate and computed exactly. Weibull
(S(t) = exp(-(rate*t)^shape), unknown shape) is sampled with NUTS from one compiled model.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from analysis.contract.errors import Problem
from analysis.models import base
from analysis.models.base import Diagnostics, FamilyBase, FitResult, Setting, scale_gamma_like

WEIBULL_PRIOR_KEYS = {"shape_mu": "mean of log shape", "shape_sigma": "sd of log shape"}
QUANTITY = "median years to event"
GRID = 4000
MIN_TIME = 1 / base.DAYS_PER_YEAR


def row_problems(row: dict, settings: dict) -> list[tuple[str, str, str]]:
    out = []
    if not row["entity"]:
        out.append(("entity", "entity is empty", "the tracked entity's name"))
    if row["event"] not in (settings["start_event"], settings["event"]):
        out.append(("event", f"event '{row['event']}' is not used by this survival model",
                    f"'{settings['start_event']}' or '{settings['event']}'"))
    return out


def prepare(prediction, rows, as_of, data=None) -> dict:
    s = prediction.model.settings
    starts = rows[rows["event"] == s["start_event"]].groupby("entity")["observed_on"].min()
    ends = rows[rows["event"] == s["event"]].groupby("entity")["observed_on"].min()
    count_from, resolves_by = s["count_from"], prediction.resolves_by
    entities, times, observed, risk_from, risk_to = [], [], [], [], []
    already = 0
    for entity, start in sorted(starts.items()):
        end = ends.get(entity)
        entities.append(entity)
        if end is not None:
            times.append(max(base.years(start, end), MIN_TIME))
            observed.append(1)
            already += int(end >= count_from)
        else:
            times.append(max(base.years(start, as_of), MIN_TIME))
            observed.append(0)
            risk_from.append(base.years(start, max(as_of, count_from)))
            risk_to.append(base.years(start, resolves_by))
    return {"entities": entities, "times": times, "observed": observed, "age_now": [
        t for t, d in zip(times, observed) if not d], "risk_from": risk_from, "risk_to": risk_to,
        "need": max(int(s["min_events"]) - already, 0), "form": s["form"]}


def _event_probabilities(rate, shape, inputs) -> np.ndarray:
    """P(event in [risk_from, risk_to] | at risk now), shape (draws, entities at risk)."""
    rate, shape = np.asarray(rate)[:, None], np.asarray(shape)[:, None]
    now, lo, hi = (np.asarray(inputs[k])[None, :] for k in ("age_now", "risk_from", "risk_to"))
    cum = lambda t: (rate * t) ** shape  # noqa: E731  cumulative hazard
    keep_to_lo = np.exp(-(cum(lo) - cum(now)))
    keep_to_hi = np.exp(-(cum(hi) - cum(now)))
    return np.clip(keep_to_lo - keep_to_hi, 0.0, 1.0)


def _answer(rate, shape, inputs, ess=None) -> tuple[float, float]:
    if not inputs["age_now"]:
        return float(inputs["need"] == 0), 0.0
    per_draw = base.at_least_k_of(_event_probabilities(rate, shape, inputs), inputs["need"])
    return base.mean_and_mcse(per_draw, ess)


def posterior(inputs: dict, prior: dict) -> tuple[float, float]:
    return float(prior["alpha"]) + sum(inputs["observed"]), float(prior["beta"]) + sum(inputs["times"])


def fit(inputs: dict, prior: dict, *, seed: int, sampler, label: str) -> FitResult:
    if inputs["form"] == "weibull":
        return _fit_weibull(inputs, prior, seed=seed, sampler=sampler, label=label)
    a, b = posterior(inputs, prior)
    grid = stats.gamma.ppf((np.arange(GRID) + 0.5) / GRID, a, scale=1 / b)  # quantile grid: deterministic
    probability, _ = _answer(grid, np.ones_like(grid), inputs)
    median_time = np.log(2) / stats.gamma.ppf([0.95, 0.5, 0.05], a, scale=1 / b)
    quantity = base.Quantity(QUANTITY, float(median_time[1]), float(median_time[0]), float(median_time[2]))
    return FitResult(probability, 0.0, quantity, Diagnostics(None, None, 0, exact=True, method="closed-form"))


def _weibull_model(size: int):
    import pymc as pm

    with pm.Model() as model:
        alpha, beta = pm.Data("alpha", 1.0), pm.Data("beta", 1.0)
        shape_mu, shape_sigma = pm.Data("shape_mu", 0.0), pm.Data("shape_sigma", 0.5)
        t = pm.Data("t", np.ones(size))
        d = pm.Data("d", np.zeros(size))
        w = pm.Data("w", np.zeros(size))
        rate = pm.Gamma("rate", alpha, beta)
        shape = pm.LogNormal("shape", shape_mu, shape_sigma)
        log_hazard = pm.math.log(shape) + shape * pm.math.log(rate) + (shape - 1) * pm.math.log(t)
        pm.Potential("lik", (w * (d * log_hazard - (rate * t) ** shape)).sum())
    return model


def sample(inputs, prior, *, seed, sampler, label):
    """Weibull posterior draws of rate and shape (NUTS, compiled once per padded size)."""
    n = len(inputs["times"])
    size = base.bucket(n)
    compiled = base.compiled_model(("survival.weibull", size), lambda: _weibull_model(size))
    data = {"alpha": float(prior["alpha"]), "beta": float(prior["beta"]),
            "shape_mu": float(prior["shape_mu"]), "shape_sigma": float(prior["shape_sigma"]),
            "t": base.pad(inputs["times"], size, fill=1.0), "d": base.pad(inputs["observed"], size),
            "w": base.pad(np.ones(n), size)}
    return base.sample_nuts(compiled, data, seed=seed, sampler=sampler, label=label, var_names=["rate", "shape"],
                            min_target_accept=0.99)


def _fit_weibull(inputs, prior, *, seed, sampler, label) -> FitResult:
    draws, diagnostics = sample(inputs, prior, seed=seed, sampler=sampler, label=label)
    probability, mcse = _answer(draws["rate"], draws["shape"], inputs, diagnostics.ess_bulk_min)
    median_time = np.log(2) ** (1 / draws["shape"]) / draws["rate"]
    return FitResult(probability, mcse, base.summarise(QUANTITY, median_time), diagnostics)


def pymc_model(inputs: dict, prior: dict):
    """Exponential survival in PyMC (censored likelihood), for the exact cross-check."""
    import pymc as pm

    t, d = np.asarray(inputs["times"]), np.asarray(inputs["observed"])
    with pm.Model() as model:
        rate = pm.Gamma("rate", float(prior["alpha"]), float(prior["beta"]))
        pm.Potential("lik", (d * pm.math.log(rate) - rate * t).sum())
    return model


def pymc_probability(draws: dict, inputs: dict, rng) -> np.ndarray:
    rate = draws["rate"]
    return base.at_least_k_of(_event_probabilities(rate, np.ones_like(rate), inputs), inputs["need"])


def entity_date_problems(prediction, data) -> list[Problem]:
    """Every event has a start row for its entity, dated no later than the event."""
    from analysis.data.evidence import LINE

    s = prediction.model.settings
    rows = data.rows_for(prediction.id)
    starts = rows[rows["event"] == s["start_event"]].groupby("entity")["observed_on"].min()
    problems = []
    for _, row in rows[rows["event"] == s["event"]].iterrows():
        start = starts.get(row["entity"])
        where = (row["_file"], row[LINE])
        if start is None:
            problems.append(Problem(*where, f"entity '{row['entity']}' has no '{s['start_event']}' row "
                                    f"(for {prediction.id})", "a sourced start row for every tracked entity"))
        elif row["observed_on"] is not None and row["observed_on"] < start:
            problems.append(Problem(*where, f"event date {row['observed_on']} is before the entity's start "
                                    f"{start} (for {prediction.id})", "an event on or after the start date"))
    return problems


class Survival(FamilyBase):
    name = "survival"
    quantity = QUANTITY
    time_dependent = True
    observation = "`entity`, `event` = settings.start_event (entity's start) or settings.event"
    PRIOR = {"alpha": "Gamma shape on the hazard (prior events)", "beta": "Gamma rate on the hazard (prior entity-years)"}
    SETTINGS = {"form": Setting(str, "exponential or weibull", choices=("exponential", "weibull")),
                "start_event": Setting(str, "the event that starts an entity's clock, e.g. start"),
                "event": Setting(str, "the event whose time is modelled, e.g. absorbed"),
                "count_from": Setting("date", "date from which events count toward the question"),
                "min_events": Setting(int, "entities with the event needed for YES")}
    COLUMNS = ("entity", "event")

    def prior_keys(self, settings):
        keys = dict(self.PRIOR)
        if settings.get("form") == "weibull":
            keys.update({f"{k}": v for k, v in WEIBULL_PRIOR_KEYS.items()})
        return keys

    def check_row(self, prediction, row):
        return row_problems(row, prediction.model.settings)

    def check_prediction(self, prediction, data):
        return entity_date_problems(prediction, data)

    def prepare(self, prediction, rows, as_of, data=None):
        return prepare(prediction, rows, as_of)

    def fit(self, inputs, prior, *, seed, sampler, label):
        return fit(inputs, prior, seed=seed, sampler=sampler, label=label)

    def scale_prior(self, prior, factor):
        out = scale_gamma_like(prior, factor)
        if "shape_sigma" in prior:
            out["shape_sigma"] = float(prior["shape_sigma"]) / np.sqrt(factor)
        return out

    def structure_key(self, prediction):
        return (self.name, prediction.model.settings.get("form", ""))


FAMILY = Survival()
